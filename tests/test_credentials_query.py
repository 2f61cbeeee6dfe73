"""The `credentials` list (empty state, order, paging, status filter) and `credential(id)`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from auth.tokens import new_client_id
from models.credential import Credential
from models.credential_tally import credentials_added
from models.enums import AccessLevel
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from tests.helpers import (
    admin_token,
    create_via_graphql,
    gql,
    make_admin,
    make_credential,
    operation,
)


async def list_credentials(
    client: httpx.AsyncClient, token: str, **variables: Any
) -> dict[str, Any]:
    body = await gql(client, operation("Credentials"), variables, token=token)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["credentials"]
    return connection


def node_ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def organisation_of(email: str = "admin@acme.example") -> Organisation:
    organisation = await Organisation.get(memberships__user__email=email)
    return organisation


async def expire(credential_id: str) -> None:
    """Put the expiry in the past directly on the row: no job runs, status must still follow."""
    await Credential.filter(id=credential_id).update(expires_at=utcnow() - timedelta(minutes=1))


async def test_empty_state_has_no_edges_and_total_count_zero(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    connection = await list_credentials(client, token)

    assert connection["totalCount"] == 0
    assert connection["edges"] == []
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["pageInfo"]["endCursor"] is None


async def test_credentials_are_listed_newest_first(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    for name in ("First", "Second", "Third"):
        assert (await create_via_graphql(client, token, name=name))["__typename"] == (
            "CredentialCreated"
        )

    connection = await list_credentials(client, token)

    assert [edge["node"]["name"] for edge in connection["edges"]] == ["Third", "Second", "First"]
    assert connection["totalCount"] == 3


async def test_paging_with_first_and_after_visits_every_credential_once(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    organisation = await organisation_of()
    for number in range(7):
        await make_credential(organisation=organisation, name=f"Integration {number}")
    newest_first = [str(row.id) for row in await Credential.all().order_by("-created_at", "-id")]

    seen: list[str] = []
    after: str | None = None
    pages: list[tuple[int, bool]] = []
    while True:
        page = await list_credentials(client, token, first=3, after=after)
        assert page["totalCount"] == 7
        seen += node_ids(page)
        pages.append((len(page["edges"]), page["pageInfo"]["hasNextPage"]))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert page["edges"][-1]["cursor"] == after

    assert pages == [(3, True), (3, True), (1, False)]
    assert seen == newest_first, "pages repeated or skipped a credential, or are not newest first"


async def test_first_above_100_is_capped_at_100(client: httpx.AsyncClient) -> None:
    """GQ-01: a client cannot ask for an unbounded page."""
    token = await admin_token(client)
    organisation = await organisation_of()
    start = utcnow() - timedelta(days=1)
    async with in_transaction():
        await Credential.bulk_create(
            [
                Credential(
                    organisation_id=organisation.id,
                    name=f"Bulk {number}",
                    contact_email="ops@partner.example",
                    client_id=new_client_id(),
                    access_level=AccessLevel.FULL,
                    created_at=start + timedelta(seconds=number),
                )
                for number in range(105)
            ]
        )
        # bulk_create sends no signals: a bulk inserter counts what it adds
        # (models/credential_tally.py).
        await credentials_added(organisation.id, 105)

    page = await list_credentials(client, token, first=500)

    assert len(page["edges"]) == 100
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 105
    rest = await list_credentials(client, token, first=100, after=page["pageInfo"]["endCursor"])
    assert len(rest["edges"]) == 5
    assert rest["pageInfo"]["hasNextPage"] is False
    assert set(node_ids(page)).isdisjoint(node_ids(rest))


async def test_first_zero_is_a_bad_user_input_error(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    for first in (0, -5):
        body = await gql(client, operation("Credentials"), {"first": first}, token=token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_garbage_cursor_is_a_bad_user_input_error(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    await create_via_graphql(client, token)

    for cursor in ("garbage!!", "bm90IGEgY3Vyc29y", ""):
        body = await gql(client, operation("Credentials"), {"after": cursor}, token=token)
        assert body["data"] is None, cursor
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "Traceback" not in error["message"]


async def test_status_filter_active_expired_revoked(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    active = (await create_via_graphql(client, token, name="Active"))["credential"]["id"]
    expired = (await create_via_graphql(client, token, name="Expired"))["credential"]["id"]
    revoked = (await create_via_graphql(client, token, name="Revoked"))["credential"]["id"]
    revoked_and_expired = (await create_via_graphql(client, token, name="Both"))["credential"]["id"]
    await expire(expired)
    for credential_id in (revoked, revoked_and_expired):
        body = await gql(
            client, operation("RevokeCredential"), {"input": {"id": credential_id}}, token=token
        )
        assert body["data"]["revokeCredential"]["__typename"] == "CredentialRevoked"
    await expire(revoked_and_expired)

    by_status = {
        status: await list_credentials(client, token, status=status)
        for status in ("ACTIVE", "EXPIRED", "REVOKED")
    }

    assert node_ids(by_status["ACTIVE"]) == [active]
    assert node_ids(by_status["EXPIRED"]) == [expired]
    assert set(node_ids(by_status["REVOKED"])) == {revoked, revoked_and_expired}
    assert by_status["EXPIRED"]["totalCount"] == 1
    assert by_status["REVOKED"]["totalCount"] == 2
    for status, connection in by_status.items():
        assert {edge["node"]["status"] for edge in connection["edges"]} == {status}
    everything = await list_credentials(client, token)
    assert everything["totalCount"] == 4


async def test_expired_status_is_derived_from_expires_at_without_a_job(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id = (await create_via_graphql(client, token))["credential"]["id"]
    await expire(credential_id)

    body = await gql(client, operation("Credential"), {"id": credential_id}, token=token)

    assert body["data"]["credential"]["status"] == "EXPIRED"


async def test_credential_by_id_returns_it(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    created = await create_via_graphql(client, token, name="Lookup me")

    body = await gql(
        client, operation("Credential"), {"id": created["credential"]["id"]}, token=token
    )

    assert body["data"]["credential"] == created["credential"]


async def test_credential_by_unknown_malformed_or_foreign_id_is_null(
    client: httpx.AsyncClient,
) -> None:
    """CR-07: a foreign id answers exactly like an unknown or malformed one."""
    token = await admin_token(client)
    _, rival, _ = await make_admin(organisation="Rival Events", email="admin@rival.example")
    foreign = await make_credential(organisation=rival)

    for credential_id in (str(uuid.uuid4()), "not-a-uuid", "", str(foreign.credential.id)):
        body = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
        assert body == {"data": {"credential": None}}, credential_id

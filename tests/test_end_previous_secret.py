"""`endPreviousSecret`: ending a previous secret before its grace period runs out (CR-06), by
owners and admins only (CR-09), in the caller's organisation only (CR-07), audited (LG-01),
published on the change feed so every process stops accepting it (RS-10).
"""

from __future__ import annotations

from typing import Any, NoReturn

import httpx
import pytest
from starlette.applications import Starlette

import partner_api.operations.audit
from models.audit import AuditEvent
from models.credential import CredentialSecret
from models.enums import AuditAction, Role
from models.oauth import ChangeEvent, ChangeKind
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.services import Services
from tests.helpers import (
    TEST_KEY_ENCRYPTION_KEY,
    TEST_PEPPER,
    admin_token,
    create_via_graphql,
    gql,
    operation,
    verify_client_secret,
)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        token_reuse_seconds=0,
    )


async def rotated(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """A credential rotated with a grace period: ids, client ID and both secrets."""
    created = await create_via_graphql(client, token)
    assert created["__typename"] == "CredentialCreated", created
    credential_id = created["credential"]["id"]
    body = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id, "gracePeriodMinutes": 600}},
        token=token,
    )
    result = body["data"]["regenerateCredentialSecret"]
    current, previous = result["credential"]["secrets"]
    return {
        "id": credential_id,
        "client_id": created["credential"]["clientId"],
        "previous_secret": created["clientSecret"],
        "current_secret": result["clientSecret"],
        "previous_id": previous["id"],
        "current_id": current["id"],
    }


async def end(
    client: httpx.AsyncClient, token: str, credential_id: str, secret_id: str
) -> dict[str, Any]:
    body = await gql(
        client,
        operation("EndPreviousSecret"),
        {"input": {"id": credential_id, "secretId": secret_id}},
        token=token,
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["endPreviousSecret"]
    return result


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


async def test_cr06_ending_the_previous_secret_stops_it_at_once(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)
    hasher = services_of(app).hasher

    result = await end(client, token, state["id"], state["previous_id"])

    assert result["__typename"] == "PreviousSecretEnded", result
    assert [secret["id"] for secret in result["credential"]["secrets"]] == [state["current_id"]]
    now = utcnow()
    assert (
        await verify_client_secret(
            state["client_id"], state["previous_secret"], hasher=hasher, now=now
        )
        is None
    )
    assert await verify_client_secret(
        state["client_id"], state["current_secret"], hasher=hasher, now=now
    )
    refused = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(state["client_id"], state["previous_secret"]),
    )
    assert refused.status_code == 401
    accepted = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(state["client_id"], state["current_secret"]),
    )
    assert accepted.status_code == 200, accepted.text


async def test_rs10_ending_a_secret_is_published_to_every_process(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)
    published = await ChangeEvent.filter(credential_id=state["id"]).count()

    await end(client, token, state["id"], state["previous_id"])

    changes = await ChangeEvent.filter(credential_id=state["id"]).order_by("id")
    assert len(changes) == published + 1
    assert changes[-1].kind == ChangeKind.CREDENTIAL_CHANGED


async def test_tokens_the_previous_secret_obtained_stop_working(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)
    issued = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(state["client_id"], state["previous_secret"]),
    )
    access_token = issued.json()["access_token"]
    headers = {"Authorization": f"Bearer {access_token}"}
    assert (await client.get("/partner/v1/me", headers=headers)).status_code == 200

    await end(client, token, state["id"], state["previous_id"])

    assert (await client.get("/partner/v1/me", headers=headers)).status_code == 401


async def test_lg01_ending_is_audited_once_and_repeating_it_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)

    first = await end(client, token, state["id"], state["previous_id"])
    again = await end(client, token, state["id"], state["previous_id"])

    assert first["__typename"] == again["__typename"] == "PreviousSecretEnded"
    events = await AuditEvent.filter(action=AuditAction.CREDENTIAL_PREVIOUS_SECRET_ENDED)
    assert len(events) == 1
    event = events[0]
    assert str(event.credential_id) == state["id"]  # type: ignore[attr-defined]
    assert event.actor_label == "admin@acme.example"
    assert event.after is not None
    assert event.after["secretId"] == state["previous_id"]
    assert event.after["safeToEnd"] is False  # just rotated: not yet settled
    assert state["previous_secret"] not in str(event.after)  # CR-02


async def test_the_current_secret_cannot_be_ended_this_way(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)

    result = await end(client, token, state["id"], state["current_id"])

    assert (result["__typename"], result["field"]) == ("ValidationError", "secretId")
    assert await CredentialSecret.filter(ended_at__isnull=False).count() == 0


async def test_unknown_or_other_credentials_secrets_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    first = await rotated(client, token)
    second = await rotated(client, token)

    for secret_id in (second["previous_id"], "00000000-0000-0000-0000-000000000000", "nonsense"):
        result = await end(client, token, first["id"], secret_id)
        assert result["__typename"] == "NotFound", result
    assert await CredentialSecret.filter(ended_at__isnull=False).count() == 0


async def test_cr07_another_organisations_credential_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    acme = await admin_token(client)
    state = await rotated(client, acme)
    other = await admin_token(client, organisation="Other Tickets", email="admin@other.example")

    result = await end(client, other, state["id"], state["previous_id"])

    assert result["__typename"] == "NotFound"
    assert await CredentialSecret.filter(ended_at__isnull=False).count() == 0


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_cr09_read_only_roles_cannot_end_a_secret(
    client: httpx.AsyncClient, role: Role
) -> None:
    admin = await admin_token(client)
    state = await rotated(client, admin)
    reader = await admin_token(client, email="reader@acme.example", role=role)

    result = await end(client, reader, state["id"], state["previous_id"])

    assert result["__typename"] == "PermissionDenied"
    assert await CredentialSecret.filter(ended_at__isnull=False).count() == 0


async def test_a_revoked_credential_is_not_active(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)
    await gql(client, operation("RevokeCredential"), {"input": {"id": state["id"]}}, token=token)

    result = await end(client, token, state["id"], state["previous_id"])

    assert (result["__typename"], result["status"]) == ("CredentialNotActive", "REVOKED")


async def failing_record(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("audit store unavailable")


async def test_ending_is_rolled_back_when_its_audit_event_fails(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    state = await rotated(client, token)
    monkeypatch.setattr(partner_api.operations.audit, "record", failing_record)

    body = await gql(
        client,
        operation("EndPreviousSecret"),
        {"input": {"id": state["id"], "secretId": state["previous_id"]}},
        token=token,
    )

    assert [error["message"] for error in body["errors"]] == ["Unexpected error."]
    assert await CredentialSecret.filter(ended_at__isnull=False).count() == 0
    assert await verify_client_secret(
        state["client_id"], state["previous_secret"], hasher=services_of(app).hasher, now=utcnow()
    )

"""The organisation's credential policy (maximum lifetime): reading it, changing it (owners and
admins only, CR-09; own organisation only, CR-07; audited, LG-01), and its enforcement when a
credential is created or its expiry is changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NoReturn

import httpx
import pytest

import partner_api.operations.audit
from models.audit import AuditEvent
from models.enums import AuditAction, Role
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from tests.helpers import admin_token, create_via_graphql, gql, operation


async def set_policy(client: httpx.AsyncClient, token: str, days: int | None) -> dict[str, Any]:
    body = await gql(
        client,
        operation("UpdateCredentialPolicy"),
        {"input": {"maxCredentialLifetimeDays": days}},
        token=token,
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredentialPolicy"]
    return result


async def read_policy(client: httpx.AsyncClient, token: str) -> int | None:
    body = await gql(client, operation("Viewer"), token=token)
    assert "errors" not in body, body
    days: int | None = body["data"]["viewer"]["organisation"]["credentialPolicy"][
        "maxCredentialLifetimeDays"
    ]
    return days


async def update(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(client, operation("UpdateCredential"), {"input": fields}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredential"]
    return result


async def read_credential_expiry(
    client: httpx.AsyncClient, token: str, credential_id: str
) -> str | None:
    body = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    expires_at: str | None = body["data"]["credential"]["expiresAt"]
    return expires_at


def days_from_now(days: float) -> str:
    return (utcnow() + timedelta(days=days)).isoformat()


async def test_no_policy_by_default(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    assert await read_policy(client, token) is None
    created = await create_via_graphql(client, token)
    assert created["credential"]["expiresAt"] is None


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_cr09_owners_and_admins_set_and_lift_the_policy(
    client: httpx.AsyncClient, role: Role
) -> None:
    token = await admin_token(client, role=role)

    result = await set_policy(client, token, 90)

    assert result == {
        "__typename": "CredentialPolicyUpdated",
        "policy": {"maxCredentialLifetimeDays": 90},
    }
    assert await read_policy(client, token) == 90
    assert (await set_policy(client, token, None))["policy"] == {"maxCredentialLifetimeDays": None}
    assert await read_policy(client, token) is None


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_cr09_developers_and_viewers_read_but_cannot_change_the_policy(
    client: httpx.AsyncClient, role: Role
) -> None:
    owner = await admin_token(client, email="owner@acme.example", role=Role.OWNER)
    await set_policy(client, owner, 30)
    token = await admin_token(client, email="reader@acme.example", role=role)

    result = await set_policy(client, token, None)

    assert result["__typename"] == "PermissionDenied"
    assert await read_policy(client, token) == 30
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_POLICY_UPDATED).count() == 1


@pytest.mark.parametrize("days", [0, -5, 3651])
async def test_policy_out_of_bounds_is_a_validation_error(
    client: httpx.AsyncClient, days: int
) -> None:
    token = await admin_token(client)

    result = await set_policy(client, token, days)

    assert result["__typename"] == "ValidationError"
    assert result["field"] == "maxCredentialLifetimeDays"
    assert await read_policy(client, token) is None


async def test_cr07_the_policy_belongs_to_the_callers_organisation_only(
    client: httpx.AsyncClient,
) -> None:
    acme = await admin_token(client)
    other = await admin_token(client, organisation="Other Tickets", email="admin@other.example")

    await set_policy(client, acme, 7)

    assert await read_policy(client, acme) == 7
    assert await read_policy(client, other) is None
    created = await create_via_graphql(client, other)
    assert created["credential"]["expiresAt"] is None  # Acme's policy does not reach Other
    rows = dict(await Organisation.all().values_list("name", "max_credential_lifetime_days"))
    assert rows == {"Acme Tickets": 7, "Other Tickets": None}


async def test_lg01_policy_changes_are_audited_with_before_and_after(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    await set_policy(client, token, 30)
    await set_policy(client, token, 30)  # no change: no event
    await set_policy(client, token, None)

    body = await gql(client, operation("AuditEvents"), {}, token=token)
    events = [
        edge["node"]
        for edge in body["data"]["auditEvents"]["edges"]
        if edge["node"]["action"] == "CREDENTIAL_POLICY_UPDATED"
    ]

    assert [(event["before"], event["after"]) for event in events] == [
        ({"maxCredentialLifetimeDays": 30}, {"maxCredentialLifetimeDays": None}),
        ({"maxCredentialLifetimeDays": None}, {"maxCredentialLifetimeDays": 30}),
    ]
    assert all(event["actor"]["label"] == "admin@acme.example" for event in events)
    assert all(event["credentialId"] is None for event in events)


async def failing_record(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("audit store unavailable")


async def test_policy_change_is_rolled_back_when_its_audit_event_fails(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    monkeypatch.setattr(partner_api.operations.audit, "record", failing_record)

    body = await gql(
        client,
        operation("UpdateCredentialPolicy"),
        {"input": {"maxCredentialLifetimeDays": 30}},
        token=token,
    )

    assert [error["message"] for error in body["errors"]] == ["Unexpected error."]
    assert await Organisation.filter(max_credential_lifetime_days__isnull=False).count() == 0


# -- enforcement -------------------------------------------------------------------------------


async def test_create_without_expiry_gets_the_longest_allowed(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    await set_policy(client, token, 30)
    before = utcnow()

    created = await create_via_graphql(client, token)

    assert created["__typename"] == "CredentialCreated", created
    expires_at = datetime.fromisoformat(created["credential"]["expiresAt"])
    assert before + timedelta(days=30) <= expires_at <= utcnow() + timedelta(days=30)


async def test_create_refuses_an_expiry_beyond_the_policy(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    await set_policy(client, token, 30)

    refused = await create_via_graphql(client, token, expiresAt=days_from_now(30.01))
    allowed = await create_via_graphql(client, token, expiresAt=days_from_now(29.9))

    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == "expiresAt"
    assert "30 days" in refused["message"]
    assert allowed["__typename"] == "CredentialCreated"


async def test_update_enforces_the_policy_on_a_new_expiry(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = (await create_via_graphql(client, token))["credential"]["id"]
    await set_policy(client, token, 30)

    beyond = await update(client, token, id=credential_id, expiresAt=days_from_now(31))
    within = await update(client, token, id=credential_id, expiresAt=days_from_now(10))
    cleared = await update(client, token, id=credential_id, expiresAt=None)

    assert (beyond["__typename"], beyond["field"]) == ("ValidationError", "expiresAt")
    assert within["__typename"] == "CredentialUpdated"
    assert within["credential"]["exceedsPolicy"] is False
    # "Never expires" is what the policy forbids: clearing the expiry is refused.
    assert (cleared["__typename"], cleared["field"]) == ("ValidationError", "expiresAt")
    assert (await read_credential_expiry(client, token, credential_id)) == (
        within["credential"]["expiresAt"]
    )


async def test_existing_credentials_are_not_cut_short_by_a_new_policy(
    client: httpx.AsyncClient,
) -> None:
    """Other changes to a credential beyond a newer policy still work; its expiry stays."""
    token = await admin_token(client)
    expires_at = days_from_now(300)
    created = await create_via_graphql(client, token, expiresAt=expires_at)
    credential_id = created["credential"]["id"]
    await set_policy(client, token, 30)

    renamed = await update(client, token, id=credential_id, name="Renamed")
    same_expiry = await update(
        client, token, id=credential_id, expiresAt=created["credential"]["expiresAt"]
    )

    assert renamed["__typename"] == "CredentialUpdated", renamed
    assert renamed["credential"]["expiresAt"] == created["credential"]["expiresAt"]
    assert renamed["credential"]["exceedsPolicy"] is True
    assert same_expiry["__typename"] == "CredentialUpdated", same_expiry

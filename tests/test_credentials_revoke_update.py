"""`revokeCredential` (permanent, idempotent) and `updateCredential` (manage integration access)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from auth.partners.keyed_hash import KeyedHasher
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import AuditAction
from partner_api.foundation.clock import utcnow
from partner_api.foundation.scopes import CATALOGUE
from partner_api.operations.services import Services
from tests.helpers import admin_token, create_via_graphql, gql, operation, verify_client_secret

CATALOGUE_NAMES = [scope.name for scope in CATALOGUE]


async def revoke(
    client: httpx.AsyncClient, token: str, credential_id: str, reason: str | None = None
) -> dict[str, Any]:
    variables: dict[str, Any] = {"id": credential_id}
    if reason is not None:
        variables["reason"] = reason
    body = await gql(client, operation("RevokeCredential"), {"input": variables}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["revokeCredential"]
    return result


async def update(
    client: httpx.AsyncClient, token: str, credential_id: str, **fields: Any
) -> dict[str, Any]:
    body = await gql(
        client,
        operation("UpdateCredential"),
        {"input": {"id": credential_id, **fields}},
        token=token,
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredential"]
    return result


async def fetch(client: httpx.AsyncClient, token: str, credential_id: str) -> dict[str, Any]:
    body = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    credential: dict[str, Any] = body["data"]["credential"]
    return credential


async def created(client: httpx.AsyncClient, token: str, **overrides: Any) -> dict[str, Any]:
    result = await create_via_graphql(client, token, **overrides)
    assert result["__typename"] == "CredentialCreated", result
    return result


def future(days: int = 30) -> str:
    return (utcnow() + timedelta(days=days)).replace(microsecond=0).isoformat()


async def audit_count(credential_id: str, action: AuditAction) -> int:
    return await AuditEvent.filter(credential_id=credential_id, action=action).count()


def hasher_of(app: Starlette) -> KeyedHasher:
    services: Services = app.state.services
    return services.hasher


# --- revokeCredential -------------------------------------------------------------------------


async def test_revoke_marks_revoked_keeps_the_row_and_stores_the_reason(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id = (await created(client, token))["credential"]["id"]

    before = utcnow()
    result = await revoke(client, token, credential_id, reason="Partner contract ended")

    assert result["__typename"] == "CredentialRevoked", result
    credential = result["credential"]
    assert credential["status"] == "REVOKED"
    assert credential["revokedAt"] is not None
    assert datetime.fromisoformat(credential["revokedAt"]) >= before - timedelta(seconds=1)
    assert credential["revocationReason"] == "Partner contract ended"
    assert credential["secrets"] == []
    listed = await gql(client, operation("Credentials"), token=token)
    assert [edge["node"]["id"] for edge in listed["data"]["credentials"]["edges"]] == [
        credential_id
    ]
    assert listed["data"]["credentials"]["edges"][0]["node"]["status"] == "REVOKED"
    row = await Credential.get(id=credential_id)
    assert row.revoked_by_id is not None  # type: ignore[attr-defined]


async def test_cr06_revoked_credential_secrets_no_longer_verify(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    token = await admin_token(client)
    result = await created(client, token)
    credential_id = result["credential"]["id"]
    client_id = result["credential"]["clientId"]
    first_secret = result["clientSecret"]
    regenerated = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id, "gracePeriodMinutes": 60}},
        token=token,
    )
    second_secret = regenerated["data"]["regenerateCredentialSecret"]["clientSecret"]
    hasher = hasher_of(app)
    for secret in (first_secret, second_secret):
        assert await verify_client_secret(client_id, secret, hasher=hasher, now=utcnow())

    assert (await revoke(client, token, credential_id))["__typename"] == "CredentialRevoked"

    for secret in (first_secret, second_secret):
        assert await verify_client_secret(client_id, secret, hasher=hasher, now=utcnow()) is None


async def test_revoking_twice_is_not_an_error_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id = (await created(client, token))["credential"]["id"]
    first = await revoke(client, token, credential_id, reason="Leaked in a log file")

    second = await revoke(client, token, credential_id, reason="Another reason")

    assert second["__typename"] == "CredentialRevoked", second
    assert second["credential"]["revokedAt"] == first["credential"]["revokedAt"]
    assert second["credential"]["revocationReason"] == "Leaked in a log file"
    assert second["credential"]["status"] == "REVOKED"
    assert await audit_count(credential_id, AuditAction.CREDENTIAL_REVOKED) == 1


async def test_revoking_an_unknown_credential_is_not_found(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    for credential_id in (str(uuid.uuid4()), "not-a-uuid"):
        result = await revoke(client, token, credential_id)
        assert result["__typename"] == "NotFound", result
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_REVOKED).count() == 0


async def test_revoke_reason_too_long_is_a_validation_error(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = (await created(client, token))["credential"]["id"]

    result = await revoke(client, token, credential_id, reason="r" * 501)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "reason"
    assert (await fetch(client, token, credential_id))["status"] == "ACTIVE"


# --- updateCredential -------------------------------------------------------------------------

FIELD_CHANGES: list[Any] = [
    pytest.param({"name": "Renamed sync"}, {"name": "Renamed sync"}, id="name"),
    pytest.param(
        {"contactEmail": "new-owner@boxoffice.example"},
        {"contactEmail": "new-owner@boxoffice.example"},
        id="contactEmail",
    ),
    pytest.param(
        {"accessLevel": "FINE_GRAINED", "scopes": ["orders:read", "events:read"]},
        {"accessLevel": "FINE_GRAINED", "scopes": ["events:read", "orders:read"]},
        id="accessLevel",
    ),
    pytest.param(
        {"ipAllowlist": ["192.0.2.0/24", "198.51.100.7"]},
        {"ipAllowlist": ["192.0.2.0/24", "198.51.100.7/32"]},
        id="ipAllowlist",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), FIELD_CHANGES)
async def test_update_changes_the_given_field_and_leaves_the_rest(
    client: httpx.AsyncClient, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    token = await admin_token(client)
    original = (await created(client, token))["credential"]

    result = await update(client, token, original["id"], **changes)

    assert result["__typename"] == "CredentialUpdated", result
    assert result["credential"] == {**original, **expected}
    assert await fetch(client, token, original["id"]) == {**original, **expected}


async def test_update_sets_and_then_clears_expiry_with_null(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    original = (await created(client, token))["credential"]
    expires_at = future()

    with_expiry = await update(client, token, original["id"], expiresAt=expires_at)
    assert with_expiry["__typename"] == "CredentialUpdated", with_expiry
    assert with_expiry["credential"] == {**original, "expiresAt": expires_at}

    cleared = await update(client, token, original["id"], expiresAt=None)
    assert cleared["__typename"] == "CredentialUpdated", cleared
    assert cleared["credential"] == original
    assert (await Credential.get(id=original["id"])).expires_at is None


async def test_update_fine_grained_scopes_on_a_fine_grained_credential(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    original = (await created(client, token, accessLevel="FINE_GRAINED", scopes=["events:read"]))[
        "credential"
    ]

    result = await update(client, token, original["id"], scopes=["barcodes:read", "orders:write"])

    assert result["__typename"] == "CredentialUpdated", result
    assert result["credential"]["scopes"] == ["orders:write", "barcodes:read"]
    assert result["credential"]["accessLevel"] == "FINE_GRAINED"


@pytest.mark.parametrize("cleared", [None, []])
async def test_update_null_or_empty_ip_allowlist_clears_it(
    client: httpx.AsyncClient, cleared: list[str] | None
) -> None:
    token = await admin_token(client)
    original = (await created(client, token, ipAllowlist=["192.0.2.0/24"]))["credential"]
    assert original["ipAllowlist"] == ["192.0.2.0/24"]

    result = await update(client, token, original["id"], ipAllowlist=cleared)

    assert result["__typename"] == "CredentialUpdated", result
    assert result["credential"] == {**original, "ipAllowlist": []}


@pytest.mark.parametrize("field", ["name", "contactEmail", "accessLevel"])
async def test_update_explicit_null_for_a_required_field_is_a_validation_error(
    client: httpx.AsyncClient, field: str
) -> None:
    token = await admin_token(client)
    original = (await created(client, token))["credential"]

    result = await update(client, token, original["id"], **{field: None})

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert await fetch(client, token, original["id"]) == original


INVALID_UPDATES: list[Any] = [
    pytest.param({"name": "  "}, "name", id="name-blank"),
    pytest.param({"name": "n" * 101}, "name", id="name-too-long"),
    pytest.param({"contactEmail": "nope"}, "contactEmail", id="bad-email"),
    pytest.param({"scopes": ["events:read"]}, "scopes", id="scopes-on-full"),
    pytest.param({"ipAllowlist": ["10.0.0.1/8"]}, "ipAllowlist", id="cidr-host-bits"),
    pytest.param({"expiresAt": "2020-01-01T00:00:00+00:00"}, "expiresAt", id="past-expiry"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_UPDATES)
async def test_invalid_update_is_a_validation_error_and_changes_nothing(
    client: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    token = await admin_token(client)
    original = (await created(client, token))["credential"]

    # A valid change rides along: it must not be applied either (the update is all or nothing).
    valid = {"name": "Would change", "contactEmail": "would@change.example"}
    result = await update(client, token, original["id"], **{**valid, **changes})

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert await fetch(client, token, original["id"]) == original
    assert await audit_count(original["id"], AuditAction.CREDENTIAL_UPDATED) == 0


async def test_full_to_fine_grained_requires_scopes(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    original = (await created(client, token))["credential"]

    refused = await update(client, token, original["id"], accessLevel="FINE_GRAINED")
    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "scopes"
    assert await fetch(client, token, original["id"]) == original

    empty = await update(client, token, original["id"], accessLevel="FINE_GRAINED", scopes=[])
    assert empty["__typename"] == "ValidationError", empty
    assert empty["field"] == "scopes"


async def test_fine_grained_to_full_clears_stored_scopes_and_grants_the_catalogue(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    original = (await created(client, token, accessLevel="FINE_GRAINED", scopes=["events:read"]))[
        "credential"
    ]

    result = await update(client, token, original["id"], accessLevel="FULL")

    assert result["__typename"] == "CredentialUpdated", result
    assert result["credential"]["accessLevel"] == "FULL"
    assert result["credential"]["scopes"] == CATALOGUE_NAMES
    assert (await Credential.get(id=original["id"])).scopes == []


async def test_updating_a_revoked_credential_is_not_active(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = (await created(client, token))["credential"]["id"]
    revoked = (await revoke(client, token, credential_id))["credential"]

    result = await update(client, token, credential_id, name="Back from the dead")

    assert result["__typename"] == "CredentialNotActive", result
    assert result["status"] == "REVOKED"
    assert await fetch(client, token, credential_id) == revoked


async def test_updating_an_unknown_credential_is_not_found(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    for credential_id in (str(uuid.uuid4()), "not-a-uuid"):
        result = await update(client, token, credential_id, name="Ghost")
        assert result["__typename"] == "NotFound", result


async def test_expired_credential_can_have_its_expiry_extended(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    token = await admin_token(client)
    result = await created(client, token)
    credential_id = result["credential"]["id"]
    await Credential.filter(id=credential_id).update(expires_at=utcnow() - timedelta(minutes=1))
    assert (await fetch(client, token, credential_id))["status"] == "EXPIRED"
    hasher = hasher_of(app)
    client_id, secret = result["credential"]["clientId"], result["clientSecret"]
    assert await verify_client_secret(client_id, secret, hasher=hasher, now=utcnow()) is None

    extended = await update(client, token, credential_id, expiresAt=future(days=90))

    assert extended["__typename"] == "CredentialUpdated", extended
    assert extended["credential"]["status"] == "ACTIVE"
    assert await verify_client_secret(client_id, secret, hasher=hasher, now=utcnow())


async def test_update_with_unchanged_values_writes_no_audit_event(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    original = (
        await created(
            client,
            token,
            accessLevel="FINE_GRAINED",
            scopes=["events:read"],
            expiresAt=future(),
            ipAllowlist=["192.0.2.0/24"],
        )
    )["credential"]

    result = await update(
        client,
        token,
        original["id"],
        name=original["name"],
        contactEmail=original["contactEmail"],
        accessLevel=original["accessLevel"],
        scopes=original["scopes"],
        expiresAt=original["expiresAt"],
        ipAllowlist=original["ipAllowlist"],
    )
    empty = await update(client, token, original["id"])

    assert result["__typename"] == "CredentialUpdated", result
    assert empty["__typename"] == "CredentialUpdated", empty
    assert result["credential"] == original
    assert await audit_count(original["id"], AuditAction.CREDENTIAL_UPDATED) == 0


async def test_same_expiry_in_another_utc_offset_is_no_change(client: httpx.AsyncClient) -> None:
    """The same instant written with a different offset is not a change worth an audit event."""
    token = await admin_token(client)
    expires_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    original = (await created(client, token, expiresAt=expires_at.isoformat()))["credential"]
    same_instant = expires_at.astimezone(timezone(timedelta(hours=2))).isoformat()

    result = await update(client, token, original["id"], expiresAt=same_instant)

    assert result["__typename"] == "CredentialUpdated", result
    assert datetime.fromisoformat(result["credential"]["expiresAt"]) == expires_at
    assert await fetch(client, token, original["id"]) == original
    assert await audit_count(original["id"], AuditAction.CREDENTIAL_UPDATED) == 0


async def test_update_does_not_touch_secrets(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    original = (await created(client, token))["credential"]
    rows_before = [
        (row.id, row.expires_at, row.ended_at)
        for row in await CredentialSecret.filter(credential_id=original["id"])
    ]

    await update(client, token, original["id"], name="Renamed", expiresAt=future())

    rows_after = [
        (row.id, row.expires_at, row.ended_at)
        for row in await CredentialSecret.filter(credential_id=original["id"])
    ]
    assert rows_after == rows_before

"""`regenerateCredentialSecret`: rotation with a bounded grace period (CR-06)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

import tests.database
from auth.partners.keyed_hash import KeyedHasher
from models.credential import Credential, CredentialSecret
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.services import Services
from tests.helpers import (
    TEST_PEPPER,
    admin_token,
    create_via_graphql,
    gql,
    operation,
    regenerate_via_graphql,
    verify_client_secret,
)

# Distinct from the built-in defaults, so the tests prove the configured values are used.
GRACE_DEFAULT_MINUTES = 90
GRACE_MAX_MINUTES = 600


@pytest.fixture
def settings() -> Settings:
    return Settings(
        secret_peppers=(TEST_PEPPER,),
        rotation_grace_default_minutes=GRACE_DEFAULT_MINUTES,
        rotation_grace_max_minutes=GRACE_MAX_MINUTES,
    )


def hasher_of(app: Starlette) -> KeyedHasher:
    services: Services = app.state.services
    return services.hasher


async def create(client: httpx.AsyncClient, token: str) -> tuple[str, str, str]:
    """A new credential: (id, client ID, secret)."""
    created = await create_via_graphql(client, token)
    assert created["__typename"] == "CredentialCreated", created
    credential = created["credential"]
    return credential["id"], credential["clientId"], created["clientSecret"]


async def live_secret_count(credential_id: str, now: datetime | None = None) -> int:
    moment = now or utcnow()
    rows = await CredentialSecret.filter(credential_id=credential_id)
    return sum(1 for row in rows if row.is_live_at(moment))


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def test_regenerate_returns_a_new_secret_once(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id, _, old_secret = await create(client, token)

    result = await regenerate_via_graphql(client, token, credential_id, grace=30)

    assert result["__typename"] == "CredentialSecretRegenerated", result
    new_secret = result["clientSecret"]
    assert new_secret.startswith("pcs_")
    assert new_secret != old_secret
    hints = [secret["hint"] for secret in result["credential"]["secrets"]]
    assert hints == [new_secret[-4:], old_secret[-4:]], "newest first: current, then previous"
    listed = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    assert new_secret not in str(listed), "CR-02: the secret is shown only once"


async def test_omitted_grace_period_uses_the_configured_default(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    credential_id, _, _ = await create(client, token)

    before = utcnow()
    result = await regenerate_via_graphql(client, token, credential_id)
    after = utcnow()

    assert result["__typename"] == "CredentialSecretRegenerated", result
    secrets = result["credential"]["secrets"]
    assert len(secrets) == 2
    assert secrets[0]["expiresAt"] is None
    previous_ends = parse(secrets[1]["expiresAt"])
    grace = timedelta(minutes=settings.rotation_grace_default_minutes)
    assert before + grace <= previous_ends <= after + grace


async def test_explicit_grace_period_sets_the_previous_secret_expiry(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id, _, _ = await create(client, token)

    before = utcnow()
    result = await regenerate_via_graphql(client, token, credential_id, grace=15)
    after = utcnow()

    previous_ends = parse(result["credential"]["secrets"][1]["expiresAt"])
    assert before + timedelta(minutes=15) <= previous_ends <= after + timedelta(minutes=15)


async def test_grace_zero_ends_the_old_secret_at_once(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    token = await admin_token(client)
    credential_id, client_id, old_secret = await create(client, token)

    result = await regenerate_via_graphql(client, token, credential_id, grace=0)

    assert result["__typename"] == "CredentialSecretRegenerated", result
    secrets = result["credential"]["secrets"]
    assert [secret["hint"] for secret in secrets] == [result["clientSecret"][-4:]]
    hasher = hasher_of(app)
    now = utcnow()
    assert await verify_client_secret(client_id, old_secret, hasher=hasher, now=now) is None
    assert await verify_client_secret(client_id, result["clientSecret"], hasher=hasher, now=now)


@pytest.mark.parametrize("grace", [GRACE_MAX_MINUTES + 1, -1])
async def test_grace_period_out_of_range_is_a_validation_error(
    client: httpx.AsyncClient, grace: int
) -> None:
    token = await admin_token(client)
    credential_id, _, _ = await create(client, token)

    result = await regenerate_via_graphql(client, token, credential_id, grace=grace)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "gracePeriodMinutes"
    assert await CredentialSecret.filter(credential_id=credential_id).count() == 1


async def test_grace_period_at_the_maximum_is_accepted(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id, _, _ = await create(client, token)

    result = await regenerate_via_graphql(client, token, credential_id, grace=GRACE_MAX_MINUTES)

    assert result["__typename"] == "CredentialSecretRegenerated", result


async def test_cr06_second_regenerate_in_grace_period_ends_the_oldest_secret(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """CR-06: never more than two live secrets."""
    token = await admin_token(client)
    credential_id, client_id, first_secret = await create(client, token)
    second = await regenerate_via_graphql(client, token, credential_id, grace=60)
    third = await regenerate_via_graphql(client, token, credential_id, grace=60)

    assert third["__typename"] == "CredentialSecretRegenerated", third
    second_secret, third_secret = second["clientSecret"], third["clientSecret"]
    hints = [secret["hint"] for secret in third["credential"]["secrets"]]
    assert hints == [third_secret[-4:], second_secret[-4:]]
    assert await live_secret_count(credential_id) == 2
    hasher = hasher_of(app)
    now = utcnow()
    assert await verify_client_secret(client_id, first_secret, hasher=hasher, now=now) is None
    assert await verify_client_secret(client_id, second_secret, hasher=hasher, now=now)
    assert await verify_client_secret(client_id, third_secret, hasher=hasher, now=now)


async def test_cr06_previous_secret_verifies_until_its_expiry_and_not_after(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    token = await admin_token(client)
    credential_id, client_id, old_secret = await create(client, token)
    result = await regenerate_via_graphql(client, token, credential_id, grace=60)
    new_secret = result["clientSecret"]
    ends = parse(result["credential"]["secrets"][1]["expiresAt"])
    old_row = await CredentialSecret.get(credential_id=credential_id, hint=old_secret[-4:])
    hasher = hasher_of(app)

    just_before = await verify_client_secret(
        client_id, old_secret, hasher=hasher, now=ends - timedelta(seconds=1)
    )
    assert just_before is not None
    assert just_before.secret.id == old_row.id
    for moment in (ends, ends + timedelta(seconds=1), ends + timedelta(days=1)):
        assert await verify_client_secret(client_id, old_secret, hasher=hasher, now=moment) is None
    later = ends + timedelta(days=1)
    assert await verify_client_secret(client_id, new_secret, hasher=hasher, now=later)


async def test_regenerating_a_revoked_credential_is_not_active(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id, _, _ = await create(client, token)
    revoked = await gql(
        client, operation("RevokeCredential"), {"input": {"id": credential_id}}, token=token
    )
    assert revoked["data"]["revokeCredential"]["__typename"] == "CredentialRevoked"

    result = await regenerate_via_graphql(client, token, credential_id, grace=60)

    assert result["__typename"] == "CredentialNotActive", result
    assert result["status"] == "REVOKED"
    assert await live_secret_count(credential_id) == 0


async def test_regenerating_an_expired_credential_is_not_active(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id, _, _ = await create(client, token)
    await Credential.filter(id=credential_id).update(expires_at=utcnow() - timedelta(minutes=1))

    result = await regenerate_via_graphql(client, token, credential_id, grace=60)

    assert result["__typename"] == "CredentialNotActive", result
    assert result["status"] == "EXPIRED"
    assert await CredentialSecret.filter(credential_id=credential_id).count() == 1


async def test_regenerating_an_unknown_credential_is_not_found(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    for credential_id in (str(uuid.uuid4()), "not-a-uuid"):
        result = await regenerate_via_graphql(client, token, credential_id)
        assert result["__typename"] == "NotFound", result
        assert result["message"]
    assert await CredentialSecret.all().count() == 0


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not tests.database.on_postgres(),
    reason="needs PostgreSQL: SQLite has no row locks (select_for_update is a no-op) and "
    "cannot run two write transactions at once",
)
async def test_cr06_concurrent_regenerations_leave_at_most_two_live_secrets(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """CR-06: two rotations racing on one credential are serialised by the row lock."""
    token = await admin_token(client)
    credential_id, client_id, original = await create(client, token)

    results = await asyncio.gather(
        regenerate_via_graphql(client, token, credential_id, grace=60),
        regenerate_via_graphql(client, token, credential_id, grace=60),
    )

    assert [result["__typename"] for result in results] == ["CredentialSecretRegenerated"] * 2
    assert await live_secret_count(credential_id) == 2
    hasher = hasher_of(app)
    now = utcnow()
    assert await verify_client_secret(client_id, original, hasher=hasher, now=now) is None
    for result in results:
        assert await verify_client_secret(client_id, result["clientSecret"], hasher=hasher, now=now)
    listed = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    assert len(listed["data"]["credential"]["secrets"]) == 2

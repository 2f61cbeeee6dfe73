"""The lifecycle signals through GraphQL: `expiresSoon`, `stale`, `exceedsPolicy` on credentials,
`safeToEnd` on secrets, and the configured windows on `partnerApi`. The rules and their edges are
tested without a database in test_credential_lifecycle_signals.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from models.credential import Credential, CredentialSecret
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.credential_policy import OrganisationPolicy, organisation_policy
from tests.helpers import (
    TEST_KEY_ENCRYPTION_KEY,
    TEST_PEPPER,
    admin_token,
    create_via_graphql,
    gql,
    operation,
)

# Distinct from the defaults (14 and 90), so the tests prove the configured values are used.
EXPIRES_SOON_DAYS = 3
STALE_AFTER_DAYS = 10
TOKEN_TTL_SECONDS = 300


@pytest.fixture
def settings() -> Settings:
    return Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        token_reuse_seconds=0,
        expires_soon_days=EXPIRES_SOON_DAYS,
        stale_after_days=STALE_AFTER_DAYS,
        access_token_ttl_seconds=TOKEN_TTL_SECONDS,
    )


async def fetch(client: httpx.AsyncClient, token: str, credential_id: str) -> dict[str, Any]:
    body = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    assert "errors" not in body, body
    credential: dict[str, Any] = body["data"]["credential"]
    return credential


async def create(client: httpx.AsyncClient, token: str, **overrides: Any) -> dict[str, Any]:
    created = await create_via_graphql(client, token, **overrides)
    assert created["__typename"] == "CredentialCreated", created
    return created


async def test_partner_api_exposes_the_configured_windows(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    body = await gql(client, operation("PartnerApi"), token=token)
    info = body["data"]["partnerApi"]
    assert info["expiresSoonDays"] == EXPIRES_SOON_DAYS
    assert info["staleAfterDays"] == STALE_AFTER_DAYS


async def test_expires_soon_follows_the_configured_window(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    soon = await create(
        client, token, expiresAt=(utcnow() + timedelta(days=EXPIRES_SOON_DAYS - 1)).isoformat()
    )
    later = await create(
        client, token, expiresAt=(utcnow() + timedelta(days=EXPIRES_SOON_DAYS + 1)).isoformat()
    )
    never = await create(client, token)

    assert soon["credential"]["expiresSoon"] is True
    assert (await fetch(client, token, soon["credential"]["id"]))["expiresSoon"] is True
    assert (await fetch(client, token, later["credential"]["id"]))["expiresSoon"] is False
    assert (await fetch(client, token, never["credential"]["id"]))["expiresSoon"] is False


async def test_revoked_credentials_neither_expire_soon_nor_go_stale(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    created = await create(client, token, expiresAt=(utcnow() + timedelta(days=1)).isoformat())
    credential_id = created["credential"]["id"]
    await Credential.filter(id=credential_id).update(created_at=utcnow() - timedelta(days=400))
    assert (await fetch(client, token, credential_id))["stale"] is True

    body = await gql(
        client, operation("RevokeCredential"), {"input": {"id": credential_id}}, token=token
    )
    revoked = body["data"]["revokeCredential"]["credential"]

    assert (revoked["expiresSoon"], revoked["stale"]) == (False, False)


async def test_stale_counts_from_the_last_use_or_the_creation(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = (await create(client, token))["credential"]["id"]
    assert (await fetch(client, token, credential_id))["stale"] is False

    await Credential.filter(id=credential_id).update(
        created_at=utcnow() - timedelta(days=STALE_AFTER_DAYS, minutes=1)
    )
    assert (await fetch(client, token, credential_id))["stale"] is True  # never used

    await Credential.filter(id=credential_id).update(last_used_at=utcnow() - timedelta(days=2))
    assert (await fetch(client, token, credential_id))["stale"] is False

    await Credential.filter(id=credential_id).update(
        last_used_at=utcnow() - timedelta(days=STALE_AFTER_DAYS, minutes=1)
    )
    assert (await fetch(client, token, credential_id))["stale"] is True


async def test_list_shows_the_signals_of_every_credential(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    stale = (await create(client, token, name="Stale one"))["credential"]["id"]
    await create(
        client,
        token,
        name="Soon one",
        expiresAt=(utcnow() + timedelta(hours=5)).isoformat(),
    )
    await Credential.filter(id=stale).update(created_at=utcnow() - timedelta(days=365))

    body = await gql(client, operation("Credentials"), {"first": 10}, token=token)
    nodes = {edge["node"]["name"]: edge["node"] for edge in body["data"]["credentials"]["edges"]}

    assert (nodes["Stale one"]["stale"], nodes["Stale one"]["expiresSoon"]) == (True, False)
    assert (nodes["Soon one"]["stale"], nodes["Soon one"]["expiresSoon"]) == (False, True)


async def rotate_an_hour_ago(client: httpx.AsyncClient, token: str) -> tuple[str, str, str]:
    """Create, rotate with a grace period, and move the rotation an hour into the past:
    (credential id, client ID, previous secret)."""
    created = await create(client, token)
    credential_id = created["credential"]["id"]
    body = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id, "gracePeriodMinutes": 600}},
        token=token,
    )
    assert body["data"]["regenerateCredentialSecret"]["__typename"] == (
        "CredentialSecretRegenerated"
    )
    now = utcnow()
    await CredentialSecret.filter(credential_id=credential_id, expires_at__isnull=False).update(
        created_at=now - timedelta(days=2)
    )
    await CredentialSecret.filter(credential_id=credential_id, expires_at__isnull=True).update(
        created_at=now - timedelta(hours=1)
    )
    return credential_id, created["credential"]["clientId"], created["clientSecret"]


async def test_safe_to_end_turns_false_when_the_previous_secret_obtains_a_token(
    client: httpx.AsyncClient,
) -> None:
    """The whole loop: unused since the rotation → safe; a token request with it → not safe."""
    token = await admin_token(client)
    credential_id, client_id, previous = await rotate_an_hour_ago(client, token)

    current, old = (await fetch(client, token, credential_id))["secrets"]
    assert current["safeToEnd"] is None
    assert old["safeToEnd"] is True

    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, previous)
    )
    assert response.status_code == 200, response.text  # the first use is written at once

    current, old = (await fetch(client, token, credential_id))["secrets"]
    assert old["lastUsedAt"] is not None
    assert old["safeToEnd"] is False
    assert current["safeToEnd"] is None


async def test_a_fresh_rotation_is_not_yet_safe_to_end(client: httpx.AsyncClient) -> None:
    """Until one access-token lifetime has passed, a system on the old secret may not have
    needed a new token yet."""
    token = await admin_token(client)
    credential_id = (await create(client, token))["credential"]["id"]
    body = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id, "gracePeriodMinutes": 60}},
        token=token,
    )
    secrets = body["data"]["regenerateCredentialSecret"]["credential"]["secrets"]

    assert [secret["safeToEnd"] for secret in secrets] == [None, False]


async def test_exceeds_policy_flags_credentials_from_before_a_stricter_policy(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    unlimited = (await create(client, token, name="No expiry"))["credential"]["id"]
    long = await create(
        client, token, name="Long", expiresAt=(utcnow() + timedelta(days=300)).isoformat()
    )
    assert long["credential"]["exceedsPolicy"] is False

    body = await gql(
        client,
        operation("UpdateCredentialPolicy"),
        {"input": {"maxCredentialLifetimeDays": 90}},
        token=token,
    )
    assert body["data"]["updateCredentialPolicy"]["__typename"] == "CredentialPolicyUpdated"
    short = await create(client, token, name="Short")

    assert (await fetch(client, token, unlimited))["exceedsPolicy"] is True
    assert (await fetch(client, token, long["credential"]["id"]))["exceedsPolicy"] is True
    assert short["credential"]["exceedsPolicy"] is False
    # Not cut short: the old expiries are unchanged.
    assert (await fetch(client, token, unlimited))["expiresAt"] is None


async def test_a_page_of_credentials_reads_the_policy_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every credential's `exceedsPolicy` needs the organisation's policy; the page's resolvers run
    concurrently and must share one read, not query once each."""
    token = await admin_token(client)
    for index in range(5):
        await create(client, token, name=f"Partner {index}")
    reads: list[object] = []

    async def counting(organisation_id: Any) -> OrganisationPolicy:
        reads.append(organisation_id)
        await asyncio.sleep(0.01)  # long enough for every resolver to ask while it is pending
        return await organisation_policy(organisation_id)

    monkeypatch.setattr("schema.context.organisation_policy", counting)
    body = await gql(client, operation("Credentials"), {"first": 20}, token=token)
    assert "errors" not in body, body
    edges = body["data"]["credentials"]["edges"]
    assert len(edges) == 5
    assert all(edge["node"]["exceedsPolicy"] is False for edge in edges)
    assert len(reads) == 1

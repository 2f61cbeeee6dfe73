"""Concurrent credential mutations on PostgreSQL (SECURITY.md CR-06, LG-01, TE-14).

Fifty `regenerateCredentialSecret` (with several grace periods), `updateCredential` and
`revokeCredential` calls race on ONE credential through GraphQL over ASGI, while a sampler reads
the credential's secrets over and over. What must hold, whatever order the row lock picks:
never more than two live secrets (at any sampled moment, and at the end); once revoked, the
credential stays revoked and no later mutation succeeds; the audit trail holds exactly one event
per successful mutation, by action; the token endpoint refuses every secret after revocation.

Overselling under concurrent reservations is proven by
`tests/test_partner_reservations.py::test_concurrent_reservations_never_oversell` (and its
neighbours for one Idempotency-Key and complete-versus-cancel); `test_fifty_concurrent_
reservations_never_oversell` below raises the count to fifty requests of mixed quantities.

SQLite runs one write transaction at a time, so nothing can race there: these tests run only on
PostgreSQL (`TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test`).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Coroutine
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.backends.base_postgres.client import BasePostgresClient

import tests.database
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import AuditAction
from models.ticketing import Order, Product
from partner_api.foundation.clock import utcnow
from tests.helpers import admin_token, create_via_graphql, gql, operation, regenerate_via_graphql
from tests.test_partner_events import caller, make_event, make_product, organisation
from tests.test_partner_reservations import RESERVATIONS, body_for, post, sold

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not tests.database.on_postgres(),
        reason="needs PostgreSQL: SQLite runs one write transaction at a time, so requests "
        "cannot race for row locks there",
    ),
]

CALLS = 50
GRACE_CHOICES: tuple[int | None, ...] = (None, 0, 5, 60)
MUTATION_ACTIONS = (
    AuditAction.CREDENTIAL_SECRET_REGENERATED,
    AuditAction.CREDENTIAL_UPDATED,
    AuditAction.CREDENTIAL_REVOKED,
)
SUCCESS_ACTION = {
    "CredentialSecretRegenerated": AuditAction.CREDENTIAL_SECRET_REGENERATED,
    "CredentialUpdated": AuditAction.CREDENTIAL_UPDATED,
}
GRANT = {"grant_type": "client_credentials"}


# -- the mutations -----------------------------------------------------------------------------


async def update(
    client: httpx.AsyncClient, token: str, credential_id: str, number: int
) -> dict[str, Any]:
    # A distinct name each time, so every successful update is a change (and an audit event);
    # every other one also re-scopes, which must reach the token endpoint's cache too.
    changes: dict[str, Any] = {"id": credential_id, "name": f"Box office {number}"}
    if number % 2:
        changes.update(accessLevel="FINE_GRAINED", scopes=["events:read", "orders:read"])
    else:
        changes.update(accessLevel="FULL")
    body = await gql(client, operation("UpdateCredential"), {"input": changes}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredential"]
    return result


async def revoke(client: httpx.AsyncClient, token: str, credential_id: str) -> dict[str, Any]:
    variables = {"input": {"id": credential_id, "reason": "Leaked in a race"}}
    body = await gql(client, operation("RevokeCredential"), variables, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["revokeCredential"]
    return result


Mutation = Coroutine[Any, Any, dict[str, Any]]


def mixed_calls(
    client: httpx.AsyncClient, token: str, credential_id: str, *, revokes: int
) -> list[tuple[str, Mutation]]:
    """CALLS mutations in a fixed order: two rotations (grace periods drawn from a seeded
    generator, so a failure can be replayed) for each update; the revocations come in the last
    third, so the race sees successes on both sides of the first one."""
    chooser = random.Random(7)
    calls: list[tuple[str, Mutation]] = []
    for number in range(CALLS - revokes):
        if number % 3 == 2:
            calls.append(("update", update(client, token, credential_id, number)))
        else:
            grace = chooser.choice(GRACE_CHOICES)
            regenerated = regenerate_via_graphql(client, token, credential_id, grace)
            calls.append(("regenerate", regenerated))
    for index in range(revokes):
        position = CALLS * 2 // 3 + index * (CALLS // 3) // max(revokes, 1)
        calls.insert(position, ("revoke", revoke(client, token, credential_id)))
    return calls


# -- observing the credential ------------------------------------------------------------------


async def live_secrets(credential_id: str) -> list[CredentialSecret]:
    """The live secrets, read in one statement (one snapshot of committed rows)."""
    moment = utcnow()
    rows = await CredentialSecret.filter(credential_id=credential_id, ended_at__isnull=True)
    return [row for row in rows if row.is_live_at(moment)]


LIVE_SECRETS_SQL = """
    SELECT count(*) FROM credential_secret
    WHERE credential_id = $1 AND ended_at IS NULL
      AND (expires_at IS NULL OR expires_at > clock_timestamp())
"""


class Sampler:
    """Counts live secrets again and again while the mutations run; keeps the largest count.

    It reads on a connection of its own, outside the app's pool (which the fifty mutations keep
    busy), so it samples throughout the race; each count is one statement, one snapshot."""

    def __init__(self, credential_id: str) -> None:
        self.credential_id = UUID(credential_id)
        self.samples = 0
        self.most = 0
        self._done = asyncio.Event()

    async def run(self) -> None:
        database = connections.get("default")
        assert isinstance(database, BasePostgresClient)
        connection = await asyncpg.connect(
            host=database.host,
            port=database.port,
            user=database.user,
            password=database.password,
            database=database.database,
        )
        try:
            while not self._done.is_set():
                count = await connection.fetchval(LIVE_SECRETS_SQL, self.credential_id)
                self.most = max(self.most, count)
                self.samples += 1
                await asyncio.sleep(0)
        finally:
            await connection.close()

    def stop(self) -> None:
        self._done.set()


async def audit_counts(credential_id: str) -> Counter[AuditAction]:
    events = await AuditEvent.filter(credential_id=credential_id, action__in=MUTATION_ACTIONS)
    return Counter(event.action for event in events)


async def race(
    client: httpx.AsyncClient, token: str, credential_id: str, *, revokes: int
) -> tuple[list[tuple[str, dict[str, Any]]], Sampler]:
    calls = mixed_calls(client, token, credential_id, revokes=revokes)
    sampler = Sampler(credential_id)
    sampling = asyncio.create_task(sampler.run())
    try:
        results = await asyncio.gather(*(call for _, call in calls))
    finally:
        sampler.stop()
        await sampling
    return [(kind, result) for (kind, _), result in zip(calls, results, strict=True)], sampler


async def new_credential(client: httpx.AsyncClient, token: str) -> tuple[str, str, str]:
    created = await create_via_graphql(client, token)
    assert created["__typename"] == "CredentialCreated", created
    credential = created["credential"]
    return credential["id"], credential["clientId"], created["clientSecret"]


async def token_statuses(app: Starlette, client_id: str, secrets: list[str]) -> dict[str, int]:
    """The token endpoint's answer to each secret, each asked from its own address, so the
    refusals do not add up to the brute-force limit (TE-20) and hide a secret that works."""
    statuses: dict[str, int] = {}
    for number, secret in enumerate(secrets):
        address = f"198.51.{number // 250}.{number % 250 + 1}"
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/oauth/token", data=GRANT, auth=(client_id, secret))
        statuses[secret] = response.status_code
    return statuses


# -- the tests ---------------------------------------------------------------------------------


async def test_cr06_fifty_concurrent_mutations_keep_two_live_secrets_and_revoked_stays_revoked(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """CR-06, LG-01, TE-14, RS-10: 50 concurrent regenerate/update/revoke calls on one
    credential."""
    token = await admin_token(client)
    credential_id, client_id, original = await new_credential(client, token)
    issued_before = await client.post("/oauth/token", data=GRANT, auth=(client_id, original))
    assert issued_before.status_code == 200, issued_before.text
    access_token = issued_before.json()["access_token"]

    outcomes, sampler = await race(client, token, credential_id, revokes=3)

    # Never more than two live secrets, at any moment the sampler saw.
    assert sampler.samples >= 10, "the sampler must have read during the race"
    assert sampler.most <= 2, sampler.most
    typenames = Counter(result["__typename"] for _, result in outcomes)
    assert set(typenames) <= {*SUCCESS_ACTION, "CredentialRevoked", "CredentialNotActive"}, (
        typenames
    )
    # Every refusal is the revoked state: nothing failed for any other reason.
    for kind, result in outcomes:
        if result["__typename"] == "CredentialNotActive":
            assert kind in {"regenerate", "update"}, (kind, result)
            assert result["status"] == "REVOKED", result
    # Every revoke answers the same, first revocation (idempotent, revokedAt never moves).
    revocations = [result for kind, result in outcomes if kind == "revoke"]
    assert [result["__typename"] for result in revocations] == ["CredentialRevoked"] * 3
    revoked_at = {result["credential"]["revokedAt"] for result in revocations}
    assert len(revoked_at) == 1, revoked_at
    assert all(result["credential"]["status"] == "REVOKED" for result in revocations)

    # The audit trail holds one event per successful mutation, by action.
    expected = Counter(
        SUCCESS_ACTION[result["__typename"]]
        for _, result in outcomes
        if result["__typename"] in SUCCESS_ACTION
    )
    expected[AuditAction.CREDENTIAL_REVOKED] = 1
    assert await audit_counts(credential_id) == expected
    # Nothing succeeded after the revocation: every other mutation's event precedes it.
    events = await AuditEvent.filter(
        credential_id=credential_id, action__in=MUTATION_ACTIONS
    ).order_by("occurred_at")
    assert events[-1].action is AuditAction.CREDENTIAL_REVOKED, [e.action for e in events]
    # One secret per successful rotation, plus the first; all ended now.
    issued = [result["clientSecret"] for _, result in outcomes if "clientSecret" in result]
    assert len(issued) == expected[AuditAction.CREDENTIAL_SECRET_REGENERATED]
    assert await CredentialSecret.filter(credential_id=credential_id).count() == 1 + len(issued)
    assert await live_secrets(credential_id) == []

    # Revoked stays revoked: later calls are refused and change nothing.
    stored = await Credential.get(id=credential_id)
    assert stored.revoked_at is not None
    later = await asyncio.gather(
        regenerate_via_graphql(client, token, credential_id, 0),
        regenerate_via_graphql(client, token, credential_id, None),
        update(client, token, credential_id, 1000),
        revoke(client, token, credential_id),
    )
    assert [result["__typename"] for result in later[:3]] == ["CredentialNotActive"] * 3
    assert all(result["status"] == "REVOKED" for result in later[:3])
    assert later[3]["credential"]["revokedAt"] in revoked_at
    assert (await Credential.get(id=credential_id)).revoked_at == stored.revoked_at
    assert await audit_counts(credential_id) == expected

    # The token endpoint refuses every secret the credential ever had (TE-14), and the token
    # obtained before the race no longer opens the Partner API (RS-10).
    statuses = await token_statuses(app, client_id, [original, *issued])
    assert set(statuses.values()) == {401}, statuses
    events_page = await client.get(
        "/partner/v1/events", headers={"Authorization": f"Bearer {access_token}"}
    )
    assert events_page.status_code == 401, events_page.text


async def test_cr06_fifty_concurrent_rotations_and_updates_end_with_at_most_two_live_secrets(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """CR-06, LG-01: without a revocation, the race ends with one current secret (plus at most
    the one in its grace period), exactly the live ones work at the token endpoint, and every
    success has its audit event."""
    token = await admin_token(client)
    credential_id, client_id, original = await new_credential(client, token)

    outcomes, sampler = await race(client, token, credential_id, revokes=0)

    assert sampler.samples >= 10, "the sampler must have read during the race"
    assert sampler.most <= 2, sampler.most
    typenames = Counter(result["__typename"] for _, result in outcomes)
    assert set(typenames) == set(SUCCESS_ACTION), typenames
    expected = Counter(SUCCESS_ACTION[result["__typename"]] for _, result in outcomes)
    assert await audit_counts(credential_id) == expected

    live = await live_secrets(credential_id)
    assert 1 <= len(live) <= 2, live
    assert sum(1 for secret in live if secret.expires_at is None) == 1, "one current secret"
    issued = [result["clientSecret"] for _, result in outcomes if "clientSecret" in result]
    live_hints = {secret.hint for secret in live}
    statuses = await token_statuses(app, client_id, [original, *issued])
    working = {secret for secret, status in statuses.items() if status == 200}
    assert {secret[-4:] for secret in working} == live_hints, statuses
    assert set(statuses.values()) <= {200, 401}, statuses
    # What GraphQL shows agrees with the rows.
    shown = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    assert {secret["hint"] for secret in shown["data"]["credential"]["secrets"]} == live_hints


async def test_fifty_concurrent_reservations_never_oversell(client: httpx.AsyncClient) -> None:
    """Fifty reservations of 1 to 3 tickets race for 40 seats: what was sold is exactly what the
    accepted orders hold, never more than the capacity, and every refusal is `sold_out`."""
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    product: Product = await make_product(event, capacity=40)
    quantities = [1 + number % 3 for number in range(CALLS)]  # 100 tickets asked for

    responses = await asyncio.gather(
        *(
            post(client, RESERVATIONS, partner, body_for(event, [(product, quantity)]))
            for quantity in quantities
        )
    )

    accepted = [q for q, r in zip(quantities, responses, strict=True) if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code == 409 for r in refused), [r.text for r in refused]
    assert all(r.json()["error"] == "sold_out" for r in refused)
    assert await sold(product) == sum(accepted) <= 40
    # Greedy order is not guaranteed, but no request that still fitted was refused at the end.
    assert 40 - sum(accepted) < 3
    assert await Order.all().count() == len(accepted)

"""Benchmark pieces for what recording an event costs `createCredential` (issue 15). Used by
bench/run_all.py (`--only create-credential`).

Every `createCredential` writes a notification event in its transaction, and one pending delivery
per enabled endpoint of the organisation subscribed to `credential.created`
(partner_api/operations/notification_events.py). There is no way to create a credential without
the event, so two figures stand in for "with against without recording":

- over HTTP, the admin page's own `CreateCredential` mutation, sequential on one connection, in
  an organisation without webhook endpoints (the event row only) and in one with 3 subscribed
  enabled endpoints (the event and 3 deliveries), the two alternating call by call on one server;
- in-process, `notification_events.record` alone inside a transaction against the whole
  `create_credential` operation, in both organisations: the share of the operation that is
  recording.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import uvloop
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor, AdminIdentity
from auth.admins.sessions import start_session
from auth.partners.keyed_hash import KeyedHasher
from bench.common import KEK, PEPPER, ROOT
from models.enums import AccessLevel, Role
from models.notifications import NotificationEvent, NotificationType, WebhookDelivery
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, tortoise_config
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.operations import notification_events
from partner_api.operations.admins import create_admin
from partner_api.operations.credentials import CredentialDraft, create_credential, public_settings
from partner_api.operations.webhook_endpoints import create_endpoint

OPERATIONS = ROOT / "graphql" / "operations"
ENDPOINTS = 3


@dataclass(frozen=True)
class Tenant:
    """One organisation the benchmark creates credentials in, and its admin."""

    label: str
    organisation_id: UUID
    identity: AdminIdentity
    session_token: str
    endpoints: int


@dataclass(frozen=True)
class Latency:
    calls: int
    p50_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        return cls(
            calls=len(seconds),
            p50_ms=statistics.median(seconds) * 1000,
            mean_ms=statistics.fmean(seconds) * 1000,
        )


async def seed(database_url: str, endpoint_url: str) -> tuple[Tenant, Tenant]:
    """Two organisations, each with an admin and a session: one without webhook endpoints, one
    with `ENDPOINTS` enabled endpoints subscribed to every type. The endpoints' URL is never
    called (the server runs without a delivery worker)."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        tenants = []
        for label, endpoints in (("no endpoints", 0), (f"{ENDPOINTS} endpoints", ENDPOINTS)):
            account = await create_admin(
                email=f"admin-{secrets.token_hex(3)}@bench.example",
                organisation_name=f"Bench {label} {secrets.token_hex(3)}",
                role=Role.ADMIN,
                password=secrets.token_urlsafe(16),
            )
            identity = AdminIdentity.of(account.membership)
            actor = Actor(identity=identity, ip_address="127.0.0.1", user_agent="bench")
            for _ in range(endpoints):
                await create_endpoint(
                    TenantScope(account.organisation.id),
                    actor,
                    url=endpoint_url,
                    event_types=[kind.value for kind in notification_events.SUBSCRIBABLE],
                    description=None,
                    policy=OutboundPolicy(production=False),
                    key_encryption_key=KEK.encode(),
                    now=utcnow(),
                )
            session = await start_session(
                account.membership,
                now=utcnow(),
                ttl=timedelta(hours=12),
                ip_address=None,
                user_agent=None,
            )
            tenants.append(
                Tenant(label, account.organisation.id, identity, session.token, endpoints)
            )
        return tenants[0], tenants[1]
    finally:
        await Tortoise.close_connections()


def _bodies(count: int) -> list[bytes]:
    """The admin page's own `CreateCredential` document, for `count` credentials of new names."""
    document = (OPERATIONS / "CreateCredential.graphql").read_text() + (
        OPERATIONS / "fragments.graphql"
    ).read_text()
    return [
        json.dumps(
            {
                "query": document,
                "operationName": "CreateCredential",
                "variables": {
                    "input": {
                        "name": f"Integration {index:06d}",
                        "contactEmail": "ops@partner.example",
                        "accessLevel": "FULL",
                    }
                },
            }
        ).encode()
        for index in range(count)
    ]


def over_http(
    port: int, tenants: tuple[Tenant, ...], *, warm_up: int, calls: int
) -> dict[str, Latency]:
    """`warm_up` then `calls` mutations per tenant, sequential on one keep-alive connection, the
    tenants alternating call by call (so drift and the database's growth hit them alike). Every
    answer must be `CredentialCreated`; only the measured calls are timed."""
    bodies = iter(_bodies((warm_up + calls) * len(tenants)))
    connection = http.client.HTTPConnection("127.0.0.1", port)
    timings: dict[str, list[float]] = {tenant.label: [] for tenant in tenants}
    try:
        for round_number in range(warm_up + calls):
            for tenant in tenants:
                headers = {
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {tenant.session_token}",
                }
                body = next(bodies)
                started = time.perf_counter()
                connection.request("POST", "/graphql", body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
                elapsed = time.perf_counter() - started
                _check(response.status, content)
                if round_number >= warm_up:
                    timings[tenant.label].append(elapsed)
    finally:
        connection.close()
    return {label: Latency.of(seconds) for label, seconds in timings.items()}


def _check(status: int, content: bytes) -> None:
    """GraphQL refusals come with status 200: the answer itself must be a created credential."""
    answer = json.loads(content) if status == 200 else {}
    result = (answer.get("data") or {}).get("createCredential") or {}
    if result.get("__typename") != "CredentialCreated":
        raise RuntimeError(f"createCredential answered {status}: {content[:500]!r}")


async def recorded(database_url: str, tenants: tuple[Tenant, ...]) -> dict[str, dict[str, int]]:
    """Per tenant, the `credential.created` events and the deliveries written: proof that the
    measured calls recorded what the comparison says they did."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        counts = {}
        for tenant in tenants:
            events = NotificationEvent.filter(
                organisation_id=tenant.organisation_id, type=NotificationType.CREDENTIAL_CREATED
            )
            counts[tenant.label] = {
                "events": await events.count(),
                "deliveries": await WebhookDelivery.filter(
                    event__organisation_id=tenant.organisation_id
                ).count(),
            }
        return counts
    finally:
        await Tortoise.close_connections()


@dataclass(frozen=True)
class InProcess:
    """Per tenant: the whole `create_credential` operation, and `notification_events.record`
    alone (the call inside a transaction, without the transaction's begin and commit, which the
    operation pays once whatever it writes)."""

    operation: dict[str, Latency]
    record: dict[str, Latency]


def in_process(database_url: str, tenants: tuple[Tenant, ...], *, calls: int) -> InProcess:
    """The operation and the recording timed in this process, on uvloop as the server runs, the
    tenants alternating; a few untimed calls first."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_in_process(database_url, tenants, calls=calls))


async def _in_process(database_url: str, tenants: tuple[Tenant, ...], *, calls: int) -> InProcess:
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        hasher = KeyedHasher((PEPPER.encode(),))
        operation: dict[str, list[float]] = {tenant.label: [] for tenant in tenants}
        record: dict[str, list[float]] = {tenant.label: [] for tenant in tenants}
        warm_up = 10
        for round_number in range(warm_up + calls):
            for tenant in tenants:
                actor = Actor(identity=tenant.identity, ip_address="127.0.0.1", user_agent="bench")
                draft = CredentialDraft(
                    name=f"In-process {round_number:06d}",
                    contact_email="ops@partner.example",
                    access_level=AccessLevel.FULL,
                )
                scope = TenantScope(tenant.organisation_id)
                started = time.perf_counter()
                issued = await create_credential(scope, actor, draft, hasher=hasher, now=utcnow())
                operation_seconds = time.perf_counter() - started
                async with in_transaction():
                    started = time.perf_counter()
                    await notification_events.record(
                        NotificationType.CREDENTIAL_CREATED,
                        organisation_id=tenant.organisation_id,
                        credential=issued.credential,
                        facts=public_settings(issued.credential),
                        now=utcnow(),
                    )
                    record_seconds = time.perf_counter() - started
                if round_number >= warm_up:
                    operation[tenant.label].append(operation_seconds)
                    record[tenant.label].append(record_seconds)
        return InProcess(
            operation={label: Latency.of(seconds) for label, seconds in operation.items()},
            record={label: Latency.of(seconds) for label, seconds in record.items()},
        )
    finally:
        await Tortoise.close_connections()


def figures(
    http: dict[str, Latency],
    in_process: InProcess,
    counts: dict[str, dict[str, int]],
    plain: Tenant,
    hooked: Tenant,
) -> dict[str, Any]:
    """Everything the step reports, and what recording adds to the mutation's latency.

    No credential can be created without its event, so "without recording" is estimated: the
    HTTP mean less the in-process mean of `record` alone. Means, not medians, because the costs
    add up: the rows recording writes also make SQLite's WAL checkpoints come sooner, which only
    the mean shows."""
    a, b = plain.label, hooked.label

    def adds(label: str) -> float:
        record = in_process.record[label].mean_ms
        return record / (http[label].mean_ms - record)

    return {
        "http": {label: asdict(latency) for label, latency in http.items()},
        "in_process": {
            "operation": {label: asdict(x) for label, x in in_process.operation.items()},
            "record": {label: asdict(x) for label, x in in_process.record.items()},
        },
        "recorded": counts,
        "labels": {"plain": a, "hooked": b},
        "endpoints": hooked.endpoints,
        # (b) against (a) over HTTP: what the deliveries add to a call that writes the event.
        "deliveries_overhead_p50": http[b].p50_ms / http[a].p50_ms - 1,
        "deliveries_overhead_mean": http[b].mean_ms / http[a].mean_ms - 1,
        # In-process: `record` alone as a share of the whole operation.
        "record_share_of_operation": {
            label: in_process.record[label].mean_ms / in_process.operation[label].mean_ms
            for label in (a, b)
        },
        # What recording adds to the HTTP latency, against the estimate without it.
        "recording_adds": {label: adds(label) for label in (a, b)},
    }


def describe(result: dict[str, Any]) -> str:
    """The step's printout: each figure says what it compares."""
    a, b = result["labels"]["plain"], result["labels"]["hooked"]
    http, operation = result["http"], result["in_process"]["operation"]
    record = result["in_process"]["record"]
    lines = [
        f"createCredential over HTTP, {http[a]['calls']} sequential calls each on one "
        "connection, alternating:",
    ]
    for label, what in ((a, "event row only"), (b, f"event + {result['endpoints']} deliveries")):
        lines.append(
            f"  {label} ({what}): p50 {http[label]['p50_ms']:.2f} ms, "
            f"mean {http[label]['mean_ms']:.2f} ms"
        )
    lines += [
        f"  {b} vs {a} (what the deliveries add): p50 {result['deliveries_overhead_p50']:+.1%}, "
        f"mean {result['deliveries_overhead_mean']:+.1%}; "
        f"+{http[b]['mean_ms'] - http[a]['mean_ms']:.2f} ms over HTTP, "
        f"+{record[b]['mean_ms'] - record[a]['mean_ms']:.2f} ms in `record` in-process",
        f"in-process, {operation[a]['calls']} calls each, means: "
        "`notification_events.record` alone vs the whole `create_credential` operation:",
    ]
    for label in (a, b):
        lines.append(
            f"  {label}: record {record[label]['mean_ms']:.3f} ms of "
            f"{operation[label]['mean_ms']:.3f} ms "
            f"({result['record_share_of_operation'][label]:.1%} of the operation)"
        )
    lines.append(
        "recording adds to the HTTP latency (in-process `record` mean ÷ (HTTP mean - it)): "
        + ", ".join(f"{label} {result['recording_adds'][label]:.1%}" for label in (a, b))
        + " (target ≤ 10 %)"
    )
    counts = result["recorded"]
    lines.append(
        "recorded by the HTTP calls: "
        + ", ".join(
            f"{label} {counts[label]['events']} events, {counts[label]['deliveries']} deliveries"
            for label in (a, b)
        )
    )
    return "\n".join(lines)

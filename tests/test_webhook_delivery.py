"""Webhook delivery (issue 15): what an attempt sends, what a failure leads to, and that every
attempt is claimed by one worker only (WH-04). Runs on SQLite and PostgreSQL.

Deliveries go to a receiver on 127.0.0.1 that verifies each request with the Standard Webhooks
reference library (tests/webhook_receiver.py). The worker's clock is one the test holds still or
moves; backoffs of hours are crossed by moving `next_attempt_at`, never by sleeping. Signatures
carry the worker's clock, so the clock stays within the receivers' five minutes of real time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import OperationalError

from auth.admins.identity import Actor
from auth.partners.keyed_hash import KeyedHasher
from models.audit import AuditEvent
from models.credential import CredentialSecret
from models.enums import ActorType, AuditAction
from models.notifications import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.outbound import OutboundResult
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.settings import ConfigurationError, Settings
from partner_api.operations import webhook_delivery
from partner_api.operations.credentials import regenerate_secret
from partner_api.operations.notification_events import SUBSCRIBABLE
from partner_api.operations.webhook_delivery import WebhookWorker, claim_due
from partner_api.operations.webhook_endpoints import (
    EndpointChanges,
    create_endpoint,
    update_endpoint,
)
from partner_api.operations.webhook_outcomes import DISABLED_FOR_FAILING, Outcome, record_outcomes
from partner_api.operations.webhook_payload import MAX_ATTEMPTS, RETRY_DELAYS, retry_delay
from tests.helpers import TEST_KEY_ENCRYPTION_KEY, TEST_PEPPER, make_admin, make_credential
from tests.webhook_receiver import Receiver, serve_receiver

SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")
DEVELOPMENT = OutboundPolicy(production=False)
EVERY_TYPE = [kind.value for kind in SUBSCRIBABLE]


class Clock:
    """The worker's now: still unless the test moves it."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Hook:
    receiver: Receiver
    endpoint: WebhookEndpoint
    organisation: Organisation
    signing_secret: str


@pytest.fixture
async def hook(db: Any) -> AsyncIterator[Hook]:
    """An organisation with an endpoint subscribed to every type, pointing at a live receiver
    that knows the endpoint's signing secret."""
    async with serve_receiver() as receiver:
        _, organisation, _ = await make_admin()
        issued = await create_endpoint(
            TenantScope(organisation.id),
            SYSTEM,
            url=receiver.url,
            event_types=EVERY_TYPE,
            description=None,
            policy=DEVELOPMENT,
            key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
            now=utcnow(),
        )
        receiver.secret = issued.secret_value
        yield Hook(receiver, issued.endpoint, organisation, issued.secret_value)


def worker(settings: Settings, clock: Clock | None = None) -> WebhookWorker:
    return WebhookWorker(settings, clock=clock or Clock(), rng=random.Random(15))


async def only_delivery() -> WebhookDelivery:
    deliveries = await WebhookDelivery.all()
    assert len(deliveries) == 1, deliveries
    return deliveries[0]


async def reloaded(delivery: WebhookDelivery) -> WebhookDelivery:
    return await WebhookDelivery.get(id=delivery.id)


async def wait_until(condition: Callable[[], Awaitable[bool]], *, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        # Polled: nothing announces a row's change or a request's arrival.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def make_due(delivery: WebhookDelivery, now: datetime) -> None:
    """Cross the backoff without waiting: the retry is due now."""
    await WebhookDelivery.filter(id=delivery.id).update(next_attempt_at=now)


# -- what an attempt sends ----------------------------------------------------------------------


async def test_wh01_a_credential_change_is_delivered_once_signed_with_its_type_and_data(
    hook: Hook, settings: Settings
) -> None:
    issued = await make_credential(organisation=hook.organisation, name="Box office")
    delivery = await only_delivery()

    assert await worker(settings).deliver_due() == 1
    assert await worker(settings).deliver_due() == 0

    assert hook.receiver.unverified == []
    [received] = hook.receiver.received
    assert received.headers["webhook-id"] == f"msg_{delivery.id.hex}"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "partner-api-webhooks/1"
    assert abs(int(received.headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    # Compact JSON, as signed.
    assert b": " not in received.body
    assert b", " not in received.body
    credential = issued.credential
    assert received.message["type"] == "credential.created"
    assert received.message["timestamp"].endswith("Z")
    data = received.message["data"]
    assert data["organisation_id"] == str(hook.organisation.id)
    assert data["credential"] == {
        "id": str(credential.id),
        "name": "Box office",
        "client_id": credential.client_id,
    }
    delivery = await reloaded(delivery)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 204
    assert delivery.last_error is None
    assert delivery.finished_at is not None
    assert delivery.claimed_until is None


async def test_wh02_no_secret_hash_or_key_in_any_delivery(hook: Hook, settings: Settings) -> None:
    issued = await make_credential(organisation=hook.organisation)
    scope = TenantScope(hook.organisation.id)
    regenerated = await regenerate_secret(
        scope,
        SYSTEM,
        str(issued.credential.id),
        timedelta(hours=1),
        hasher=KeyedHasher((TEST_PEPPER,)),
        now=utcnow(),
    )
    hook.receiver.answer_next(500)
    clock = Clock()
    while await worker(settings, clock).deliver_due():
        clock.advance(timedelta(seconds=10))

    endpoint = await WebhookEndpoint.get(id=hook.endpoint.id)
    forbidden = {
        issued.secret_value,
        regenerated.secret_value,
        hook.signing_secret,
        hook.signing_secret.removeprefix("whsec_"),
        endpoint.sealed_secret,
        TEST_PEPPER.decode(),
        TEST_KEY_ENCRYPTION_KEY.decode(),
        *[row.secret_hash for row in await CredentialSecret.all()],
    }
    # Created and rotated; one of them answered 500 first and was sent again.
    assert len(hook.receiver.received) == 3
    sent = [
        text
        for item in hook.receiver.received
        for text in (item.body.decode(), *item.headers.values())
    ]
    stored = [str(row.last_error) for row in await WebhookDelivery.all()]
    for value in forbidden:
        assert not any(value in text for text in sent + stored), "a secret went out"


async def test_a_failed_attempt_is_retried_after_its_backoff_with_the_same_webhook_id(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    hook.receiver.answer_next(500)
    clock = Clock()
    delivering = worker(settings, clock)

    assert await delivering.deliver_due() == 1
    delivery = await only_delivery()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.last_error == "unexpected status 500"
    assert delivery.claimed_until is None
    backoff = delivery.next_attempt_at - clock.now
    assert RETRY_DELAYS[0] * 0.8 <= backoff <= RETRY_DELAYS[0] * 1.2
    endpoint = await WebhookEndpoint.get(id=hook.endpoint.id)
    assert endpoint.failing_since == clock.now

    # Not before the backoff has passed...
    clock.advance(backoff - timedelta(milliseconds=1))
    assert await delivering.deliver_due() == 0
    # ...then once.
    clock.advance(timedelta(milliseconds=1))
    assert await delivering.deliver_due() == 1

    delivery = await reloaded(delivery)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    first, second = hook.receiver.received
    assert first.webhook_id == second.webhook_id == f"msg_{delivery.id.hex}"
    assert first.body == second.body
    # A success ends the endpoint's failing spell.
    await endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_retries_back_off_with_jitter_over_about_a_day_then_stop() -> None:
    rng = random.Random(7)
    for _ in range(200):
        delays = [retry_delay(attempt, rng) for attempt in range(1, MAX_ATTEMPTS + 1)]
        assert delays[-1] is None
        spaced = [delay for delay in delays if delay is not None]
        assert len(spaced) == len(RETRY_DELAYS) == MAX_ATTEMPTS - 1
        for delay, nominal in zip(spaced, RETRY_DELAYS, strict=True):
            assert nominal * 0.8 <= delay <= nominal * 1.2
        assert timedelta(hours=22) <= sum(spaced, timedelta()) <= timedelta(hours=34)
    # Jitter: endpoints that failed together do not all come back together.
    assert len({retry_delay(3, rng) for _ in range(20)}) == 20


async def test_a_delivery_that_fails_every_attempt_ends_failed(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    clock = Clock()
    delivering = worker(settings, clock)
    delivery = await only_delivery()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        hook.receiver.answer_next(503)
        await make_due(delivery, clock.now)
        assert await delivering.deliver_due() == 1
        delivery = await reloaded(delivery)
        assert delivery.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert delivery.status is DeliveryStatus.PENDING
            nominal = RETRY_DELAYS[attempt - 1]
            assert nominal * 0.8 <= delivery.next_attempt_at - clock.now <= nominal * 1.2

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.finished_at == clock.now
    assert delivery.last_status_code == 503
    await make_due(delivery, clock.now)
    assert await delivering.deliver_due() == 0
    assert len(hook.receiver.ids()) == 1
    assert hook.receiver.ids()[f"msg_{delivery.id.hex}"] == MAX_ATTEMPTS
    # Failing for seconds is not failing for a day: the endpoint stays on.
    assert (await WebhookEndpoint.get(id=hook.endpoint.id)).enabled


async def test_a_redirect_is_a_recorded_failure_and_is_not_followed(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    hook.receiver.answer_next(307)

    assert await worker(settings).deliver_due() == 1

    delivery = await only_delivery()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_status_code == 307
    assert delivery.last_error == "redirect not followed (307)"
    assert hook.receiver.followed_redirects == 0


async def test_production_refuses_a_loopback_receiver_and_records_why(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)

    assert await worker(replace(settings, env="production")).deliver_due() == 1

    delivery = await only_delivery()
    assert hook.receiver.arrivals == 0
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("refused: ")
    assert delivery.next_attempt_at > delivery.last_attempt_at  # type: ignore[operator]


async def test_a_secret_no_configured_key_opens_is_a_recorded_failure_and_nothing_is_sent(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    other_key = b"another-key-encryption-key-0123456789abcdef"

    rotated_without_previous = replace(settings, key_encryption_key=other_key)
    assert await worker(rotated_without_previous).deliver_due() == 1
    delivery = await only_delivery()
    assert delivery.last_error == "the signing secret cannot be opened"
    assert hook.receiver.arrivals == 0

    # During a key-encryption-key rotation the previous key still opens it.
    rotating = replace(
        settings,
        key_encryption_key=other_key,
        previous_key_encryption_keys=(TEST_KEY_ENCRYPTION_KEY,),
    )
    await make_due(delivery, utcnow())
    assert await worker(rotating).deliver_due() == 1
    delivery = await reloaded(delivery)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert hook.receiver.unverified == []


# -- endpoints that keep failing ----------------------------------------------------------------


async def test_an_endpoint_failing_for_more_than_a_day_is_disabled_by_the_system(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    clock = Clock()
    delivering = worker(settings, clock)
    delivery = await only_delivery()
    hook.receiver.answer_next(500, 500, 500)
    assert await delivering.deliver_due() == 1
    endpoint = await WebhookEndpoint.get(id=hook.endpoint.id)
    assert endpoint.failing_since == clock.now

    # Failing for just under a day: still enabled.
    await WebhookEndpoint.filter(id=endpoint.id).update(
        failing_since=clock.now - timedelta(hours=23, minutes=59)
    )
    await make_due(delivery, clock.now)
    assert await delivering.deliver_due() == 1
    await endpoint.refresh_from_db()
    assert endpoint.enabled
    assert await AuditEvent.filter(action=AuditAction.WEBHOOK_ENDPOINT_DISABLED).count() == 0

    # The first failure of the spell was more than a day ago: this failure disables it.
    await WebhookEndpoint.filter(id=endpoint.id).update(
        failing_since=clock.now - timedelta(hours=24, seconds=1)
    )
    await make_due(delivery, clock.now)
    assert await delivering.deliver_due() == 1
    await endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_at == clock.now
    assert endpoint.disabled_reason == DISABLED_FOR_FAILING
    [event] = await AuditEvent.filter(action=AuditAction.WEBHOOK_ENDPOINT_DISABLED)
    assert event.organisation_id == hook.organisation.id
    assert event.actor_type is ActorType.SYSTEM
    assert event.actor_label == "system"
    assert event.after == {
        "endpointId": str(endpoint.id),
        "enabled": False,
        "disabledReason": DISABLED_FOR_FAILING,
    }
    # Its deliveries wait, neither sent nor given up.
    delivery = await reloaded(delivery)
    assert delivery.status is DeliveryStatus.PENDING
    await make_due(delivery, clock.now)
    assert await delivering.deliver_due() == 0
    assert len(hook.receiver.received) == 3


async def test_a_disabled_endpoints_deliveries_wait_until_it_is_enabled_again(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    delivery = await only_delivery()
    scope = TenantScope(hook.organisation.id)
    await update_endpoint(
        scope,
        SYSTEM,
        str(hook.endpoint.id),
        EndpointChanges(enabled=False),
        policy=DEVELOPMENT,
        now=utcnow(),
    )

    assert await worker(settings).deliver_due() == 0
    assert hook.receiver.arrivals == 0
    delivery = await reloaded(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)

    await update_endpoint(
        scope,
        SYSTEM,
        str(hook.endpoint.id),
        EndpointChanges(enabled=True),
        policy=DEVELOPMENT,
        now=utcnow(),
    )
    assert await worker(settings).deliver_due() == 1
    delivery = await reloaded(delivery)
    assert delivery.status is DeliveryStatus.DELIVERED


# -- claims: each attempt by one worker, at least once ------------------------------------------


async def test_wh04_a_lease_left_by_a_crashed_worker_runs_out_and_the_attempt_is_made_again(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    delivery = await only_delivery()
    clock = Clock()
    # A worker claimed the first attempt and died before recording anything.
    await WebhookDelivery.filter(id=delivery.id).update(
        attempts=1, claimed_until=clock.now + timedelta(seconds=settings.webhooks.lease_seconds)
    )

    assert await worker(settings, clock).deliver_due() == 0
    assert hook.receiver.arrivals == 0

    clock.advance(timedelta(seconds=settings.webhooks.lease_seconds, milliseconds=1))
    assert await worker(settings, clock).deliver_due() == 1
    delivery = await reloaded(delivery)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert hook.receiver.ids() == {f"msg_{delivery.id.hex}": 1}


async def test_wh04_workers_claiming_together_attempt_each_delivery_once(
    hook: Hook, settings: Settings
) -> None:
    for index in range(60):
        await make_credential(organisation=hook.organisation, name=f"Partner {index}")
    clock = Clock()
    workers = [worker(settings, clock) for _ in range(4)]

    rounds = 0
    while await WebhookDelivery.filter(status=DeliveryStatus.PENDING).exists():
        attempted = await asyncio.gather(*(each.deliver_due() for each in workers))
        assert sum(attempted) > 0
        rounds += 1

    deliveries = await WebhookDelivery.all()
    assert len(deliveries) == 60
    assert {row.status for row in deliveries} == {DeliveryStatus.DELIVERED}
    assert {row.attempts for row in deliveries} == {1}
    assert hook.receiver.ids() == {f"msg_{row.id.hex}": 1 for row in deliveries}
    assert hook.receiver.unverified == []
    print(f"60 deliveries by 4 workers in {rounds} rounds")


async def test_wh04_an_overtaken_attempt_does_not_overwrite_the_one_that_overtook_it(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    clock = Clock()
    lease = timedelta(seconds=settings.webhooks.lease_seconds)
    [slow], _ = await claim_due(clock.now, limit=1, lease=lease)
    clock.advance(lease + timedelta(seconds=1))
    [fast], _ = await claim_due(clock.now, limit=1, lease=lease)
    assert (slow.attempts, fast.attempts) == (1, 2)

    answered = OutboundResult(204, 12, None)
    await record_outcomes([Outcome(fast, answered, clock.now, clock.now)], random.Random(1))
    # The first worker's answer arrives late, and is a failure: it changes nothing.
    late = OutboundResult(500, 9000, "unexpected status 500")
    await record_outcomes([Outcome(slow, late, clock.now, clock.now)], random.Random(1))
    delivery = await only_delivery()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (2, 204)


async def test_a_stopped_worker_claims_nothing_more_and_finishes_the_attempts_in_flight(
    hook: Hook, settings: Settings
) -> None:
    await make_credential(organisation=hook.organisation)
    hook.receiver.delay_seconds = 0.3
    stop = asyncio.Event()
    running = asyncio.create_task(worker(settings).run(stop))
    await wait_until(_arrived(hook.receiver), seconds=10)
    stop.set()
    await asyncio.wait_for(running, timeout=10)

    delivery = await only_delivery()
    assert delivery.status is DeliveryStatus.DELIVERED

    await make_credential(organisation=hook.organisation, name="After the stop")
    await asyncio.sleep(0.2)
    assert hook.receiver.arrivals == 1


async def test_a_running_worker_delivers_what_is_recorded_while_it_runs(
    hook: Hook, settings: Settings
) -> None:
    polling = replace(settings, webhooks=replace(settings.webhooks, poll_milliseconds=20))
    stop = asyncio.Event()
    running = asyncio.create_task(WebhookWorker(polling).run(stop))
    try:
        for index in range(40):
            await make_credential(organisation=hook.organisation, name=f"Partner {index}")
        await wait_until(_delivered(40), seconds=20)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert len(hook.receiver.ids()) == 40
    assert set(hook.receiver.ids().values()) == {1}


# -- settings -----------------------------------------------------------------------------------


def test_worker_settings_are_read_from_the_environment_and_bounded() -> None:
    base = {
        "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
        "PARTNER_API_KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY.decode(),
    }
    defaults = Settings.from_env(base).webhooks
    assert (defaults.embedded, defaults.poll_milliseconds, defaults.lease_seconds) == (
        True,
        500,
        30,
    )
    assert defaults.concurrency == 16
    configured = Settings.from_env(
        {
            **base,
            "PARTNER_API_EMBEDDED_WORKER": "false",
            "PARTNER_API_WEBHOOK_POLL_MILLISECONDS": "50",
            "PARTNER_API_WEBHOOK_LEASE_SECONDS": "60",
            "PARTNER_API_WEBHOOK_CONCURRENCY": "4",
        }
    ).webhooks
    assert (configured.embedded, configured.poll_milliseconds) == (False, 50)
    assert (configured.lease_seconds, configured.concurrency) == (60, 4)
    # A lease shorter than an attempt's 5-second budget would invite repeated attempts.
    with pytest.raises(ConfigurationError, match="PARTNER_API_WEBHOOK_LEASE_SECONDS"):
        Settings.from_env({**base, "PARTNER_API_WEBHOOK_LEASE_SECONDS": "5"})


def _arrived(receiver: Receiver) -> Callable[[], Awaitable[bool]]:
    async def arrived() -> bool:
        return receiver.arrivals > 0

    return arrived


def _delivered(count: int) -> Callable[[], Awaitable[bool]]:
    async def delivered() -> bool:
        return await WebhookDelivery.filter(status=DeliveryStatus.DELIVERED).count() >= count

    return delivered


async def test_outcomes_stored_together_keep_the_endpoints_failing_spell_in_finishing_order(
    hook: Hook, settings: Settings
) -> None:
    for index in range(4):
        await make_credential(organisation=hook.organisation, name=f"Partner {index}")
    clock = Clock()
    lease = timedelta(seconds=settings.webhooks.lease_seconds)
    first, second, third, fourth = (await claim_due(clock.now, limit=4, lease=lease))[0]
    answered = OutboundResult(204, 5, None)
    refused = OutboundResult(503, 5, "unexpected status 503")
    later = clock.now + timedelta(seconds=1)

    # A failure, then a success: the spell is over.
    await record_outcomes(
        [Outcome(second, answered, later, later), Outcome(first, refused, clock.now, clock.now)],
        random.Random(1),
    )
    endpoint = await WebhookEndpoint.get(id=hook.endpoint.id)
    assert endpoint.failing_since is None
    # A success, then a failure: failing since that failure.
    await record_outcomes(
        [Outcome(fourth, refused, later, later), Outcome(third, answered, clock.now, clock.now)],
        random.Random(1),
    )
    endpoint = await WebhookEndpoint.get(id=hook.endpoint.id)
    assert endpoint.failing_since == later
    statuses = {row.id: row.status for row in await WebhookDelivery.all()}
    assert [statuses[row.id] for row in (first, second, third, fourth)] == [
        DeliveryStatus.PENDING,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.PENDING,
    ]


async def test_a_worker_rides_out_a_database_outage_logging_it_once(
    hook: Hook,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_credential(organisation=hook.organisation)
    real_claim_due = webhook_delivery.claim_due
    polls_while_down = 5

    async def claim_due_during_an_outage(*args: Any, **kwargs: Any) -> Any:
        nonlocal polls_while_down
        if polls_while_down:
            polls_while_down -= 1
            raise OperationalError("connection refused")
        return await real_claim_due(*args, **kwargs)

    monkeypatch.setattr(webhook_delivery, "claim_due", claim_due_during_an_outage)
    polling = replace(settings, webhooks=replace(settings.webhooks, poll_milliseconds=10))
    stop = asyncio.Event()
    running = asyncio.create_task(WebhookWorker(polling).run(stop))
    try:
        await wait_until(_delivered(1), seconds=10)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)

    assert polls_while_down == 0
    messages = [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "partner_api.webhooks"
    ]
    assert messages == [
        ("ERROR", "webhook worker: cannot claim deliveries; retrying each poll"),
        ("WARNING", "webhook worker: claiming deliveries again"),
    ]

"""Recording what webhook attempts came to: the delivery's state, the endpoint's failing spell,
and disabling an endpoint that has failed for more than a day.

Outcomes are written together: `OutcomeLog` collects those that finish while a write is under way
and stores them in the next transaction (a group commit), so a busy worker commits a few times a
batch instead of once an attempt. Within a transaction the endpoints are written first, in id
order, then the deliveries, in id order: every writer (other workers, an admin deleting an
endpoint and its deliveries) takes the rows in an order that cannot form a cycle on PostgreSQL.

An outcome is stored only while the delivery still carries the attempt count of its claim, so a
worker whose lease ran out and was overtaken does not overwrite the newer attempt. What the
endpoint did (answered, or failed) is recorded on it either way: it is true of the endpoint.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.enums import AuditAction
from models.notifications import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from partner_api.foundation.outbound import OutboundResult
from partner_api.operations import audit
from partner_api.operations.mail import enqueue_endpoint_disabled
from partner_api.operations.webhook_payload import retry_delay

logger = logging.getLogger("partner_api.webhooks")

DISABLE_AFTER = timedelta(days=1)
DISABLED_FOR_FAILING = "Every delivery failed for more than a day."
ERROR_MAX_LENGTH = 200
SYSTEM = Actor(identity=None, ip_address=None, user_agent=None)


@dataclass(frozen=True)
class Outcome:
    """What attempt number `delivery.attempts`, claimed by this worker, came to."""

    delivery: WebhookDelivery
    result: OutboundResult
    attempted_at: datetime
    finished_at: datetime


async def _failed(endpoint: WebhookEndpoint, *, first: datetime, last: datetime) -> None:
    """Failures from `first` to `last`: the endpoint is failing since the first failure after a
    success, and is disabled once that is more than a day before a failure."""
    await WebhookEndpoint.filter(id=endpoint.id, failing_since__isnull=True).update(
        failing_since=first
    )
    disabled = await WebhookEndpoint.filter(
        id=endpoint.id, enabled=True, failing_since__lt=last - DISABLE_AFTER
    ).update(enabled=False, disabled_at=last, disabled_reason=DISABLED_FOR_FAILING)
    if not disabled:
        return
    identified = {"endpointId": str(endpoint.id)}
    await audit.record(
        AuditAction.WEBHOOK_ENDPOINT_DISABLED,
        organisation_id=endpoint.organisation_id,  # type: ignore[attr-defined]
        actor=SYSTEM,
        before={**identified, "enabled": True},
        after={**identified, "enabled": False, "disabledReason": DISABLED_FOR_FAILING},
    )
    # The organisation's security contacts are told, in the same transaction.
    await enqueue_endpoint_disabled(endpoint, DISABLED_FOR_FAILING, last)
    logger.warning(
        "webhook endpoint %s disabled: it failed for more than a day",
        endpoint.id,
        extra={"endpoint_id": str(endpoint.id)},
    )


async def _record_endpoints(outcomes: Sequence[Outcome]) -> None:
    in_order = sorted(outcomes, key=lambda item: (item.delivery.endpoint.id, item.finished_at))
    for _, of_endpoint in itertools.groupby(in_order, key=lambda item: item.delivery.endpoint.id):
        # Each run of successes, or of failures, in the order they finished.
        for answered, run in itertools.groupby(of_endpoint, key=lambda item: item.result.ok):
            spell = list(run)
            endpoint = spell[0].delivery.endpoint
            if answered:
                await WebhookEndpoint.filter(id=endpoint.id, failing_since__isnull=False).update(
                    failing_since=None
                )
            else:
                await _failed(endpoint, first=spell[0].finished_at, last=spell[-1].finished_at)


async def _record_delivery(outcome: Outcome, rng: random.Random) -> None:
    delivery, result = outcome.delivery, outcome.result
    error = None if result.error is None else result.error[:ERROR_MAX_LENGTH]
    observed = {
        "claimed_until": None,
        "last_attempt_at": outcome.attempted_at,
        "last_status_code": result.status_code,
        "last_latency_ms": result.latency_ms,
        "last_error": error,
    }
    mine = WebhookDelivery.filter(
        id=delivery.id, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    )
    finished = outcome.finished_at
    if result.ok:
        await mine.update(status=DeliveryStatus.DELIVERED, finished_at=finished, **observed)
        return
    logger.info(
        "webhook attempt %d of delivery %s failed: %s",
        delivery.attempts,
        delivery.id,
        error,
        extra={"delivery_id": str(delivery.id), "endpoint_id": str(delivery.endpoint.id)},
    )
    delay = retry_delay(delivery.attempts, rng)
    if delay is None:
        await mine.update(status=DeliveryStatus.FAILED, finished_at=finished, **observed)
    else:
        await mine.update(next_attempt_at=finished + delay, **observed)


async def record_outcomes(outcomes: Sequence[Outcome], rng: random.Random) -> None:
    """Store `outcomes` in one transaction: a retry after the backoff of `retry_delay`, FAILED
    after the last attempt, DELIVERED on a 2xx."""
    async with in_transaction():
        await _record_endpoints(outcomes)
        for outcome in sorted(outcomes, key=lambda item: item.delivery.id):
            await _record_delivery(outcome, rng)


class OutcomeLog:
    """Group commit: `record` returns once the outcome is stored, together with every other
    outcome that arrived while the previous write was under way."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._waiting: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, outcome: Outcome) -> None:
        stored = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, stored))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        await stored

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await record_outcomes([outcome for outcome, _ in batch], self._rng)
            except Exception as error:
                for _, stored in batch:
                    if not stored.done():
                        stored.set_exception(error)
            except BaseException:
                for _, stored in batch:
                    stored.cancel()
                raise
            else:
                for _, stored in batch:
                    if not stored.done():
                        stored.set_result(None)

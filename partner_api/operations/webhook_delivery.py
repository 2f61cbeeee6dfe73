"""Delivering webhooks: at least once, each attempt made by one worker only (WH-04).

    WebhookWorker.run                  each poll, or at once while due deliveries wait
     ├── claim_due                     PENDING, due, lease free, endpoint enabled
     │    └── one UPDATE per candidate WHERE id = … AND attempts = <as read> AND lease free
     └── attempt                       up to `concurrency` at once
          ├── webhook_payload          body, Standard Webhooks signature, same webhook-id on retries
          ├── outbound.post            WH-03: address vetted on every attempt, no redirects, 5 s
          └── webhook_outcomes         DELIVERED | again after a backoff | FAILED after the last;
                                       the endpoint's failing spell; disabled after a day failing

A claim is a compare-and-set on the attempt count the candidate was read with: however many
workers (processes or tasks) read the same candidate, exactly one UPDATE changes the row, on SQLite
and PostgreSQL alike, and no lock is held during the request. The winner's lease
(`claimed_until`) keeps the row from being a candidate again until the outcome is recorded. A
worker that dies mid-attempt leaves its lease to run out, and the attempt is made again: at least
once, so receivers deduplicate by `webhook-id`. An outcome is recorded only while the row still
carries the attempt count of its claim (partner_api/operations/webhook_outcomes.py).

Where it runs: in every `partner-api serve` process by default, and in `partner-api worker`
processes (partner_api/cli/worker.py); any number may run against one database.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from models.notifications import DeliveryStatus, WebhookDelivery
from partner_api.foundation.clock import utcnow
from partner_api.foundation.outbound import OutboundResult, post
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.sealed import SealError
from partner_api.foundation.settings import Settings
from partner_api.operations.leases import claim, due
from partner_api.operations.webhook_outcomes import Outcome, OutcomeLog
from partner_api.operations.webhook_payload import message_id, payload, signed_headers
from partner_api.operations.webhook_settings import signing_secret

logger = logging.getLogger("partner_api.webhooks")

PENDING = DeliveryStatus.PENDING


async def claim_due(
    now: datetime, *, limit: int, lease: timedelta
) -> tuple[list[WebhookDelivery], bool]:
    """Up to `limit` due deliveries, each claimed by this caller alone (leases.py), with their
    endpoint and event loaded; and whether the candidates filled `limit` (more may be waiting)."""
    candidates = await (
        WebhookDelivery.filter(due(now), endpoint__enabled=True)
        .order_by("next_attempt_at")
        .limit(limit)
        .select_related("endpoint", "event")
    )
    claimed = await claim(WebhookDelivery, candidates, now=now, lease=lease)
    return claimed, len(candidates) == limit


class WebhookWorker:
    """Claims due deliveries and attempts them, `settings.webhooks.concurrency` at a time."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._outcomes = OutcomeLog(rng or random.Random())  # noqa: S311 (jitter, not a secret)
        self._policy = OutboundPolicy(production=settings.production)
        self._keys = (settings.key_encryption_key, *settings.previous_key_encryption_keys)
        self._lease = timedelta(seconds=settings.webhooks.lease_seconds)
        self._poll_seconds = settings.webhooks.poll_milliseconds / 1000
        self._concurrency = settings.webhooks.concurrency
        self.attempts_made = 0
        self._claims_failing = False

    async def attempt(self, delivery: WebhookDelivery) -> None:
        """One attempt of a delivery this worker claimed, and its outcome recorded."""
        endpoint = delivery.endpoint
        attempted_at = self._clock()
        self.attempts_made += 1
        try:
            secret = signing_secret(endpoint, keys=self._keys)
        except SealError:
            result = OutboundResult(None, 0, "the signing secret cannot be opened")
        else:
            body = payload(delivery.event)
            headers = signed_headers(secret, message_id(delivery.id), attempted_at, body)
            result = await post(endpoint.url, body, headers, self._policy)
        await self._outcomes.record(Outcome(delivery, result, attempted_at, self._clock()))

    async def _attempt_logged(self, delivery: WebhookDelivery) -> None:
        try:
            await self.attempt(delivery)
        except Exception:
            # The lease runs out and the attempt is made again.
            logger.exception("webhook delivery %s: attempt not recorded", delivery.id)

    async def deliver_due(self) -> int:
        """Claim one batch of due deliveries and attempt them all; how many were attempted."""
        claimed, _ = await claim_due(self._clock(), limit=self._concurrency, lease=self._lease)
        await asyncio.gather(*(self._attempt_logged(delivery) for delivery in claimed))
        return len(claimed)

    async def _claim(self, limit: int) -> tuple[list[WebhookDelivery], bool]:
        try:
            claimed = await claim_due(self._clock(), limit=limit, lease=self._lease)
        except Exception:
            # Once per outage (the database down, say), not at every poll.
            if not self._claims_failing:
                logger.exception("webhook worker: cannot claim deliveries; retrying each poll")
            self._claims_failing = True
            return [], False
        if self._claims_failing:
            logger.warning("webhook worker: claiming deliveries again")
        self._claims_failing = False
        return claimed

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then finish the attempts in flight."""
        in_flight: set[asyncio.Task[None]] = set()
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                claimed: list[WebhookDelivery] = []
                backlog = False
                free = self._concurrency - len(in_flight)
                if free > 0:
                    claimed, backlog = await self._claim(free)
                for delivery in claimed:
                    task = asyncio.create_task(self._attempt_logged(delivery))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if len(in_flight) >= self._concurrency:
                    # Busy: claim again as soon as a slot frees.
                    await asyncio.wait({stopping, *in_flight}, return_when=asyncio.FIRST_COMPLETED)
                elif not (backlog and claimed):
                    # Idle, or the waiting ones went to another worker: the next poll.
                    await asyncio.wait({stopping}, timeout=self._poll_seconds)
        finally:
            stopping.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

"""Webhook delivery settings: where the worker runs and how hard it works
(partner_api/operations/webhook_delivery.py)."""

from __future__ import annotations

from dataclasses import dataclass

from partner_api.foundation.settings_reader import EnvironmentReader


@dataclass(frozen=True, kw_only=True)
class WebhookWorkerSettings:
    # `partner-api serve` runs a worker in each process; off when separate `partner-api worker`
    # processes deliver instead.
    embedded: bool = True
    # How often an idle worker looks for due deliveries.
    poll_milliseconds: int = 500
    # How long a claimed attempt belongs to its worker. Longer than an attempt can take (the
    # 5-second request budget plus its bookkeeping): a worker that dies mid-attempt delays that
    # delivery by this much, and a shorter lease could let a second worker repeat a slow attempt.
    lease_seconds: int = 30
    # Attempts in flight at once per worker.
    concurrency: int = 16


def read_webhook_worker(reader: EnvironmentReader) -> WebhookWorkerSettings:
    defaults = WebhookWorkerSettings()
    return WebhookWorkerSettings(
        embedded=reader.flag("PARTNER_API_EMBEDDED_WORKER", defaults.embedded),
        poll_milliseconds=reader.integer(
            "PARTNER_API_WEBHOOK_POLL_MILLISECONDS",
            defaults.poll_milliseconds,
            10,
            maximum=60_000,
        ),
        lease_seconds=reader.integer(
            "PARTNER_API_WEBHOOK_LEASE_SECONDS", defaults.lease_seconds, 10, maximum=3600
        ),
        concurrency=reader.integer(
            "PARTNER_API_WEBHOOK_CONCURRENCY", defaults.concurrency, 1, maximum=256
        ),
    )

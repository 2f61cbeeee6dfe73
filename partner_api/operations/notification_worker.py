"""Everything a notification worker does, run together until told to stop: deliver webhooks
(webhook_delivery.py), send the mail that is due (mail.py) and, once a minute, record the
time-based events that are due (notification_scan.py). `partner-api serve` runs it in each
process by default, `partner-api worker` on its own; several may run at once (every part claims
its work or records it once).
"""

from __future__ import annotations

import asyncio
import logging

from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.lifecycle import LifecycleWindows
from partner_api.operations.mail import BATCH as MAIL_BATCH
from partner_api.operations.mail import send_due_mail
from partner_api.operations.notification_scan import scan
from partner_api.operations.webhook_delivery import WebhookWorker

logger = logging.getLogger("partner_api.notifications")

SCAN_INTERVAL_SECONDS = 60.0


async def run_notification_work(
    settings: Settings, stop: asyncio.Event, *, webhook_worker: WebhookWorker | None = None
) -> None:
    worker = webhook_worker or WebhookWorker(settings)
    await asyncio.gather(
        worker.run(stop), scan_periodically(settings, stop), send_mail_periodically(settings, stop)
    )


async def send_mail_periodically(settings: Settings, stop: asyncio.Event) -> None:
    """Due mail, at the webhook poll interval; at once again while a full batch went out."""
    interval = settings.webhooks.poll_milliseconds / 1000
    failing = False
    while not stop.is_set():
        sent = 0
        try:
            sent = await send_due_mail(settings, now=utcnow())
        except Exception:
            if not failing:
                logger.exception("mail sending failed; retrying each poll")
            failing = True
        else:
            failing = False
        if sent >= MAIL_BATCH:
            continue
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue


async def scan_periodically(
    settings: Settings, stop: asyncio.Event, *, interval: float = SCAN_INTERVAL_SECONDS
) -> None:
    windows = LifecycleWindows.from_settings(settings)
    while not stop.is_set():
        try:
            recorded = await scan(now=utcnow(), windows=windows)
        except Exception:
            logger.exception("notification scan failed; retrying at the next interval")
        else:
            if recorded:
                logger.info("notification scan recorded %d events", recorded)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue

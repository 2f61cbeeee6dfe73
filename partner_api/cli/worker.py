"""`partner-api worker`: deliver webhooks and record time-based notifications
(partner_api/operations/notification_worker.py), serve nothing, until SIGTERM or SIGINT.

Any number may run beside the `serve` processes (each attempt is claimed by one process:
partner_api/operations/webhook_delivery.py). It does not migrate: it expects the database that
`partner-api migrate` or `serve` prepared, and says so rather than starting on an older schema.
On a stop signal it claims nothing more and finishes the attempts in flight.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import signal

from tortoise import Tortoise, connections
from tortoise.migrations.executor import MigrationExecutor

from auth.partners.key_fingerprints import verify_key_material
from partner_api.cli.commands import CommandError
from partner_api.foundation.database import schema_lock, tortoise_config
from partner_api.foundation.settings import Settings
from partner_api.operations.notification_worker import run_notification_work
from partner_api.operations.webhook_delivery import WebhookWorker
from partner_api.web.observability.log_format import logging_config

logger = logging.getLogger("partner_api.webhooks")


async def _require_current_schema(config: dict[str, object]) -> None:
    apps = config["apps"]
    assert isinstance(apps, dict)
    pending = await MigrationExecutor(connections.get("default"), apps).plan()
    if pending:
        raise CommandError(
            f"the database lacks {len(pending)} migration(s): run `partner-api migrate` first"
        )


async def run_worker(settings: Settings) -> None:
    config = tortoise_config(settings.database_url)
    await Tortoise.init(config=config)
    try:
        await _require_current_schema(config)
        # The key-encryption key opens the endpoints' signing secrets: refuse one the database
        # does not know, as `serve` does, rather than fail every attempt.
        async with schema_lock(settings.database_url):
            await verify_key_material(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, stop.set)
        logger.info(
            "webhook worker started",
            extra={
                "concurrency": settings.webhooks.concurrency,
                "poll_milliseconds": settings.webhooks.poll_milliseconds,
            },
        )
        webhook_worker = WebhookWorker(settings)
        await run_notification_work(settings, stop, webhook_worker=webhook_worker)
        logger.info(
            "webhook worker stopped after %d attempts",
            webhook_worker.attempts_made,
            extra={"attempts": webhook_worker.attempts_made},
        )
    finally:
        await Tortoise.close_connections()


def worker(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
    asyncio.run(run_worker(settings))

"""Webhook delivery throughput: `partner-api worker` processes sending recorded events to a local
receiver that answers 204 at once; prints deliveries per second.

    python -m bench.webhooks [--events 2000] [--workers 1] [--database-url URL]

The rate is measured between the first and the last delivery's `finished_at`, so process start-up
is not counted. Without `--database-url`, a throw-away SQLite file. The target is 200 deliveries a
second from one worker (issue 15).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from starlette.types import Receive, Scope, Send
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from bench.common import KEK, PEPPER, ROOT, free_port, serve, uvicorn_command
from models.notifications import DeliveryStatus, NotificationType, WebhookDelivery
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, tortoise_config
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.operations import notification_events
from partner_api.operations.webhook_endpoints import create_endpoint

TARGET_PER_SECOND = 200


async def receiver(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body and answers 204: the cheapest receiver, so the worker is what is measured."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def prepare(database_url: str, url: str, events: int) -> None:
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        organisation = await Organisation.create(name="Webhook bench")
        await create_endpoint(
            TenantScope(organisation.id),
            Actor(identity=None, ip_address=None, user_agent="bench"),
            url=url,
            event_types=[NotificationType.CREDENTIAL_UPDATED.value],
            description=None,
            policy=OutboundPolicy(production=False),
            key_encryption_key=KEK.encode(),
            now=utcnow(),
        )
        async with in_transaction():
            for sequence in range(events):
                await notification_events.record(
                    NotificationType.CREDENTIAL_UPDATED,
                    organisation_id=organisation.id,
                    credential=None,
                    facts={"sequence": sequence},
                    now=utcnow(),
                )
    finally:
        await Tortoise.close_connections()


async def measure(database_url: str) -> tuple[int, float]:
    """(delivered, seconds between the first and the last) once every delivery has finished."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        # Polled: the workers are other processes.
        while await WebhookDelivery.filter(status=DeliveryStatus.PENDING).exists():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        finished = sorted(
            row.finished_at
            for row in await WebhookDelivery.filter(status=DeliveryStatus.DELIVERED)
            if row.finished_at is not None
        )
        return len(finished), (finished[-1] - finished[0]).total_seconds()
    finally:
        await Tortoise.close_connections()


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--events", type=int, default=2000)
    arguments.add_argument("--workers", type=int, default=1)
    arguments.add_argument("--database-url")
    options = arguments.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        database_url = options.database_url or f"sqlite://{directory}/bench.sqlite3"
        port = free_port()
        env = {
            "DATABASE_URL": database_url,
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEK,
            "PARTNER_API_DATA_DIR": str(directory),
            "PARTNER_API_LOG_LEVEL": "warning",
        }
        receiver_command = uvicorn_command(sys.executable, "bench.webhooks:receiver", port, ROOT)
        with serve(receiver_command, port, {}, ROOT):
            asyncio.run(prepare(database_url, f"http://127.0.0.1:{port}/hook", options.events))
            cli = str(Path(sys.executable).parent / "partner-api")
            started = time.monotonic()
            workers = [
                subprocess.Popen([cli, "worker"], env={**os.environ, **env}, cwd=directory)
                for _ in range(options.workers)
            ]
            try:
                delivered, seconds = asyncio.run(measure(database_url))
            finally:
                for worker in workers:
                    worker.terminate()
                    worker.wait(timeout=30)
        rate = (delivered - 1) / seconds if seconds else float("inf")
        print(
            f"{delivered} of {options.events} deliveries by {options.workers} worker(s) in "
            f"{seconds:.2f} s: {rate:.0f} deliveries/s (target {TARGET_PER_SECOND}/s from one "
            f"worker; {time.monotonic() - started:.1f} s with start-up)"
        )


if __name__ == "__main__":
    main()

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
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Receive, Scope, Send
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from bench.common import KEK, PEPPER, ROOT, free_port, peak_rss_mib, serve, uvicorn_command
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


@dataclass(frozen=True)
class Throughput:
    """What one run measured: deliveries made, the seconds between the first and the last, the
    rate over that span, and the workers' peak RSS."""

    events: int
    workers: int
    delivered: int
    seconds: float
    per_second: float
    with_start_up_seconds: float
    worker_peak_rss_mib: float

    def describe(self) -> str:
        return (
            f"{self.delivered} of {self.events} deliveries by {self.workers} worker(s) in "
            f"{self.seconds:.2f} s: {self.per_second:.0f} deliveries/s (target "
            f"{TARGET_PER_SECOND}/s from one worker; {self.with_start_up_seconds:.1f} s with "
            f"start-up; worker peak RSS {self.worker_peak_rss_mib:.0f} MiB)"
        )


async def wait_until_sent(database_url: str) -> tuple[int, float]:
    """(delivered, seconds between the first and the last) once no delivery is pending."""
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
        if len(finished) < 2:
            return len(finished), 0.0
        return len(finished), (finished[-1] - finished[0]).total_seconds()
    finally:
        await Tortoise.close_connections()


def measure(
    directory: Path, *, events: int, workers: int = 1, database_url: str | None = None
) -> Throughput:
    """Record `events` events for one endpoint on a local receiver, start `workers` `partner-api
    worker` processes, and time the deliveries. Without `database_url`, an SQLite file in
    `directory`; the receiver's and the workers' logs go to files there."""
    database_url = database_url or f"sqlite://{directory}/webhooks.sqlite3"
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "PARTNER_API_SECRET_PEPPER": PEPPER,
        "PARTNER_API_KEY_ENCRYPTION_KEY": KEK,
        "PARTNER_API_DATA_DIR": str(directory),
        # As `partner-api worker` logs in production (JSON lines at INFO), to a file.
        "PARTNER_API_LOG_FORMAT": "json",
    }
    receiver_command = uvicorn_command(sys.executable, "bench.webhooks:receiver", port, ROOT)
    with serve(receiver_command, port, {}, ROOT, log=directory / "receiver.log"):
        asyncio.run(prepare(database_url, f"http://127.0.0.1:{port}/hook", events))
        cli = str(Path(sys.executable).parent / "partner-api")
        started = time.monotonic()
        with (directory / "worker.log").open("ab") as log:
            processes = [
                subprocess.Popen(
                    [cli, "worker"],
                    env={**os.environ, **env},
                    cwd=directory,
                    stdout=log,
                    stderr=log,
                )
                for _ in range(workers)
            ]
        try:
            # Far more than the target rate needs; a stuck worker fails the run instead of
            # hanging it.
            delivered, seconds = asyncio.run(
                asyncio.wait_for(wait_until_sent(database_url), timeout=30 + events / 20)
            )
            rss = max(peak_rss_mib(process.pid) for process in processes)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
    if delivered != events:
        raise RuntimeError(f"{delivered} of {events} deliveries delivered; see {directory}")
    return Throughput(
        events=events,
        workers=workers,
        delivered=delivered,
        seconds=seconds,
        per_second=(delivered - 1) / seconds if seconds else float("inf"),
        with_start_up_seconds=time.monotonic() - started,
        worker_peak_rss_mib=rss,
    )


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--events", type=int, default=2000)
    arguments.add_argument("--workers", type=int, default=1)
    arguments.add_argument("--database-url")
    options = arguments.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        result = measure(
            Path(temporary),
            events=options.events,
            workers=options.workers,
            database_url=options.database_url,
        )
    print(result.describe())


if __name__ == "__main__":
    main()

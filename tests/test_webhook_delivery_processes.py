"""Webhook delivery by real processes (WH-04): `partner-api worker` and `partner-api serve`
sharing one database, on SQLite (a WAL file) and PostgreSQL.

- Two worker processes delivering 200 events: every delivery arrives, and each exactly once,
  counted by `webhook-id` at a receiver that verifies every signature with the Standard Webhooks
  library and answers 2xx.
- A worker SIGKILLed in the middle of a batch (the receiver takes 200 ms per request, so attempts
  are in flight) and started again: every delivery ends DELIVERED. The attempts the kill cut off
  are made again once their lease runs out, so a receiver may see those twice (at least once),
  and only those.
- `serve` delivers by itself; with `PARTNER_API_EMBEDDED_WORKER=false` it leaves the deliveries to
  a `worker` process.

The kill test's random seed (the moment of the kill) is printed before it starts (shown with a
failure, or by `pytest -rP`); `TEST_WEBHOOK_KILL_SEED=<seed>` replays that plan.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.notifications import DeliveryStatus, NotificationType, WebhookDelivery
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.operations import notification_events
from partner_api.operations.notification_events import SUBSCRIBABLE
from partner_api.operations.webhook_endpoints import create_endpoint
from tests.database import empty_database
from tests.live_process import (
    CLI,
    command,
    free_port,
    run_command,
    server_base_environment,
    server_log,
    stop,
    wait_until_ready,
)
from tests.webhook_receiver import Receiver, serve_receiver

SEED_VARIABLE = "TEST_WEBHOOK_KILL_SEED"
PEPPER = "webhook-workers-pepper-0123456789abcdefghijkl"
KEY_ENCRYPTION_KEY = "webhook-workers-key-encryption-key-0123456789"
LEASE_SECONDS = 10  # the shortest allowed: the restarted worker waits it out
EVENTS = 200
DELIVERED_WITHIN_SECONDS = 60.0
STARTED = "webhook worker started"


def environment(directory: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **server_base_environment(
            directory,
            database_url,
            redis_url="",
            pepper=PEPPER,
            key_encryption_key=KEY_ENCRYPTION_KEY,
            issuer="http://partner-api.webhooks.test",
        ),
        "PARTNER_API_WEBHOOK_POLL_MILLISECONDS": "50",
        "PARTNER_API_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        **extra,
    }


@dataclass
class Process:
    """One `partner-api` process (`worker`, or `serve` on `port`), its output in a log file."""

    env: dict[str, str]
    directory: Path
    name: str
    port: int | None = None
    process: asyncio.subprocess.Process | None = None

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    async def start(self) -> None:
        args = ["worker"]
        if self.port is not None:
            args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                str(CLI), *args, stdout=output, stderr=output, env=self.env, cwd=self.directory
            )
        if self.port is not None:
            await wait_until_ready(self.process, f"http://127.0.0.1:{self.port}", self.log)

    async def logged(self, text: str) -> None:
        """Wait until the process has written `text` to its log (30 s at most)."""
        deadline = time.monotonic() + 30
        while text not in server_log(self.log):
            self.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} never logged {text!r}:\n{server_log(self.log)}")
            await asyncio.sleep(0.05)

    def attempts_made(self) -> int:
        """What a stopped worker reported: how many attempts it made."""
        found = re.search(r"webhook worker stopped after (\d+) attempts", server_log(self.log))
        assert found is not None, server_log(self.log)
        return int(found.group(1))

    def check_alive(self) -> None:
        assert self.process is not None
        if self.process.returncode is not None:
            pytest.fail(
                f"{self.name} exited with {self.process.returncode}:\n{server_log(self.log)}"
            )

    async def kill(self) -> None:
        """SIGKILL: no shutdown, nothing recorded for the attempts in flight."""
        assert self.process is not None
        self.process.kill()
        await asyncio.wait_for(self.process.wait(), timeout=10)

    async def stop(self) -> int | None:
        """SIGTERM (SIGKILL after 10 s); the exit status."""
        if self.process is None:
            return None
        await stop(self.process)
        return self.process.returncode


@dataclass
class Setup:
    env: dict[str, str]
    directory: Path
    receiver: Receiver
    organisation: Organisation


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    """A migrated database, open in this process too, with one endpoint subscribed to every type
    and pointing at a live receiver."""
    async with (
        serve_receiver() as receiver,
        empty_database(tmp_path / "webhooks.sqlite3") as database_url,
    ):
        env = environment(tmp_path, database_url)
        await command(env, tmp_path, "migrate")
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(database_url))
            organisation = await Organisation.create(name="Webhook Tickets")
            issued = await create_endpoint(
                TenantScope(organisation.id),
                Actor(identity=None, ip_address=None, user_agent="tests"),
                url=receiver.url,
                event_types=[kind.value for kind in SUBSCRIBABLE],
                description=None,
                policy=OutboundPolicy(production=False),
                key_encryption_key=KEY_ENCRYPTION_KEY.encode(),
                now=utcnow(),
            )
            receiver.secret = issued.secret_value
            yield Setup(env, tmp_path, receiver, organisation)


async def record_events(organisation: Organisation, count: int, *, first: int = 0) -> None:
    async with in_transaction():
        for sequence in range(first, first + count):
            await notification_events.record(
                NotificationType.CREDENTIAL_UPDATED,
                organisation_id=organisation.id,
                credential=None,
                facts={"sequence": sequence},
                now=utcnow(),
            )


async def delivered() -> int:
    return await WebhookDelivery.filter(status=DeliveryStatus.DELIVERED).count()


async def wait_for_deliveries(count: int, *processes: Process) -> float:
    """Seconds until `count` deliveries are DELIVERED; fails if a process dies first."""
    started = time.monotonic()
    while await delivered() < count:
        for process in processes:
            process.check_alive()
        if time.monotonic() - started > DELIVERED_WITHIN_SECONDS:
            pytest.fail(
                f"{await delivered()} of {count} delivered after {DELIVERED_WITHIN_SECONDS:.0f} s"
            )
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def chosen_seed() -> int:
    value = os.environ.get(SEED_VARIABLE)
    if value is None:
        return random.randrange(1 << 32)
    try:
        return int(value)
    except ValueError:
        pytest.fail(f"{SEED_VARIABLE} must be an integer seed, not {value!r}")


async def test_wh04_two_worker_processes_deliver_every_event_exactly_once(setup: Setup) -> None:
    # Both workers are polling before the events arrive, and the receiver takes 50 ms, so the
    # batch lasts long enough for both to claim from it at once.
    setup.receiver.delay_seconds = 0.05
    workers = [Process(setup.env, setup.directory, name) for name in ("first", "second")]
    try:
        await asyncio.gather(*(worker.start() for worker in workers))
        await asyncio.gather(*(worker.logged(STARTED) for worker in workers))
        await record_events(setup.organisation, EVENTS)
        seconds = await wait_for_deliveries(EVENTS, *workers)
    finally:
        codes = [await worker.stop() for worker in workers]
    assert codes == [0, 0], "a worker did not stop cleanly on SIGTERM"

    deliveries = await WebhookDelivery.all()
    assert len(deliveries) == EVENTS
    assert {row.attempts for row in deliveries} == {1}
    assert setup.receiver.unverified == []
    # Each exactly once: the receiver answered 2xx every time, so nothing was sent again.
    assert setup.receiver.ids() == {f"msg_{row.id.hex}": 1 for row in deliveries}
    sequences = sorted(item.message["data"]["sequence"] for item in setup.receiver.received)
    assert sequences == list(range(EVENTS))
    shares = [worker.attempts_made() for worker in workers]
    assert sum(shares) == EVENTS
    assert min(shares) > 0, "one worker did all the work: the test proved nothing about two"
    print(f"{EVENTS} deliveries by two worker processes ({shares}) in {seconds:.2f} s")


async def test_wh04_a_worker_killed_mid_batch_loses_no_delivery_once_restarted(
    setup: Setup,
) -> None:
    seed = chosen_seed()
    # Printed before anything can fail, so a failing run can be replayed.
    print(f"seed {seed} (replay with {SEED_VARIABLE}={seed})", flush=True)
    kill_after = random.Random(seed).uniform(0.3, 1.2)
    setup.receiver.delay_seconds = 0.2
    await record_events(setup.organisation, EVENTS)
    killed = Process(setup.env, setup.directory, "killed")
    restarted = Process(setup.env, setup.directory, "restarted")
    try:
        await killed.start()
        while setup.receiver.arrivals == 0:
            killed.check_alive()
            await asyncio.sleep(0.01)
        await asyncio.sleep(kill_after)
        # Mid-batch for certain: the receiver is holding a request, so the worker that sent it
        # cannot have recorded its outcome. Checked and killed without yielding in between.
        while setup.receiver.in_progress == 0:  # noqa: ASYNC110 (polled: requests in flight)
            await asyncio.sleep(0.001)
        await killed.kill()
        now = utcnow()
        before_kill = await delivered()
        cut_off = await WebhookDelivery.filter(
            status=DeliveryStatus.PENDING, claimed_until__gt=now
        ).count()
        assert cut_off > 0, "the kill came between attempts, not in the middle of a batch"
        assert before_kill < EVENTS, "the kill came after the batch"

        await restarted.start()
        seconds = await wait_for_deliveries(EVENTS, restarted)
    finally:
        await killed.stop()
        await restarted.stop()

    deliveries = await WebhookDelivery.all()
    assert {row.status for row in deliveries} == {DeliveryStatus.DELIVERED}
    # Exactly the attempts the kill cut off were made again, after their lease ran out.
    assert sum(row.attempts == 2 for row in deliveries) == cut_off
    assert sum(row.attempts == 1 for row in deliveries) == EVENTS - cut_off
    ids = setup.receiver.ids()
    assert set(ids) == {f"msg_{row.id.hex}" for row in deliveries}, "a delivery never arrived"
    repeats = sum(count - 1 for count in ids.values())
    assert repeats <= cut_off
    assert setup.receiver.unverified == []
    print(
        f"seed {seed}: killed {kill_after:.2f} s into the batch with {before_kill} of {EVENTS} "
        f"delivered and {cut_off} attempts in flight; the restarted worker finished in "
        f"{seconds:.1f} s (lease {LEASE_SECONDS} s); {repeats} arrived twice"
    )


async def test_serve_delivers_unless_its_worker_is_off_and_a_worker_process_then_does(
    setup: Setup,
) -> None:
    embedded = Process(setup.env, setup.directory, "serve", port=free_port())
    try:
        await embedded.start()
        await record_events(setup.organisation, 1)
        await wait_for_deliveries(1, embedded)
    finally:
        await embedded.stop()

    without = Process(
        {**setup.env, "PARTNER_API_EMBEDDED_WORKER": "false"},
        setup.directory,
        "serve-without-worker",
        port=free_port(),
    )
    worker = Process(setup.env, setup.directory, "worker")
    try:
        await without.start()
        await record_events(setup.organisation, 1, first=1)
        # Twenty polls' worth: a serving process with its worker on would have sent it.
        await asyncio.sleep(1.0)
        assert await delivered() == 1
        assert setup.receiver.arrivals == 1

        await worker.start()
        await wait_for_deliveries(2, without, worker)
    finally:
        await without.stop()
        await worker.stop()
    assert [item.message["data"]["sequence"] for item in setup.receiver.received] == [0, 1]


async def test_worker_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    async with empty_database(tmp_path / "empty.sqlite3") as database_url:
        result = await run_command(environment(tmp_path, database_url), tmp_path, "worker")
    assert result.code == 1
    assert "run `partner-api migrate` first" in result.stderr
    assert "Traceback" not in result.stderr

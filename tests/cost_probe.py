"""What a hostile request costs the *other* requests: a live server and a responsiveness probe.

A request whose handling grows faster than its size (exponential validation, a backtracking
regex, a quadratic loop over client data) runs on the event loop every request shares, so its
cost shows up as the time a concurrent, trivial request waits. `responsive_while` sends the
hostile request to a real `partner-api serve` process and, while it is in flight, asks
`GET /healthz` on the same process; both must answer within bounds of seconds. The bounds are
a safety net against super-linear work, not a benchmark: a linear refusal takes milliseconds.

The server runs over an SQLite file or a fresh PostgreSQL database (tests.database), with one
organisation, one admin and one FULL credential created in this process before it starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from auth.partners.keyed_hash import KeyedHasher
from partner_api.foundation.database import tortoise_config
from tests.database import empty_database
from tests.helpers import PASSWORD, make_admin, make_credential
from tests.live_process import (
    free_port,
    run_cli,
    server_base_environment,
    start_serve,
    stop,
    wait_until_ready,
)

PEPPER = "cost-probe-pepper-0123456789abcdefghijklmnopq"
KEY_ENCRYPTION_KEY = "cost-probe-key-encryption-key-0123456789abcdef"
ADMIN_EMAIL = "cost-probe-admin@example.com"
# How long /healthz may wait behind a hostile request, and how long the hostile request itself
# may take to be answered. Seconds, so that a loaded CI machine never trips them; exponential
# work (the case they exist for) takes minutes or never ends.
HEALTH_BOUND_SECONDS = 2.0
HOSTILE_BOUND_SECONDS = 5.0
# Time for the hostile request to reach the server and start being handled before /healthz.
IN_FLIGHT_DELAY_SECONDS = 0.05


@dataclass(frozen=True)
class CostServer:
    base_url: str
    client_id: str
    client_secret: str
    admin_email: str
    admin_password: str


@dataclass(frozen=True)
class Outcome:
    response: httpx.Response
    hostile_seconds: float
    health_seconds: float


async def _seed(database_url: str) -> tuple[str, str]:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        _, organisation, _ = await make_admin(organisation="Cost Probe Tickets", email=ADMIN_EMAIL)
        issued = await make_credential(
            organisation=organisation,
            name="Cost probe partner",
            hasher=KeyedHasher((PEPPER.encode(),)),
        )
    return issued.credential.client_id, issued.secret_value


@asynccontextmanager
async def running_server(directory: Path) -> AsyncIterator[CostServer]:
    """`partner-api serve` on loopback over a fresh database, seeded, until the block ends."""
    async with empty_database(directory / "cost.sqlite3") as database_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = server_base_environment(
            directory,
            database_url,
            redis_url="",
            pepper=PEPPER,
            key_encryption_key=KEY_ENCRYPTION_KEY,
            issuer=base_url,
        )
        del env["REDIS_URL"]
        await run_cli(env, directory, "migrate")
        client_id, client_secret = await _seed(database_url)
        log = directory / "serve.log"
        process = await start_serve(env, directory, port, log)
        try:
            await wait_until_ready(process, base_url, log)
            yield CostServer(
                base_url=base_url,
                client_id=client_id,
                client_secret=client_secret,
                admin_email=ADMIN_EMAIL,
                admin_password=PASSWORD,
            )
        finally:
            await stop(process)


async def responsive_while(
    server: CostServer,
    send: Callable[[httpx.AsyncClient], Coroutine[object, object, httpx.Response]],
) -> Outcome:
    """Send the hostile request and, while it is in flight, `GET /healthz` on the same process.

    Fails the test when /healthz waits longer than HEALTH_BOUND_SECONDS or the hostile request
    is not answered within HOSTILE_BOUND_SECONDS; otherwise returns the hostile answer and both
    durations for the caller's own assertions.
    """
    async with (
        httpx.AsyncClient(
            base_url=server.base_url, timeout=HOSTILE_BOUND_SECONDS, trust_env=False
        ) as hostile,
        httpx.AsyncClient(
            base_url=server.base_url, timeout=HEALTH_BOUND_SECONDS, trust_env=False
        ) as health,
    ):
        started = time.monotonic()
        in_flight = asyncio.create_task(send(hostile))
        await asyncio.sleep(IN_FLIGHT_DELAY_SECONDS)
        asked = time.monotonic()
        try:
            answer = await health.get("/healthz")
        except httpx.TimeoutException:
            in_flight.cancel()
            pytest.fail(f"/healthz waited over {HEALTH_BOUND_SECONDS} s behind the request")
        health_seconds = time.monotonic() - asked
        assert answer.status_code == 200
        try:
            response = await in_flight
        except httpx.TimeoutException:
            pytest.fail(f"the request was not answered within {HOSTILE_BOUND_SECONDS} s")
        return Outcome(
            response=response,
            hostile_seconds=time.monotonic() - started,
            health_seconds=health_seconds,
        )

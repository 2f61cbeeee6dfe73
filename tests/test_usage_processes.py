"""Usage counting and limits across real processes (issue 16): two `partner-api serve`
subprocesses on one PostgreSQL database, as two instances behind a load balancer, each counting
in memory and flushing every second. A known number of calls spread over both adds up exactly;
a limit changed elsewhere reaches the second process (the 1-second bound itself is proved with a
clock the test moves in tests/test_credential_limits_runtime.py; here the margin is wide); and a
process that stops flushes what it counted. Like tests/test_multi_process.py, the two-process
tests need PostgreSQL; the shutdown test runs on both databases.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from auth.partners import change_feed
from auth.partners.credential_limits import organisation_limits_changed
from models.credential import Credential
from models.oauth import ChangeKind
from models.organisation import Organisation
from models.usage import UsageCount
from partner_api.foundation.database import tortoise_config
from tests.database import empty_database, on_postgres
from tests.helpers import PASSWORD, operation
from tests.live_process import command, free_port, server_base_environment, start_serve, stop
from tests.live_process import wait_until_ready as ready

pytestmark = pytest.mark.asyncio(loop_scope="module")

POSTGRES_ONLY = pytest.mark.skipif(
    not on_postgres(),
    reason="needs PostgreSQL: several instances share a database server, not a SQLite file "
    "(set TEST_DATABASE_URL)",
)
MARGIN_SECONDS = 5.0
REDIS_URL = "redis://127.0.0.1:6379/15"
ADMIN_EMAIL = "admin@usage-processes.example"
ME = "GET /partner/v1/me"


def environment(directory: Path, database_url: str, flush_seconds: int) -> dict[str, str]:
    return {
        **server_base_environment(
            directory,
            database_url,
            redis_url=REDIS_URL,
            pepper="usage-processes-pepper-0123456789abcdefghijkl",
            key_encryption_key="usage-processes-key-encryption-key-0123456789ab",
            issuer="http://partner-api.usage-processes.test",
        ),
        "PARTNER_API_TOKEN_REUSE_SECONDS": "0",
        "PARTNER_API_USAGE_FLUSH_SECONDS": str(flush_seconds),
    }


@dataclass(frozen=True)
class Partner:
    client_id: str
    secret: str
    credential_id: str


@dataclass(frozen=True)
class Cluster:
    instances: list[httpx.AsyncClient]
    database_url: str
    session: str


async def _serve(
    env: dict[str, str], directory: Path, name: str
) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    log = directory / f"{name}.log"
    process = await start_serve(env, directory, port, log)
    url = f"http://127.0.0.1:{port}"
    await ready(process, url, log)
    return process, url


async def _login(http: httpx.AsyncClient) -> str:
    response = await http.post(
        "/graphql",
        json={
            "query": operation("Login"),
            "variables": {"email": ADMIN_EMAIL, "password": PASSWORD},
        },
    )
    result = response.json()["data"]["login"]
    assert result["__typename"] == "LoginSuccess", result
    token: str = result["token"]
    return token


async def new_partner(http: httpx.AsyncClient, session: str, name: str) -> Partner:
    response = await http.post(
        "/graphql",
        json={
            "query": operation("CreateCredential"),
            "variables": {
                "input": {"name": name, "contactEmail": "it@partner.example", "accessLevel": "FULL"}
            },
        },
        headers={"Authorization": f"Bearer {session}"},
    )
    created = response.json()["data"]["createCredential"]
    assert created["__typename"] == "CredentialCreated", created
    credential = created["credential"]
    return Partner(credential["clientId"], created["clientSecret"], credential["id"])


async def token(http: httpx.AsyncClient, partner: Partner) -> str:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(partner.client_id, partner.secret),
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


async def me(http: httpx.AsyncClient, bearer: str) -> httpx.Response:
    return await http.get("/partner/v1/me", headers={"Authorization": f"Bearer {bearer}"})


async def _create_admin(env: dict[str, str], directory: Path) -> None:
    await command(
        env,
        directory,
        *("create-admin", "--email", ADMIN_EMAIL, "--organisation", "Usage Tickets"),
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    if not on_postgres():
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL)")
    directory = tmp_path_factory.mktemp("usage-processes")
    async with empty_database(directory / "unused.sqlite3") as database_url:
        env = environment(directory, database_url, flush_seconds=1)
        await _create_admin(env, directory)
        processes: list[asyncio.subprocess.Process] = []
        clients: list[httpx.AsyncClient] = []
        try:
            for name in ("first", "second"):
                process, url = await _serve(env, directory, name)
                processes.append(process)
                clients.append(httpx.AsyncClient(base_url=url, timeout=10.0, trust_env=False))
            session = await _login(clients[0])
            yield Cluster(clients, database_url, session)
        finally:
            for client in clients:
                await client.aclose()
            for process in processes:
                await stop(process)


async def in_database(database_url: str, work: Any) -> Any:
    """Run `work()` against the shared database from this (a third) process."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        return await work()


async def day_totals(credential_id: str) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for row in await UsageCount.filter(credential_id=credential_id, granularity="d"):
        key = (row.metric, row.operation, row.status_class)
        found[key] = found.get(key, 0) + row.count
    return found


@POSTGRES_ONLY
async def test_calls_spread_over_two_processes_add_up_exactly(cluster: Cluster) -> None:
    first, second = cluster.instances
    partner = await new_partner(first, cluster.session, "Spread over two")
    plan = [(first, 3, 7), (second, 2, 6)]  # (instance, tokens, /me calls)
    for http, tokens, calls in plan:
        bearer = ""
        for _ in range(tokens):
            bearer = await token(http, partner)
        for _ in range(calls):
            assert (await me(http, bearer)).status_code == 200
    expected = {("token_issued", "", ""): 5, ("call", ME, "2xx"): 13}
    started = time.monotonic()
    while True:
        found = await in_database(cluster.database_url, lambda: day_totals(partner.credential_id))
        if found == expected or time.monotonic() - started > MARGIN_SECONDS:
            break
        await asyncio.sleep(0.1)
    assert found == expected
    print(f"counts in the database after {time.monotonic() - started:.2f} s")


@POSTGRES_ONLY
async def test_limit_changes_made_elsewhere_reach_the_other_process(cluster: Cluster) -> None:
    second = cluster.instances[1]
    partner = await new_partner(cluster.instances[0], cluster.session, "Limited elsewhere")
    bearer = await token(second, partner)
    assert (await me(second, bearer)).headers["ratelimit-limit"] != "3"

    async def set_credential_limit() -> None:
        async with in_transaction():
            await Credential.filter(id=partner.credential_id).update(rate_limit_per_minute=3)
            await change_feed.publish(
                ChangeKind.CREDENTIAL_CHANGED, credential_id=UUID(partner.credential_id)
            )

    await in_database(cluster.database_url, set_credential_limit)
    await _until_limit(second, bearer, "3")

    other = await new_partner(cluster.instances[0], cluster.session, "Organisation default")
    other_bearer = await token(second, other)
    assert (await me(second, other_bearer)).status_code == 200

    async def set_organisation_default() -> None:
        credential = await Credential.get(id=other.credential_id)
        async with in_transaction():
            await Organisation.filter(id=credential.organisation_id).update(  # type: ignore[attr-defined]
                default_rate_limit_per_minute=11
            )
            await organisation_limits_changed(credential.organisation_id)  # type: ignore[attr-defined]

    await in_database(cluster.database_url, set_organisation_default)
    await _until_limit(second, other_bearer, "11")
    assert (await me(second, bearer)).headers["ratelimit-limit"] == "3"  # its own still wins


async def _until_limit(http: httpx.AsyncClient, bearer: str, limit: str) -> None:
    started = time.monotonic()
    while (await me(http, bearer)).headers["ratelimit-limit"] != limit:
        assert time.monotonic() - started <= MARGIN_SECONDS, "the limit never changed"
        await asyncio.sleep(0.02)
    print(f"limit {limit} honoured after {time.monotonic() - started:.3f} s")


async def test_a_stopping_process_flushes_what_it_counted(tmp_path: Path) -> None:
    """Flushes are a minute apart here: only the flush on shutdown can write these counts."""
    async with empty_database(tmp_path / "usage.sqlite3") as database_url:
        env = environment(tmp_path, database_url, flush_seconds=60)
        await _create_admin(env, tmp_path)
        process, url = await _serve(env, tmp_path, "stopping")
        try:
            async with httpx.AsyncClient(base_url=url, timeout=10.0, trust_env=False) as http:
                partner = await new_partner(http, await _login(http), "Stopping")
                bearer = await token(http, partner)
                for _ in range(4):
                    assert (await me(http, bearer)).status_code == 200
        finally:
            await stop(process)
        found = await in_database(database_url, lambda: day_totals(partner.credential_id))
    assert found == {("token_issued", "", ""): 1, ("call", ME, "2xx"): 4}

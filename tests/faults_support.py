"""What the fault tests share: a real `partner-api serve` process on its own database, reached over
HTTP only, and control of the PostgreSQL cluster that `TEST_DATABASE_URL` points to."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.database import TEST_DATABASE_URL
from tests.helpers import PASSWORD, operation
from tests.live_process import (
    CLI,
    command,
    free_port,
    server_base_environment,
    stop,
    wait_until_ready,
)

REDIS_URL = "redis://127.0.0.1:6379/15"
ISSUER = "http://partner-api.faults.test"
PEPPER = "faults-pepper-0123456789abcdefghijklmnopqrstu"
KEY_ENCRYPTION_KEY = "faults-key-encryption-key-0123456789abcdefghij"
ADMIN_EMAIL = "admin@faults.example"


def server_environment(directory: Path, database_url: str) -> dict[str, str]:
    return {
        **server_base_environment(
            directory,
            database_url,
            redis_url=REDIS_URL,
            pepper=PEPPER,
            key_encryption_key=KEY_ENCRYPTION_KEY,
            issuer=ISSUER,
        ),
        # Each token request signs a new token: a token revoked through RFC 7009 is never handed
        # out again from the reuse window, so the ledger of revoked tokens stays exact.
        "PARTNER_API_TOKEN_REUSE_SECONDS": "0",
        # The load is one client address hammering a few credentials: no limit may interfere.
        "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000",
        "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "1000000",
        "PARTNER_API_TOKEN_MAX_FAILURES_PER_CLIENT_ADDRESS": "1000000",
        "PARTNER_API_TOKEN_MAX_FAILURES_PER_ADDRESS": "1000000",
    }


async def create_admin(env: dict[str, str], directory: Path) -> None:
    await command(
        env,
        directory,
        "create-admin",
        "--email",
        ADMIN_EMAIL,
        "--organisation",
        "Fault Tickets",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )


@dataclass
class Server:
    """One `partner-api serve` process; `start` again after a kill to restart it on its port."""

    env: dict[str, str]
    directory: Path
    name: str
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    async def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                str(CLI),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                stdout=output,
                stderr=output,
                env=self.env,
                cwd=self.directory,
            )
        await wait_until_ready(self.process, self.base_url, self.log)

    async def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye to the database."""
        assert self.process is not None
        self.process.kill()
        await asyncio.wait_for(self.process.wait(), timeout=10)

    async def stop(self) -> None:
        if self.process is not None:
            await stop(self.process)


def new_server(env: dict[str, str], directory: Path, name: str) -> Server:
    return Server(env=env, directory=directory, name=name, port=free_port())


def http_client(base_url: str, *, timeout: float) -> httpx.AsyncClient:
    # A fresh connection per request would measure the kernel; several clients share a pool.
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False, limits=limits)


async def login(http: httpx.AsyncClient) -> str:
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


async def gql_response(
    http: httpx.AsyncClient, session: str, name: str, variables: dict[str, Any]
) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": operation(name), "variables": variables},
        headers={"Authorization": f"Bearer {session}"},
    )


# -- the PostgreSQL cluster behind TEST_DATABASE_URL ---------------------------------------------


@dataclass(frozen=True)
class PostgresCluster:
    """A Debian `pg_ctlcluster` cluster, found by the port of TEST_DATABASE_URL."""

    version: str
    name: str
    port: int

    def _ctl(self, action: str) -> None:
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action],  # noqa: S607
            check=True,
            capture_output=True,
            timeout=60,
        )

    def is_ready(self) -> bool:
        probe = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],  # noqa: S607
            check=False,
            timeout=10,
        )
        return probe.returncode == 0

    def stop(self) -> None:
        """Fast shutdown: open sessions are ended, new connections refused."""
        self._ctl("stop")

    def start(self, *, within_seconds: float = 30.0) -> None:
        """Start it and wait until it accepts connections; fail loudly if it does not."""
        if not self.is_ready():
            self._ctl("start")
        deadline = time.monotonic() + within_seconds
        while not self.is_ready():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"PostgreSQL cluster {self.version}/{self.name} (port {self.port}) did not "
                    f"come back within {within_seconds:.0f} s: start it by hand with "
                    f"pg_ctlcluster --skip-systemctl-redirect {self.version} {self.name} start"
                )
            time.sleep(0.1)


def cluster_of_test_database() -> PostgresCluster:
    """The local cluster listening on the port of TEST_DATABASE_URL (`pg_lsclusters`)."""
    if shutil.which("pg_lsclusters") is None:
        pytest.skip("needs Debian's postgresql-common (pg_lsclusters, pg_ctlcluster)")
    parts = urlsplit(TEST_DATABASE_URL)
    port = parts.port or 5432
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip(f"the PostgreSQL of TEST_DATABASE_URL is not local ({parts.hostname})")
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return PostgresCluster(version=fields[0], name=fields[1], port=port)
    pytest.skip(f"no pg_ctlcluster cluster listens on port {port}; cannot stop and start it")

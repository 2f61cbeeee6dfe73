"""What the benchmarks share: seeding credentials, a throw-away database, uvicorn and wrk runs.

Every benchmark compares our endpoint with bench/bare_app.py on identical uvicorn settings (one
worker, uvloop, httptools, access log off), driven by the same wrk load, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

ROOT = Path(__file__).resolve().parent.parent
# Ahead of bench/ itself, so `partner_api` is the package and not bench/partner_api.py.
sys.path.insert(0, str(ROOT))

from auth.partners.keyed_hash import KeyedHasher  # noqa: E402
from auth.partners.signing_keys import rotate_signing_key  # noqa: E402
from auth.tokens import new_client_id, new_client_secret  # noqa: E402
from models.credential import Credential, CredentialSecret  # noqa: E402
from models.enums import AccessLevel  # noqa: E402
from models.organisation import Organisation  # noqa: E402
from models.ticketing import Event  # noqa: E402
from partner_api.foundation.clock import utcnow  # noqa: E402
from partner_api.foundation.database import apply_migrations, tortoise_config  # noqa: E402

PEPPER = "bench-pepper-" + "p" * 40
KEK = "bench-key-encryption-key-" + "k" * 30
POOL = 16  # credentials the load cycles through
# Events each credential is limited to in the `-restricted` steps: half the most a credential may
# name (models.credential.MAX_RESTRICTED_EVENTS), so the token claim and /me body are sizeable.
RESTRICTED_EVENTS = 50


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def add_events(organisation_id: object, count: int) -> list[str]:
    """`count` upcoming events of the organisation; returns their canonical ids, as a credential
    stores them. Tortoise must be initialised."""
    start = utcnow() + timedelta(days=30)
    events = [
        Event(
            id=uuid4(),
            organisation_id=organisation_id,
            name=f"Concert {index}",
            venue="Bench Hall",
            starts_at=start + timedelta(days=index),
            ends_at=start + timedelta(days=index, hours=3),
        )
        for index in range(count)
    ]
    await Event.bulk_create(events)
    return [str(event.id) for event in events]


async def add_credentials(
    organisation_id: object,
    count: int,
    *,
    created_by_id: object | None = None,
    event_ids: list[str] | None = None,
    pool: int = POOL,
) -> list[tuple[str, str]]:
    """`count` FULL credentials with one secret each, in batches, each limited to `event_ids`
    (None: every event); returns (client_id, secret) for the first `pool` of them. Tortoise must
    be initialised."""
    hasher = KeyedHasher((PEPPER.encode(),))
    chosen: list[tuple[str, str]] = []
    batch = 2000
    for start in range(0, count, batch):
        credentials, secrets_rows = [], []
        for index in range(start, min(count, start + batch)):
            credential = Credential(
                organisation_id=organisation_id,
                name=f"Integration {index}",
                contact_email="ops@partner.example",
                client_id=new_client_id(),
                access_level=AccessLevel.FULL,
                scopes=[],
                ip_allowlist=[],
                event_ids=event_ids,
                created_by_id=created_by_id,
            )
            new = new_client_secret()
            credentials.append(credential)
            secrets_rows.append((credential, new))
            if len(chosen) < pool:
                chosen.append((credential.client_id, new.value))
        await Credential.bulk_create(credentials)
        await CredentialSecret.bulk_create(
            [
                CredentialSecret(
                    credential_id=credential.id,
                    lookup_id=new.lookup_id,
                    secret_hash=hasher.hash(new.value),
                    hint=new.hint,
                )
                for credential, new in secrets_rows
            ]
        )
    return chosen


async def seed(
    database_url: str, count: int, algorithm: str, *, events: int = 0, pool: int = POOL
) -> list[tuple[str, str]]:
    """`count` credentials (FULL), returning (client_id, secret) for the first `pool` of them.
    With `events`, the organisation gets that many events and every credential is limited to all
    of them; without, the organisation has none and the credentials reach every event."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        organisation = await Organisation.create(name=f"Bench {secrets.token_hex(3)}")
        event_ids = await add_events(organisation.id, events) if events else None
        chosen = await add_credentials(organisation.id, count, event_ids=event_ids, pool=pool)
        await rotate_signing_key(algorithm=algorithm, key_encryption_key=KEK.encode(), now=utcnow())
        return chosen
    finally:
        await Tortoise.close_connections()


def server_env(database_url: str, directory: Path, algorithm: str) -> dict[str, str]:
    """The environment our app runs with in every benchmark; each adds its own knobs."""
    return {
        "DATABASE_URL": database_url,
        "PARTNER_API_SECRET_PEPPER": PEPPER,
        "PARTNER_API_KEY_ENCRYPTION_KEY": KEK,
        "PARTNER_API_DATA_DIR": str(directory),
        "PARTNER_API_SIGNING_ALGORITHM": algorithm,
    }


@contextmanager
def serve(
    command: list[str], port: int, env: dict[str, str], cwd: Path, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process and wait until it answers HTTP on `port`; yields the process. With
    `log`, the process's stderr goes to that file."""
    stderr = None if log is None else log.open("ab")
    try:
        process = subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd, stderr=stderr)
    finally:
        if stderr is not None:
            stderr.close()  # the child has its own descriptor
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def uvicorn_command(python: str, app: str, port: int, app_dir: Path) -> list[str]:
    """The same uvicorn settings for every app measured: one worker, uvloop, httptools, no
    access log."""
    return [
        python, "-m", "uvicorn", app,
        "--app-dir", str(app_dir),
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--log-level", "warning",
        "--loop", "uvloop", "--http", "httptools",
    ]  # fmt: skip


@contextmanager
def uvicorn(
    app: str, port: int, env: dict[str, str], app_dir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One uvicorn worker serving `app`; yields the process (with one worker, uvicorn serves in
    the process it starts in, so its pid is the worker's)."""
    with serve(uvicorn_command(sys.executable, app, port, app_dir), port, env, ROOT) as process:
        yield process


@contextmanager
def uvicorn_ours(
    port: int, env: dict[str, str], directory: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Our app in one uvicorn worker, logging as `partner-api serve` does in production: JSON
    lines at INFO (so each token request writes its `access token issued` line, SECURITY.md
    LG-01) to a file in `directory` (server.log), as a process manager would collect them.
    `BENCH_LOG_LEVEL=WARNING` measures without those lines, to see what they cost."""
    from partner_api.foundation.settings import Settings
    from partner_api.web.observability.log_format import logging_config

    level = os.environ.get("BENCH_LOG_LEVEL", "INFO").upper()
    config = directory / "logging.json"
    config.write_text(json.dumps(logging_config(Settings(log_format="json", log_level=level))))
    command = [
        *uvicorn_command(sys.executable, "partner_api.web.asgi:app", port, ROOT),
        "--log-config",
        str(config),
    ]
    with serve(command, port, env, ROOT, log=directory / "server.log") as process:
        yield process


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(port: int, script: Path, *, seconds: int, connections: int) -> Result:
    output = subprocess.run(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s",
            "-s", str(script), f"http://127.0.0.1:{port}",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Result(rps, p50, p99, int(errors.group(1)) if errors else 0)


def compare(
    bare_port: int, ours_port: int, script: Path, *, seconds: int, rounds: int, connections: int
) -> tuple[Result, Result]:
    """Warm both apps up, then alternate them `rounds` times; the best run of each."""
    for port in (bare_port, ours_port):
        run_wrk(port, script, seconds=2, connections=connections)
    bare_runs: list[Result] = []
    our_runs: list[Result] = []
    for _ in range(rounds):  # alternate, so drift hits both alike
        for port, runs in ((bare_port, bare_runs), (ours_port, our_runs)):
            runs.append(run_wrk(port, script, seconds=seconds, connections=connections))
    return best(bare_runs), best(our_runs)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(kib.group(1)) / 1024 if kib else float("nan")


def resident_mib(pid: int) -> float:
    """The process's resident set size now (VmRSS), in MiB: beside the peak, whether memory was
    held or only passed through."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(kib.group(1)) / 1024 if kib else float("nan")


def load_average() -> str:
    """The 1/5/15-minute load averages, recorded with every run (a busy machine skews ratios)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def best(runs: list[Result]) -> Result:
    return max(runs, key=lambda run: run.requests_per_second)


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh database URL: an SQLite file in `directory`, or a PostgreSQL database on
    127.0.0.1:5432 that is dropped afterwards.

    Tortoise caches each model's INSERT by connection name, not by dialect, so after seeding an
    SQLite database this process would send SQLite's `?` placeholders to PostgreSQL under the
    same "default" connection: the cache is emptied for every new database."""
    EXECUTOR_CACHE.clear()
    if kind == "sqlite":
        yield f"sqlite://{directory}/bench.sqlite3"
        return
    name = f"pa_bench_{secrets.token_hex(4)}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def table_row(label: str, bare: Result, ours: Result) -> str:
    """One markdown row: `label | bare req/s | ours req/s | ratio | bare p50/p99 | ours p50/p99`."""
    return (
        f"| {label} | {bare.requests_per_second:,.0f} | {ours.requests_per_second:,.0f} | "
        f"{ours.requests_per_second / bare.requests_per_second:.2f} | "
        f"{bare.p50_ms:.2f} / {bare.p99_ms:.2f} | {ours.p50_ms:.2f} / {ours.p99_ms:.2f} |"
    )

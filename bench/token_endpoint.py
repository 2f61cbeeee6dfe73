"""Benchmark: POST /oauth/token against a bare Starlette endpoint, same uvicorn, same run.

Not a test. Needs `wrk` (Debian package) on the PATH. For each database size it seeds a fresh
database, starts our app and the bare app (bench/bare_app.py) as separate one-worker uvicorn
processes with identical settings, drives each with the same wrk load (the same requests, a pool of
credentials used round-robin, HTTP Basic), and prints throughput, p50/p99 latency and the ratios.

    .venv/bin/python bench/token_endpoint.py                       # SQLite, 100 and 100000
    .venv/bin/python bench/token_endpoint.py --database postgres   # PostgreSQL on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from tortoise import Tortoise

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auth.keyed_hash import KeyedHasher  # noqa: E402
from auth.signing_keys import rotate_signing_key  # noqa: E402
from auth.tokens import new_client_id, new_client_secret  # noqa: E402
from models.credential import Credential, CredentialSecret  # noqa: E402
from models.enums import AccessLevel  # noqa: E402
from models.organisation import Organisation  # noqa: E402
from partner_api.clock import utcnow  # noqa: E402
from partner_api.database import apply_migrations, tortoise_config  # noqa: E402

PEPPER = "bench-pepper-" + "p" * 40
KEK = "bench-key-encryption-key-" + "k" * 30
POOL = 16  # credentials the load cycles through


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


async def seed(database_url: str, count: int, algorithm: str) -> list[tuple[str, str]]:
    """`count` credentials (FULL), returning (client_id, secret) for the first POOL of them."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        hasher = KeyedHasher((PEPPER.encode(),))
        organisation = await Organisation.create(name=f"Bench {secrets.token_hex(3)}")
        pool: list[tuple[str, str]] = []
        batch = 2000
        for start in range(0, count, batch):
            credentials, secrets_rows = [], []
            for index in range(start, min(count, start + batch)):
                credential = Credential(
                    organisation_id=organisation.id,
                    name=f"Integration {index}",
                    contact_email="ops@partner.example",
                    client_id=new_client_id(),
                    access_level=AccessLevel.FULL,
                    scopes=[],
                    ip_allowlist=[],
                )
                new = new_client_secret()
                credentials.append(credential)
                secrets_rows.append((credential, new))
                if len(pool) < POOL:
                    pool.append((credential.client_id, new.value))
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
        await rotate_signing_key(algorithm=algorithm, key_encryption_key=KEK.encode(), now=utcnow())
        return pool
    finally:
        await Tortoise.close_connections()


@contextmanager
def uvicorn(app: str, port: int, env: dict[str, str], app_dir: Path) -> Iterator[None]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", app,
            "--app-dir", str(app_dir),
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-access-log", "--log-level", "warning",
            "--loop", "uvloop", "--http", "httptools",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def wrk_script(pool: list[tuple[str, str]], directory: Path) -> Path:
    lines = ["local requests = {}"]
    body = "grant_type=client_credentials"
    for index, (client_id, secret) in enumerate(pool, start=1):
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        lines.append(
            f'requests[{index}] = wrk.format("POST", "/oauth/token", '
            f'{{["Authorization"] = "Basic {basic}", '
            f'["Content-Type"] = "application/x-www-form-urlencoded"}}, "{body}")'
        )
    lines += [
        "local i = 0",
        "request = function()",
        f"  i = (i % {len(pool)}) + 1",
        "  return requests[i]",
        "end",
    ]
    path = directory / "token.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(port: int, script: Path, *, seconds: int, connections: int) -> Result:
    output = subprocess.run(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
            "-s", str(script), f"http://127.0.0.1:{port}",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Result(rps, p50, p99, int(errors.group(1)) if errors else 0)


def token_response_size(port: int, client_id: str, secret: str) -> int:
    response = httpx.post(
        f"http://127.0.0.1:{port}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    return len(response.content)


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
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


def measure(args: argparse.Namespace, count: int, directory: Path) -> tuple[Result, Result]:
    with database(args.database, directory) as url:
        pool = asyncio.run(seed(url, count, args.algorithm))
        script = wrk_script(pool, directory)
        env = {
            "DATABASE_URL": url,
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEK,
            "PARTNER_API_DATA_DIR": str(directory),
            "PARTNER_API_SIGNING_ALGORITHM": args.algorithm,
            "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "100000000",
            "PARTNER_API_TOKEN_REUSE_SECONDS": str(args.reuse_seconds),
        }
        ours_port, bare_port = free_port(), free_port()
        with uvicorn("partner_api.asgi:app", ours_port, env, ROOT):
            size = token_response_size(ours_port, *pool[0])
            with uvicorn(
                "bare_app:app", bare_port, {"BARE_RESPONSE_BYTES": str(size)}, ROOT / "bench"
            ):
                for port in (bare_port, ours_port):  # warm up both
                    run_wrk(port, script, seconds=2, connections=args.connections)
                bare_runs: list[Result] = []
                our_runs: list[Result] = []
                for _ in range(args.rounds):  # alternate, so drift hits both alike
                    for port, runs in ((bare_port, bare_runs), (ours_port, our_runs)):
                        runs.append(
                            run_wrk(
                                port, script, seconds=args.seconds, connections=args.connections
                            )
                        )
        return _best(bare_runs), _best(our_runs)


def _best(runs: list[Result]) -> Result:
    return max(runs, key=lambda run: run.requests_per_second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--algorithm", default="ES256", choices=["ES256", "EdDSA", "RS256"])
    parser.add_argument(
        "--reuse-seconds", type=int, default=1, help="token reuse window (0: sign every token)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(size) for size in args.sizes.split(",")):
            bare, ours = measure(args, count, Path(tmp))
            rows.append((count, bare, ours))
    print(
        f"\nPOST /oauth/token, {args.database}, {args.algorithm}, "
        f"reuse window {args.reuse_seconds} s, 1 uvicorn worker "
        f"(uvloop, httptools), wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"best of {args.rounds}\n"
    )
    print("| credentials | bare req/s | ours req/s | ratio | bare p50/p99 ms | ours p50/p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for count, bare, ours in rows:
        print(
            f"| {count} | {bare.requests_per_second:,.0f} | {ours.requests_per_second:,.0f} | "
            f"{ours.requests_per_second / bare.requests_per_second:.2f} | "
            f"{bare.p50_ms:.2f} / {bare.p99_ms:.2f} | {ours.p50_ms:.2f} / {ours.p99_ms:.2f} |"
        )
        if ours.non_2xx or bare.non_2xx:
            print(f"  (non-2xx: ours {ours.non_2xx}, bare {bare.non_2xx})")
    if len(rows) >= 2:
        small, large = rows[0][2], rows[-1][2]
        print(
            f"\n{rows[-1][0]} vs {rows[0][0]} credentials: "
            f"{large.requests_per_second / small.requests_per_second:.2f}"
        )


if __name__ == "__main__":
    main()

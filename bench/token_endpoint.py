"""Benchmark: POST /oauth/token against a bare Starlette endpoint, same uvicorn, same run.

Not a test. Needs `wrk` (Debian package) on the PATH. For each database size it seeds a fresh
database, starts our app and the bare app (bench/bare_app.py) as separate one-worker uvicorn
processes with identical settings, drives each with the same wrk load (the same requests, a pool of
credentials used round-robin, HTTP Basic), and prints throughput, p50/p99 latency and the ratios.

    .venv/bin/python bench/token_endpoint.py                       # SQLite, 100 and 100000
    .venv/bin/python bench/token_endpoint.py --database postgres   # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/token_endpoint.py --events 50           # limited to 50 events each
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

# Run as a script, only bench/ is on the path; the repository root makes `bench.common` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Result,
    compare,
    database,
    free_port,
    seed,
    server_env,
    table_row,
    uvicorn,
)


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


def token_response_size(port: int, client_id: str, secret: str, *, events: int = 0) -> int:
    """The length of our token response; the token must be limited to `events` events (0: none
    named, every event), or the load would measure something else."""
    response = httpx.post(
        f"http://127.0.0.1:{port}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    details = response.json().get("authorization_details")
    granted = 0 if details is None else len(details[0]["event_ids"])
    if granted != events:
        raise RuntimeError(f"the token is limited to {granted} events, not {events}")
    return len(response.content)


def measure(args: argparse.Namespace, count: int, directory: Path) -> tuple[Result, Result]:
    with database(args.database, directory) as url:
        pool = asyncio.run(seed(url, count, args.algorithm, events=args.events))
        script = wrk_script(pool, directory)
        env = {
            **server_env(url, directory, args.algorithm),
            "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "100000000",
            # The service maximum caps the quota (auth/partners/credential_limits.py).
            "PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE": "100000000",
            "PARTNER_API_TOKEN_REUSE_SECONDS": str(args.reuse_seconds),
        }
        ours_port, bare_port = free_port(), free_port()
        with uvicorn("partner_api.web.asgi:app", ours_port, env, ROOT):
            size = token_response_size(ours_port, *pool[0], events=args.events)
            with uvicorn(
                "bare_app:app", bare_port, {"BARE_RESPONSE_BYTES": str(size)}, ROOT / "bench"
            ):
                return compare(
                    bare_port,
                    ours_port,
                    script,
                    seconds=args.seconds,
                    rounds=args.rounds,
                    connections=args.connections,
                )


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
    parser.add_argument(
        "--events",
        type=int,
        default=0,
        help="limit every credential to this many events of its organisation (0: all events)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(size) for size in args.sizes.split(",")):
            bare, ours = measure(args, count, Path(tmp))
            rows.append((count, bare, ours))
    reach = f"limited to {args.events} events" if args.events else "all events"
    print(
        f"\nPOST /oauth/token, {args.database}, {args.algorithm}, "
        f"reuse window {args.reuse_seconds} s, {reach}, 1 uvicorn worker "
        f"(uvloop, httptools), wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"best of {args.rounds}\n"
    )
    print("| credentials | bare req/s | ours req/s | ratio | bare p50/p99 ms | ours p50/p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for count, bare, ours in rows:
        print(table_row(str(count), bare, ours))
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

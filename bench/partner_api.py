"""Benchmark: GET /partner/v1/me with a valid bearer token against a bare Starlette endpoint.

Not a test. Needs `wrk` (Debian package) on the PATH. It seeds a fresh database with FULL
credentials, starts our app and the bare app (bench/bare_app.py, answering a JSON body of the same
length as our /me) as separate one-worker uvicorn processes with identical settings, gets one access
token per pooled credential from our own `POST /oauth/token`, and drives both apps with the same
wrk load: `GET /partner/v1/me`, the pool's tokens used round-robin. The Partner API rate limit is
raised through the environment so the load measures the endpoint, not 429s.

    .venv/bin/python bench/partner_api.py                       # SQLite
    .venv/bin/python bench/partner_api.py --database postgres   # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/partner_api.py --events 50           # limited to 50 events each
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

# Run as a script, only bench/ is on the path; the repository root makes `bench.common` importable
# (and puts the `partner_api` package ahead of this file, which shares its name).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    POOL,
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

PATH = "/partner/v1/me"
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def access_tokens(port: int, pool: list[tuple[str, str]]) -> list[str]:
    """One access token per credential, from our own token endpoint."""
    tokens = []
    for client_id, secret in pool:
        response = httpx.post(
            f"http://127.0.0.1:{port}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        response.raise_for_status()
        tokens.append(str(response.json()["access_token"]))
    return tokens


def me_response_size(port: int, tokens: list[str], *, events: int = 0) -> int:
    """The length of our /me body; every token must work and reach `events` events (0: every
    event), or the load would measure errors or something else."""
    sizes = set()
    for token in tokens:
        response = httpx.get(
            f"http://127.0.0.1:{port}{PATH}", headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        event_ids = response.json()["event_ids"]
        reached = 0 if event_ids is None else len(event_ids)
        if reached != events:
            raise RuntimeError(f"the token reaches {reached} events, not {events}")
        sizes.add(len(response.content))
    return max(sizes)


def wrk_script(tokens: list[str], directory: Path) -> Path:
    lines = ["local requests = {}"]
    for index, token in enumerate(tokens, start=1):
        lines.append(
            f'requests[{index}] = wrk.format("GET", "{PATH}", '
            f'{{["Authorization"] = "Bearer {token}"}})'
        )
    lines += [
        "local i = 0",
        "request = function()",
        f"  i = (i % {len(tokens)}) + 1",
        "  return requests[i]",
        "end",
    ]
    path = directory / "me.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(args: argparse.Namespace, directory: Path) -> tuple[Result, Result, int]:
    with database(args.database, directory) as url:
        pool = asyncio.run(seed(url, args.credentials, args.algorithm, events=args.events))
        env = {
            **server_env(url, directory, args.algorithm),
            "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
            # The service maximum caps the limit (auth/partners/credential_limits.py).
            "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
            # The tokens must outlive the whole run (warm-ups and every round).
            "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
        }
        ours_port, bare_port = free_port(), free_port()
        with uvicorn("partner_api.web.asgi:app", ours_port, env, ROOT):
            tokens = access_tokens(ours_port, pool)
            size = me_response_size(ours_port, tokens, events=args.events)
            script = wrk_script(tokens, directory)
            with uvicorn(
                "bare_app:app", bare_port, {"BARE_RESPONSE_BYTES": str(size)}, ROOT / "bench"
            ):
                bare, ours = compare(
                    bare_port,
                    ours_port,
                    script,
                    seconds=args.seconds,
                    rounds=args.rounds,
                    connections=args.connections,
                )
        return bare, ours, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--credentials", type=int, default=100, help="credentials in the database")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--algorithm", default="ES256", choices=["ES256", "EdDSA", "RS256"])
    parser.add_argument(
        "--events",
        type=int,
        default=0,
        help="limit every credential to this many events of its organisation (0: all events)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    if args.credentials < POOL:
        sys.exit(f"--credentials must be at least {POOL}")
    with tempfile.TemporaryDirectory() as tmp:
        bare, ours, size = measure(args, Path(tmp))
    reach = f"limited to {args.events} events" if args.events else "all events"
    print(
        f"\nGET {PATH}, {args.database}, {args.algorithm} tokens ({POOL} used round-robin, "
        f"{args.credentials} credentials, {reach}), {size}-byte bodies, 1 uvicorn worker "
        f"(uvloop, httptools), wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"best of {args.rounds}\n"
    )
    print("| database | bare req/s | ours req/s | ratio | bare p50/p99 ms | ours p50/p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(table_row(DATABASE_NAMES[args.database], bare, ours))
    if ours.non_2xx or bare.non_2xx:
        print(f"  (non-2xx: ours {ours.non_2xx}, bare {bare.non_2xx})")


if __name__ == "__main__":
    main()

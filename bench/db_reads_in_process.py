"""Where a Partner API read's time goes: `GET /partner/v1/orders?limit=100` (or `/events`) through
our ASGI app and through bench/db_reads_bare.py, in-process (httpx's ASGI transport, no HTTP
server), on a database seeded as the database-reads benchmark seeds it.

Not part of `make bench`; the investigation tool behind docs/benchmarks.md's notes on the reads.
`--profile` prints a cProfile listing of ours (`--sort tottime` for time in each function itself).

    .venv/bin/python -m bench.db_reads_in_process [--orders 10000] [--resource events]
    .venv/bin/python -m bench.db_reads_in_process --database postgres --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.db_reads import LIMIT, request_paths, seeded_database, server_settings


async def per_request_us(
    app: Any, paths: list[str], headers: dict[str, str], count: int, profile: str | None
) -> tuple[float, list[bytes]]:
    """Mean µs per request over `count` requests cycling through `paths`, and each path's body."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        bodies = []
        for path in paths:  # warm-up, and proof that the answer is a full page
            response = await client.get(path, headers=headers)
            if response.status_code != 200 or len(response.json()["data"]) != LIMIT:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            bodies.append(response.content)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        for index in range(count):
            await client.get(paths[index % len(paths)], headers=headers)
        elapsed = (time.perf_counter() - started) / count * 1e6
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats(profile or "cumulative").print_stats(45)
        return elapsed, bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--resource", choices=["orders", "events"], default="orders")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order with --profile")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        seeded_database(args.database, args.orders, Path(tmp)) as (url, seeded),
    ):
        paths = request_paths(url, args.resource, seeded)
        os.environ.update(server_settings(url, Path(tmp)))
        os.environ.update(
            {"BARE_DATABASE_URL": url, "BARE_ORGANISATION_ID": seeded.organisation_id}
        )
        from bench import db_reads_bare
        from partner_api.foundation.settings import Settings
        from partner_api.web.app import create_app

        ours = create_app(Settings.from_env())

        async def measure() -> tuple[float, float]:
            async with ours.router.lifespan_context(ours):
                transport = httpx.ASGITransport(app=ours)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    client_id, secret = seeded.pool[0]
                    response = await client.post(
                        "/oauth/token",
                        data={"grant_type": "client_credentials"},
                        auth=(client_id, secret),
                    )
                    token = response.json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                ours_us, ours_bodies = await per_request_us(
                    ours, paths, headers, args.requests, args.sort if args.profile else None
                )
            bare = db_reads_bare.app
            async with bare.router.lifespan_context(bare):
                bare_us, bare_bodies = await per_request_us(bare, paths, {}, args.requests, None)
            if ours_bodies != bare_bodies:
                raise RuntimeError("ours and the bare endpoint answer different bodies")
            return ours_us, bare_us

        ours_us, bare_us = asyncio.run(measure())
    print(
        f"GET /partner/v1/{args.resource}?limit={LIMIT}, {args.database}, {args.orders:,} "
        f"orders, {len(paths)} pages in turn, in-process: ours {ours_us:,.0f} µs, bare "
        f"{bare_us:,.0f} µs per request, ratio (req/s) {bare_us / ours_us:.2f}"
    )


if __name__ == "__main__":
    main()

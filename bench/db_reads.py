"""Benchmark: the Partner API's database reads, `GET /partner/v1/orders?limit=100` (orders with
their lines and customer, as the endpoint returns them) and `GET /partner/v1/events?limit=100`,
against bench/db_reads_bare.py running the same SQL with the raw driver (issue 19, part 2).

Not a test. Needs `wrk`. It seeds one organisation in bulk (bench/db_reads_seed.py: EVENTS
events, four ticket types each, `--orders` orders of 1-4 lines and a barcode per ticket, and a
second organisation with a tenth as many), starts our app and the bare app as one-worker uvicorn
processes with identical settings, gets POOL tokens from our own `POST /oauth/token`, and drives
both with the same wrk load, alternating. The load walks pages, not only the first: each request
is the first page or the page after a cursor a quarter, half or three quarters of the way into
the organisation's orders (events: the first page and the page after the 100th event), so the
keyset condition is measured at depth. Before any load, every one of those requests must answer
the same bytes from both apps, or the step fails.

    .venv/bin/python -m bench.db_reads --resource orders --database sqlite
    .venv/bin/python -m bench.db_reads --resource events --database postgres --seconds 3
    .venv/bin/python -m bench.db_reads --growth 10000,100000,1000000 --database postgres
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import partner_api as me_bench
from bench.common import (
    ROOT,
    Result,
    compare,
    database,
    free_port,
    load_average,
    peak_rss_mib,
    server_env,
    uvicorn,
    uvicorn_ours,
)
from bench.db_reads_seed import Seeded, seed_reads
from partner_api.foundation.cursors import encode_cursor

ALGORITHM = "ES256"
LIMIT = 100
RESOURCES = ("orders", "events")
# Where the measured pages start, as fractions of the organisation's orders (0: the first page).
ORDER_DEPTHS = (0.0, 0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Reads:
    """One side-by-side measurement of one resource at one size."""

    resource: str
    database: str
    orders: int
    bare: Result
    ours: Result
    body_bytes: int
    seed_seconds: float
    peak_rss_mib: float

    @property
    def ratio(self) -> float:
        return self.ours.requests_per_second / self.bare.requests_per_second

    def figures(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def _order_by(resource: str) -> str:
    if resource == "orders":
        return "created_at DESC, id DESC"
    return "starts_at, id"


async def _cursor_rows(
    url: str, resource: str, organisation_id: str, offsets: list[int]
) -> list[tuple[datetime, Any]]:
    """(timestamp, id) of the row at each offset of the organisation's listing, by the raw
    driver: where a page after that row starts."""
    table, at = ("ticket_order", "created_at") if resource == "orders" else ("event", "starts_at")
    sql = (
        f'SELECT "{at}", id FROM "{table}" WHERE organisation_id = ? '  # noqa: S608
        f"ORDER BY {_order_by(resource)} LIMIT 1 OFFSET ?"
    )
    found = []
    if url.startswith("sqlite://"):
        connection = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            for offset in offsets:
                moment, row_id = connection.execute(sql, (organisation_id, offset)).fetchone()
                found.append((datetime.fromisoformat(moment), row_id))
        finally:
            connection.close()
        return found
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        numbered = sql.replace("?", "$1", 1).replace("?", "$2", 1)
        for offset in offsets:
            row = await connection.fetchrow(numbered, UUID(organisation_id), offset)
            found.append((row[0], row[1]))
    finally:
        await connection.close()
    return found


def request_paths(url: str, resource: str, seeded: Seeded) -> list[str]:
    """The pages the load asks for: the first, and pages after rows deep in the listing."""
    base = f"/partner/v1/{resource}?limit={LIMIT}"
    if resource == "orders":
        offsets = [int(seeded.orders * depth) for depth in ORDER_DEPTHS if depth > 0]
    else:
        offsets = [LIMIT - 1]  # the second page of EVENTS events
    rows = asyncio.run(_cursor_rows(url, resource, seeded.organisation_id, offsets))
    cursors = [encode_cursor(moment, row_id) for moment, row_id in rows]
    return [base, *(f"{base}&cursor={quote(cursor)}" for cursor in cursors)]


def same_bodies(ours_port: int, bare_port: int, token: str, paths: list[str]) -> int:
    """Every path answers 200 and the same bytes from both apps; returns the largest body."""
    largest = 0
    headers = {"Authorization": f"Bearer {token}"}
    for path in paths:
        ours = httpx.get(f"http://127.0.0.1:{ours_port}{path}", headers=headers, timeout=30)
        bare = httpx.get(f"http://127.0.0.1:{bare_port}{path}", timeout=30)
        if ours.status_code != 200 or bare.status_code != 200:
            raise RuntimeError(f"{path}: ours {ours.status_code}, bare {bare.status_code}")
        if ours.content != bare.content:
            raise RuntimeError(
                f"{path}: the bodies differ (ours {len(ours.content)} bytes, bare "
                f"{len(bare.content)}); first 300 of each:\n{ours.content[:300]!r}\n"
                f"{bare.content[:300]!r}"
            )
        if len(ours.json()["data"]) != LIMIT:
            raise RuntimeError(f"{path}: not a full page of {LIMIT}")
        largest = max(largest, len(ours.content))
    return largest


def wrk_script(tokens: list[str], paths: list[str], directory: Path) -> Path:
    """Requests cycling through every (token, page) pair."""
    pairs = [(token, path) for token in tokens for path in paths]
    lines = ["local requests = {}"]
    for index, (token, page) in enumerate(pairs, start=1):
        lines.append(
            f'requests[{index}] = wrk.format("GET", "{page}", '
            f'{{["Authorization"] = "Bearer {token}"}})'
        )
    lines += [
        "local i = 0",
        "request = function()",
        f"  i = (i % {len(pairs)}) + 1",
        "  return requests[i]",
        "end",
    ]
    script = directory / "reads.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def server_settings(url: str, directory: Path) -> dict[str, str]:
    return {
        **server_env(url, directory, ALGORITHM),
        "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
        "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
        "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
    }


def _seed(url: str, orders: int) -> Seeded:
    return asyncio.run(seed_reads(url, orders, ALGORITHM))


@contextmanager
def seeded_database(kind: str, orders: int, directory: Path) -> Iterator[tuple[str, Seeded]]:
    """A fresh database seeded in a child process: `make bench` seeds SQLite and PostgreSQL in
    turn, and Tortoise in one process keeps the SQL of the first dialect (seed_reads)."""
    with database(kind, directory) as url:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as child:
            seeded = child.submit(_seed, url, orders).result()
        yield url, seeded


def measure_seeded(
    url: str,
    seeded: Seeded,
    kind: str,
    resources: tuple[str, ...],
    directory: Path,
    *,
    seconds: int,
    rounds: int,
    connections: int,
) -> list[Reads]:
    """Each resource side by side on one seeded database, ours and bare started once."""
    ours_port, bare_port = free_port(), free_port()
    bare_env = {"BARE_DATABASE_URL": url, "BARE_ORGANISATION_ID": seeded.organisation_id}
    measured = []
    with (
        uvicorn_ours(ours_port, server_settings(url, directory), directory) as ours_process,
        uvicorn("bench.db_reads_bare:app", bare_port, bare_env, ROOT),
    ):
        tokens = me_bench.access_tokens(ours_port, seeded.pool)
        for resource in resources:
            paths = request_paths(url, resource, seeded)
            size = same_bodies(ours_port, bare_port, tokens[0], paths)
            script = wrk_script(tokens, paths, directory)
            bare, ours = compare(
                bare_port,
                ours_port,
                script,
                seconds=seconds,
                rounds=rounds,
                connections=connections,
            )
            measured.append(
                Reads(
                    resource,
                    kind,
                    seeded.orders,
                    bare,
                    ours,
                    size,
                    seeded.bulk_seconds,
                    peak_rss_mib(ours_process.pid),
                )
            )
    return measured


def measure(
    kind: str,
    orders: int,
    resources: tuple[str, ...],
    directory: Path,
    *,
    seconds: int,
    rounds: int,
    connections: int = 32,
) -> list[Reads]:
    """Seed `orders` orders on `kind` and measure each resource against the bare endpoint."""
    directory.mkdir(parents=True, exist_ok=True)
    with seeded_database(kind, orders, directory) as (url, seeded):
        return measure_seeded(
            url,
            seeded,
            kind,
            resources,
            directory,
            seconds=seconds,
            rounds=rounds,
            connections=connections,
        )


# What `make bench` runs (bench/run_all.py): each resource on each database at RATIO_ORDERS
# orders, and the orders endpoint's growth on GROWTH_DATABASE (COPY seeds a million in minutes).
READ_STEPS = (("orders", "sqlite"), ("events", "sqlite"), ("orders", "postgres"),
              ("events", "postgres"))  # fmt: skip
GROWTH_DATABASE = "postgres"
TARGET_RATIO = 0.60
TARGET_GROWTH = 0.90


def ratio_orders(quick: bool) -> int:
    return 2_000 if quick else 10_000


def growth_sizes(quick: bool) -> tuple[int, ...]:
    return (1_000, 10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)


def read_key(resource: str, kind: str) -> str:
    return f"reads/{resource}-{kind}"


def growth_key(size: int) -> str:
    return f"reads/growth/{size}"


def targets(figures: dict[str, dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """The issue's target rows from the `reads` figures of each step (by step key)."""
    rows = []
    for resource, kind in READ_STEPS:
        ratio = figures[read_key(resource, kind)]["ratio"]
        rows.append(
            {
                "target": f"GET /partner/v1/{resource}?limit={LIMIT} on {kind} "
                f"≥ {TARGET_RATIO:.2f} of the raw-driver endpoint",
                "value": round(ratio, 3),
                "threshold": TARGET_RATIO,
                "met": ratio >= TARGET_RATIO,
            }
        )
    small, large = growth_sizes(quick)[0], growth_sizes(quick)[-1]
    growth = (
        figures[growth_key(large)]["ours"]["requests_per_second"]
        / figures[growth_key(small)]["ours"]["requests_per_second"]
    )
    rows.append(
        {
            "target": f"orders page at {large:,} orders ≥ {TARGET_GROWTH:.2f} of {small:,} "
            f"({GROWTH_DATABASE})",
            "value": round(growth, 3),
            "threshold": TARGET_GROWTH,
            "met": growth >= TARGET_GROWTH,
        }
    )
    return rows


def table_lines(figures: dict[str, dict[str, Any]], quick: bool) -> list[str]:
    """The growth table: each size's req/s, ours and bare, and each against the smallest."""
    sizes = growth_sizes(quick)
    first = figures[growth_key(sizes[0])]
    lines = [
        f"| orders page ({GROWTH_DATABASE}) | bare req/s | ours req/s | ratio | ours vs "
        f"{sizes[0]:,} | bare vs {sizes[0]:,} | seeded in s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sizes:
        reads = figures[growth_key(size)]
        ours, bare = reads["ours"]["requests_per_second"], reads["bare"]["requests_per_second"]
        lines.append(
            f"| {size:,} orders | {bare:,.0f} | {ours:,.0f} | {ours / bare:.2f} | "
            f"{ours / first['ours']['requests_per_second']:.2f} | "
            f"{bare / first['bare']['requests_per_second']:.2f} | {reads['seed_seconds']:.0f} |"
        )
    return lines


def describe(reads: Reads) -> str:
    return (
        f"GET /partner/v1/{reads.resource}?limit={LIMIT}, {reads.database}, {reads.orders:,} "
        f"orders: bare {reads.bare.requests_per_second:,.0f} req/s, ours "
        f"{reads.ours.requests_per_second:,.0f} req/s, ratio {reads.ratio:.2f} "
        f"(p50 {reads.bare.p50_ms:.2f} / {reads.ours.p50_ms:.2f} ms; bodies up to "
        f"{reads.body_bytes:,} bytes, identical; seeded in {reads.seed_seconds:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--resource", choices=[*RESOURCES, "both"], default="both")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument(
        "--growth", help="comma-separated order counts: the orders endpoint at each size"
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    resources = RESOURCES if args.resource == "both" else (args.resource,)
    sizes = [int(size) for size in args.growth.split(",")] if args.growth else [args.orders]
    if args.growth:
        resources = ("orders",)
    print(f"load average before: {load_average()}", flush=True)
    results: list[Reads] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            started = time.monotonic()
            for reads in measure(
                args.database,
                size,
                resources,
                Path(tmp) / f"{size}",
                seconds=args.seconds,
                rounds=args.rounds,
                connections=args.connections,
            ):
                results.append(reads)
                print(describe(reads), flush=True)
            print(f"  {time.monotonic() - started:.0f} s, load {load_average()}", flush=True)
    if len(results) > 1 and args.growth:
        first = results[0]
        for reads in results:
            print(
                f"{reads.orders:>10,} orders: ours {reads.ours.requests_per_second:,.0f} req/s "
                f"({reads.ours.requests_per_second / first.ours.requests_per_second:.2f} of "
                f"{first.orders:,}), bare {reads.bare.requests_per_second:,.0f} req/s "
                f"({reads.bare.requests_per_second / first.bare.requests_per_second:.2f})"
            )


if __name__ == "__main__":
    main()

"""Benchmark: a hot product — 64 clients reserve 1-4 tickets of one product on PostgreSQL until
it is sold out, ours (`POST /partner/v1/reservations` with an Idempotency-Key) against a bare
Starlette endpoint doing the same transaction with raw asyncpg (bench/hot_product_bare.py), its
statements in ours' order: the stock is taken after the order and its lines are written, so the
product's row is locked for as little of the transaction as possible in both
(`--bare-stock-first`: the baseline takes it first, as a naive transaction would).

Not a test. One fresh PostgreSQL database (127.0.0.1:5432) holds one organisation, one event and
64 credentials (one access token per client, from our own token endpoint); every run reserves a
product of its own with `stock` tickets, so ours and the baseline alternate on one database, the
baseline first in each round, after an unrecorded warm-up run each (a tenth of the stock). The
load is bench/hot_product_load.py (why not wrk: see there). After every run the database is
counted and the step fails unless the product's `sold` equals its capacity and the tickets of its
order lines, its orders and idempotency records equal the 201 answers, and no order lacks its
line: zero oversell, zero lost orders.

Variants (`--variant`): `postgres` (one process each), `redis` (ours with `REDIS_URL`, so its
rate-limit counters are shared through Redis), `two-processes` (two processes each, on two ports,
the clients split between them; ours with Redis, as README's several-process deployment).

    .venv/bin/python -m bench.hot_product [--variant postgres] [--stock 10000] [--rounds 2]
                                          [--bare-stock-first]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from tortoise import Tortoise

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auth.partners.signing_keys import rotate_signing_key
from bench.common import (
    KEK,
    ROOT,
    Result,
    add_credentials,
    add_events,
    database,
    free_port,
    peak_rss_mib,
    server_env,
    uvicorn,
    uvicorn_ours,
)
from bench.hot_product_load import Outcome, Target, reserve_until_sold_out
from bench.partner_api import access_tokens
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, tortoise_config

CLIENTS = 64
# Tickets per run in `make bench` and its `--quick` smoke run: 10,000 tickets are about 4,000
# reservations (2.5 tickets each on average), ≈ 20 s of ours at ≈ 200 reservations/s here.
STOCK, QUICK_STOCK = 10_000, 2_000
ALGORITHM = "ES256"
# Not the tests' database 15, which they flush.
REDIS_URL = "redis://127.0.0.1:6379/13"
PRICE_CENTS = 4500


@dataclass(frozen=True)
class Variant:
    processes: int
    redis: bool
    label: str


VARIANTS = {
    "postgres": Variant(1, False, "PostgreSQL, one process each"),
    "redis": Variant(1, True, "PostgreSQL + Redis, one process each"),
    "two-processes": Variant(2, True, "PostgreSQL + Redis, two processes each"),
}


@dataclass(frozen=True)
class Tenant:
    organisation_id: str
    event_id: str
    credential_id: str
    pool: list[tuple[str, str]]


@dataclass(frozen=True)
class Run:
    """One run until sold out, as measured and as counted afterwards."""

    app: str
    reservations: int
    tickets: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    sold_out_answers: int
    client_cpu_us_per_request: float

    def result(self) -> Result:
        return Result(self.per_second, self.p50_ms, self.p99_ms, 0)


async def _seed(url: str) -> Tenant:
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        organisation = await Organisation.create(name=f"Hot {secrets.token_hex(3)}")
        (event_id,) = await add_events(organisation.id, 1)
        pool = await add_credentials(organisation.id, CLIENTS, pool=CLIENTS)
        await rotate_signing_key(algorithm=ALGORITHM, key_encryption_key=KEK.encode(), now=utcnow())
    finally:
        await Tortoise.close_connections()
    connection = await asyncpg.connect(_asyncpg_url(url))
    try:
        credential_id = await connection.fetchval(
            "SELECT id FROM credential WHERE client_id = $1", pool[0][0]
        )
    finally:
        await connection.close()
    return Tenant(str(organisation.id), event_id, str(credential_id), pool)


def _asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def _new_product(url: str, tenant: Tenant, capacity: int) -> str:
    connection = await asyncpg.connect(_asyncpg_url(url))
    try:
        product_id = uuid4()
        await connection.execute(
            "INSERT INTO product (id, organisation_id, event_id, name, price, currency, capacity,"
            " sold, created_at) VALUES ($1, $2, $3, 'Hot ticket', $4, 'EUR', $5, 0, now())",
            product_id,
            UUID(tenant.organisation_id),
            UUID(tenant.event_id),
            PRICE_CENTS,
            capacity,
        )
        return str(product_id)
    finally:
        await connection.close()


async def _count(url: str, product_id: str, event_id: str, key_prefix: str) -> dict[str, int]:
    connection = await asyncpg.connect(_asyncpg_url(url))
    try:
        row = await connection.fetchrow(
            """
            SELECT p.sold, p.capacity,
                   (SELECT count(DISTINCT order_id) FROM order_line WHERE product_id = p.id)
                       AS orders,
                   (SELECT coalesce(sum(quantity), 0) FROM order_line WHERE product_id = p.id)
                       AS line_tickets,
                   (SELECT count(*) FROM idempotent_response WHERE key LIKE $2) AS records,
                   (SELECT count(*) FROM ticket_order o WHERE o.event_id = $3 AND NOT EXISTS
                       (SELECT 1 FROM order_line l WHERE l.order_id = o.id)) AS orders_without_lines
            FROM product p WHERE p.id = $1
            """,
            UUID(product_id),
            f"{key_prefix}-%",
            UUID(event_id),
        )
        return {name: int(value) for name, value in dict(row).items()}
    finally:
        await connection.close()


def check(counts: dict[str, int], outcome: Outcome, app: str) -> None:
    """Fail the step unless stock, orders, records and answers agree exactly."""
    problems = []
    if outcome.unexpected:
        problems.append(
            f"{len(outcome.unexpected)} unexpected answers, first {outcome.unexpected[0]}"
        )
    if counts["sold"] > counts["capacity"]:
        problems.append(f"oversold: {counts['sold']} sold of {counts['capacity']}")
    if counts["sold"] != counts["capacity"]:
        problems.append(f"not sold out: {counts['sold']} of {counts['capacity']}")
    if counts["line_tickets"] != counts["sold"]:
        problems.append(f"order lines hold {counts['line_tickets']} tickets, sold {counts['sold']}")
    if counts["line_tickets"] != outcome.reserved_tickets:
        problems.append(
            f"{counts['line_tickets']} tickets stored, {outcome.reserved_tickets} answered"
        )
    if counts["orders"] != outcome.reservations:
        problems.append(f"{counts['orders']} orders stored, {outcome.reservations} answered 201")
    if counts["records"] != outcome.reservations:
        problems.append(f"{counts['records']} idempotency records, {outcome.reservations} answered")
    if counts["orders_without_lines"]:
        problems.append(f"{counts['orders_without_lines']} orders without lines")
    if problems:
        raise RuntimeError(f"hot product, {app}: " + "; ".join(problems))


def run_once(
    url: str, tenant: Tenant, app: str, ports: tuple[int, ...], tokens: tuple[str, ...], stock: int
) -> Run:
    """One product of `stock` tickets reserved until sold out, then counted and checked."""
    product_id = asyncio.run(_new_product(url, tenant, stock))
    target = Target(ports, tokens, tenant.event_id, product_id, f"{app}-{secrets.token_hex(4)}")
    outcome = reserve_until_sold_out(target, CLIENTS)
    check(asyncio.run(_count(url, product_id, tenant.event_id, target.key_prefix)), outcome, app)
    return Run(
        app,
        outcome.reservations,
        outcome.reserved_tickets,
        outcome.last_success - outcome.started,
        outcome.per_second,
        outcome.percentile_ms(0.50),
        outcome.percentile_ms(0.99),
        outcome.sold_out,
        outcome.client_cpu_seconds / max(1, outcome.requests) * 1e6,
    )


@contextmanager
def _servers(
    variant: Variant, url: str, tenant: Tenant, directory: Path, *, bare_stock_first: bool
) -> Iterator[tuple[tuple[int, ...], tuple[int, ...], list[int]]]:
    """Our processes and the baseline's; yields (ours ports, bare ports, our pids)."""
    env = {
        **server_env(url, directory, ALGORITHM),
        "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
        # The service maximum caps the limit (auth/partners/credential_limits.py).
        "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
        "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
    }
    if variant.redis:
        env["REDIS_URL"] = REDIS_URL
    bare_env = {
        "HOT_BARE_DATABASE_URL": _asyncpg_url(url),
        "HOT_BARE_ORGANISATION_ID": tenant.organisation_id,
        "HOT_BARE_CREDENTIAL_ID": tenant.credential_id,
        "HOT_BARE_STOCK_FIRST": "1" if bare_stock_first else "",
    }
    ours_ports = tuple(free_port() for _ in range(variant.processes))
    bare_ports = tuple(free_port() for _ in range(variant.processes))
    with ExitStack() as stack:
        pids = []
        for index, port in enumerate(ours_ports):
            work = directory / f"ours-{index}"
            work.mkdir(exist_ok=True)
            pids.append(stack.enter_context(uvicorn_ours(port, env, work)).pid)
        for port in bare_ports:
            stack.enter_context(uvicorn("hot_product_bare:app", port, bare_env, ROOT / "bench"))
        yield ours_ports, bare_ports, pids


def measure(
    directory: Path, variant_key: str, *, stock: int, rounds: int, bare_stock_first: bool = False
) -> dict[str, Any]:
    """The variant's figures: every run, the best of each app, their ratio, our peak RSS.
    `bare_stock_first`: the baseline takes the stock before its inserts, not where ours does."""
    variant = VARIANTS[variant_key]
    with database("postgres", directory) as url:
        tenant = asyncio.run(_seed(url))
        servers = _servers(variant, url, tenant, directory, bare_stock_first=bare_stock_first)
        with servers as (ours_ports, bare_ports, pids):
            tokens = tuple(access_tokens(ours_ports[0], tenant.pool))
            apps = (("bare", bare_ports), ("ours", ours_ports))
            for app, ports in apps:  # warm-up, counted and checked like every run
                run_once(url, tenant, app, ports, tokens, max(100, stock // 10))
            runs: list[Run] = []
            for _ in range(rounds):
                for app, ports in apps:
                    runs.append(run_once(url, tenant, app, ports, tokens, stock))
            rss = max(peak_rss_mib(pid) for pid in pids)
    best = {
        app: max((run for run in runs if run.app == app), key=lambda run: run.per_second)
        for app, _ in apps
    }
    return {
        "variant": variant_key,
        "label": variant.label,
        "clients": CLIENTS,
        "stock": stock,
        "rounds": rounds,
        "bare_stock_first": bare_stock_first,
        "runs": [asdict(run) for run in runs],
        "best": {app: asdict(run) for app, run in best.items()},
        "ratio": best["ours"].per_second / best["bare"].per_second,
        "peak_rss_mib": rss,
    }


def describe(figures: dict[str, Any]) -> str:
    bare, ours = figures["best"]["bare"], figures["best"]["ours"]
    return (
        f"{figures['label']}: bare {bare['per_second']:,.0f} reservations/s "
        f"(p50 {bare['p50_ms']:.1f} / p99 {bare['p99_ms']:.1f} ms), ours "
        f"{ours['per_second']:,.0f} (p50 {ours['p50_ms']:.1f} / p99 {ours['p99_ms']:.1f} ms), "
        f"ratio {figures['ratio']:.2f}; {ours['reservations']:,} reservations of "
        f"{figures['stock']:,} tickets per run, every run sold out exactly and counted"
        + ("; the baseline takes the stock first" if figures["bare_stock_first"] else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="postgres")
    parser.add_argument("--stock", type=int, default=STOCK, help="tickets per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--bare-stock-first",
        action="store_true",
        help="the baseline takes the stock first (returning the price), not in ours' place",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(
            Path(tmp),
            args.variant,
            stock=args.stock,
            rounds=args.rounds,
            bare_stock_first=args.bare_stock_first,
        )
    for run in figures["runs"]:
        print(
            f"  {run['app']:>4}: {run['reservations']:,} reservations ({run['tickets']:,} tickets) "
            f"in {run['seconds']:.2f} s: {run['per_second']:,.0f}/s, p50 {run['p50_ms']:.1f} ms, "
            f"p99 {run['p99_ms']:.1f} ms, {run['sold_out_answers']} sold-out answers, "
            f"load client {run['client_cpu_us_per_request']:.0f} µs CPU per request"
        )
    print(describe(figures))


if __name__ == "__main__":
    main()

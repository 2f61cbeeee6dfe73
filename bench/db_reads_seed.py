"""Seeding for the database-reads benchmark: one organisation with events, products (ticket types)
and orders with 1-4 lines, customers and one barcode per ticket, in bulk.

The organisation, its credentials and the signing key are made through the models (a handful of
rows); the ticketing rows bypass the ORM: `executemany` in one transaction on SQLite, `COPY` on
PostgreSQL, so a million orders take minutes rather than hours. The rows are what the models
would write: SQLite timestamps as Tortoise stores them (`str()` of an aware UTC datetime), UUIDs
as text there and as `uuid` on PostgreSQL. A second organisation gets a tenth as many orders,
interleaved in time, so the organisation filter has rows to skip as it would in production.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from tortoise import Tortoise

from auth.partners.signing_keys import rotate_signing_key
from bench.common import KEK, POOL, add_credentials
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, tortoise_config

EVENTS = 200
PRODUCT_KINDS = (("Standing", 3500), ("Seated", 5500), ("Family", 9000), ("VIP", 12000))
# Lines per order (mostly one or two) and tickets per line, drawn uniformly from these.
LINE_COUNTS = (1, 1, 1, 2, 2, 2, 3, 4)
QUANTITIES = (1, 1, 1, 2, 2, 3, 4)
FIVE_MINUTES = timedelta(minutes=5)
BATCH = 20_000
# Orders span the year before the seed; later orders are newer, as in production.
SPAN = timedelta(days=365)
STATUSES = ("COMPLETED",) * 8 + ("PENDING", "CANCELLED")

EVENT_COLUMNS = ("id", "organisation_id", "name", "venue", "starts_at", "ends_at", "created_at")
PRODUCT_COLUMNS = (
    "id", "organisation_id", "event_id", "name", "price", "currency", "capacity", "sold",
    "created_at",
)  # fmt: skip
ORDER_COLUMNS = (
    "id", "organisation_id", "event_id", "status", "customer_name", "customer_email",
    "external_reference", "credential_id", "created_at", "completed_at", "cancelled_at",
)  # fmt: skip
LINE_COLUMNS = ("id", "order_id", "product_id", "quantity", "unit_price")
BARCODE_COLUMNS = ("id", "order_id", "product_id", "code", "created_at")

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Seeded:
    organisation_id: str
    pool: list[tuple[str, str]]
    orders: int
    # Wall-clock seconds of the bulk part (events, products, orders, lines, barcodes).
    bulk_seconds: float


@dataclass
class _Batch:
    orders: list[Row]
    lines: list[Row]
    barcodes: list[Row]


# The version (4) and variant bits of a random UUID.
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


class _Rows:
    """Deterministic rows (one seeded generator). UUIDs are text (asyncpg encodes text for a
    `uuid` column); `stamp` turns a datetime into what the backend stores."""

    def __init__(self, seed: int, stamp: Callable[[datetime], Any]) -> None:
        self._random = random.Random(seed)  # noqa: S311 -- test data, repeatable by design
        self._stamp = stamp
        self._barcode = 0

    def uuid(self) -> str:
        value = f"{self._random.getrandbits(128) & _V4_CLEAR | _V4_SET:032x}"
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"

    def events(self, organisation_id: str, count: int, now: datetime) -> list[Row]:
        stamp, rows = self._stamp, []
        for index in range(count):
            starts = now + timedelta(days=index % 120 - 30, hours=self._random.randrange(24))
            rows.append(
                (self.uuid(), organisation_id, f"Concert {index}", "Bench Hall",
                 stamp(starts), stamp(starts + timedelta(hours=3)), stamp(now - SPAN))
            )  # fmt: skip
        return rows

    def products(self, organisation_id: str, events: list[Row]) -> list[Row]:
        rows = []
        for event in events:
            for kind, price in PRODUCT_KINDS:
                rows.append(
                    (self.uuid(), organisation_id, event[0], kind, price, "EUR", 1_000_000, 0,
                     event[6])
                )  # fmt: skip
        return rows

    def batch(
        self, organisation_id: str, products_by_event: dict[str, list[Row]], moments: list[datetime]
    ) -> _Batch:
        rng, stamp, uuid = self._random, self._stamp, self.uuid
        event_ids = list(products_by_event)
        orders: list[Row] = []
        lines: list[Row] = []
        barcodes: list[Row] = []
        for created in moments:
            order_id = uuid()
            event_id = event_ids[rng.getrandbits(16) % len(event_ids)]
            status = STATUSES[rng.getrandbits(8) % len(STATUSES)]
            number = rng.getrandbits(20)
            created_text = stamp(created)
            orders.append(
                (order_id, organisation_id, event_id, status, f"Customer {number}",
                 f"customer{number}@example.com", f"EXT-{number}" if number % 3 else None,
                 None, created_text,
                 stamp(created + FIVE_MINUTES) if status == "COMPLETED" else None,
                 stamp(created + FIVE_MINUTES) if status == "CANCELLED" else None)
            )  # fmt: skip
            products = products_by_event[event_id]
            first, count = rng.getrandbits(8) % len(products), LINE_COUNTS[rng.getrandbits(8) % 8]
            for offset in range(count):  # 1-4 distinct ticket types of the event
                product = products[(first + offset) % len(products)]
                quantity = QUANTITIES[rng.getrandbits(8) % len(QUANTITIES)]
                lines.append((uuid(), order_id, product[0], quantity, product[4]))
                for _ in range(quantity):
                    self._barcode += 1
                    barcodes.append(
                        (uuid(), order_id, product[0], f"BC{self._barcode:012d}", created_text)
                    )
        return _Batch(orders, lines, barcodes)


def _moments(count: int, now: datetime, rng: random.Random) -> list[datetime]:
    """`count` distinct instants over SPAN, ascending, each with a non-zero microsecond (so every
    stored SQLite text has the same shape, as Tortoise writes it)."""
    step = SPAN / max(count, 1)
    start = now - SPAN
    return [
        start + step * index + timedelta(microseconds=rng.randrange(1, 1000))
        for index in range(count)
    ]


def _batches(
    rows: _Rows,
    organisation_id: str,
    products_by_event: dict[str, list[Row]],
    count: int,
    now: datetime,
) -> Iterator[_Batch]:
    moments = _moments(count, now, rows._random)
    for start in range(0, count, BATCH):
        yield rows.batch(organisation_id, products_by_event, moments[start : start + BATCH])


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" * len(columns))
    # Our own table and column names, never input.
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608


@dataclass(frozen=True)
class _Plan:
    organisations: list[tuple[str, int]]  # (organisation, orders)
    now: datetime


def _organisation_rows(
    rows: _Rows, plan: _Plan
) -> Iterator[tuple[str, tuple[str, ...], list[Row]]]:
    """(table, columns, rows) in insertion order, batch by batch."""
    for organisation_id, count in plan.organisations:
        events = rows.events(organisation_id, EVENTS, plan.now)
        products = rows.products(organisation_id, events)
        yield "event", EVENT_COLUMNS, events
        yield "product", PRODUCT_COLUMNS, products
        by_event: dict[str, list[Row]] = {}
        for product in products:
            by_event.setdefault(product[2], []).append(product)
        for batch in _batches(rows, organisation_id, by_event, count, plan.now):
            yield "ticket_order", ORDER_COLUMNS, batch.orders
            yield "order_line", LINE_COLUMNS, batch.lines
            yield "barcode", BARCODE_COLUMNS, batch.barcodes


def _bulk_sqlite(path: str, plan: _Plan) -> None:
    connection = sqlite3.connect(path)
    try:
        # Seeding only, the file's journal mode restored afterwards: without a journal and
        # with a 2 GiB page cache, the random-UUID primary keys' B-trees stay in memory (one
        # WAL transaction of a million orders took over 6 minutes and was not done).
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -2000000")
        with connection:
            for table, columns, values in _organisation_rows(_Rows(19, str), plan):
                connection.executemany(_insert_sql(table, columns), values)
        connection.execute(f"PRAGMA journal_mode = {mode}")
    finally:
        connection.close()


def _same(moment: datetime) -> datetime:
    return moment


async def _bulk_postgres(url: str, plan: _Plan) -> None:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        async with connection.transaction():
            for table, columns, values in _organisation_rows(_Rows(19, _same), plan):
                await connection.copy_records_to_table(table, records=values, columns=columns)
        # What autovacuum does soon after a bulk load; the planner needs the table sizes.
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def seed_reads(database_url: str, orders: int, algorithm: str) -> Seeded:
    """Call it once per process (bench/db_reads.py runs it in a child): Tortoise keeps the
    queries it built for the first database's dialect, and a later PostgreSQL seed after an
    SQLite one fails on SQLite's SQL.

    An organisation with EVENTS events, their products and `orders` orders, POOL FULL
    credentials and a signing key; another organisation with a tenth as many orders."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        organisation = await Organisation.create(name="Bench reads")
        other = await Organisation.create(name="Bench reads, another organisation")
        pool = await add_credentials(organisation.id, POOL)
        await rotate_signing_key(algorithm=algorithm, key_encryption_key=KEK.encode(), now=utcnow())
    finally:
        await Tortoise.close_connections()
    organisations = [(str(organisation.id), orders), (str(other.id), orders // 10)]
    plan = _Plan(organisations, utcnow().astimezone(UTC))
    started = time.monotonic()
    if database_url.startswith("sqlite://"):
        await asyncio.to_thread(_bulk_sqlite, database_url.removeprefix("sqlite://"), plan)
    else:
        await _bulk_postgres(database_url, plan)
    return Seeded(str(organisation.id), pool, orders, time.monotonic() - started)

"""The baseline of the database-reads benchmark: `GET /partner/v1/orders` and `/events` as bare
Starlette endpoints over the raw driver (aiosqlite or asyncpg), answering the same JSON bytes as
ours for the same request.

It does what the endpoint cannot avoid and nothing else: read `limit` and `cursor`, run the same
SQL (the same rows, order and keyset condition as ours, the organisation fixed by the environment
instead of a verified token), turn the rows into the same document and encode it with orjson, as
ours does. No token, rate limit or usage counting: those are what ours pays on top. SQLite is one
aiosqlite connection, as Tortoise keeps; PostgreSQL an asyncpg pool of Tortoise's default size.

    BARE_DATABASE_URL=sqlite:///path.sqlite3 BARE_ORGANISATION_ID=<uuid> \\
        uvicorn bench.db_reads_bare:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiosqlite
import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from partner_api.foundation.cursors import InvalidCursor, decode_cursor, encode_cursor

DATABASE_URL = os.environ.get("BARE_DATABASE_URL", "")
ORGANISATION_ID = os.environ.get("BARE_ORGANISATION_ID", "")
HEADERS = {"Cache-Control": "no-store"}

ORDER_COLUMNS = (
    "id, event_id, status, customer_name, customer_email, external_reference, created_at, "
    "completed_at, cancelled_at"
)
EVENT_COLUMNS = "id, name, venue, starts_at, ends_at"


class _Database:
    """One query interface over both drivers: `?` placeholders, rows as tuples, timestamps and
    UUIDs as the driver returns them (`moment` and `text` make them JSON)."""

    sqlite: aiosqlite.Connection | None = None
    pool: asyncpg.Pool | None = None

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[Sequence[Any]]:
        if self.sqlite is not None:
            async with self.sqlite.execute(sql, values) as cursor:
                return list(await cursor.fetchall())
        assert self.pool is not None
        numbered = sql
        for index in range(1, len(values) + 1):
            numbered = numbered.replace("?", f"${index}", 1)
        return list(await self.pool.fetch(numbered, *values))

    def stamp(self, value: datetime) -> Any:
        """A timestamp as a query parameter: SQLite compares the stored text."""
        return str(value) if self.sqlite is not None else value


DB = _Database()


def moment(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).isoformat()
    return str(value.isoformat())


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit", "20")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 100 else None


def _bad_request() -> Response:
    return Response(b'{"error":"invalid_request"}', 400, media_type="application/json")


def _answer(data: list[dict[str, Any]], rows: list[Sequence[Any]], limit: int, at: int) -> Response:
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        moment_value = last[at]
        if isinstance(moment_value, str):
            moment_value = datetime.fromisoformat(moment_value)
        next_cursor = encode_cursor(moment_value, last[0])
    body = orjson.dumps({"data": data, "next_cursor": next_cursor})
    return Response(body, headers=HEADERS, media_type="application/json")


def _after(request: Request, condition: str) -> tuple[str, list[Any]] | None:
    """The query's values (the organisation) and, after a cursor, the keyset `condition` (its three
    placeholders: the time twice, then the id) with their values; None for a bad cursor."""
    values: list[Any] = [ORGANISATION_ID]
    raw_cursor = request.query_params.get("cursor")
    if raw_cursor is None:
        return "", values
    try:
        at, row_id = decode_cursor(raw_cursor)
    except InvalidCursor:
        return None
    return condition, [*values, DB.stamp(at), DB.stamp(at), _id(row_id)]


async def orders(request: Request) -> Response:
    limit = _limit(request)
    if limit is None:
        return _bad_request()
    sql = f"SELECT {ORDER_COLUMNS} FROM ticket_order WHERE organisation_id = ?"  # noqa: S608
    after = _after(request, " AND created_at <= ? AND (created_at < ? OR id < ?)")
    if after is None:
        return _bad_request()
    rows = await DB.fetch(
        sql + after[0] + " ORDER BY created_at DESC, id DESC LIMIT ?", [*after[1], limit + 1]
    )
    page = rows[:limit]
    lines: dict[str, list[Sequence[Any]]] = {str(row[0]): [] for row in page}
    if page:
        marks = ", ".join("?" * len(page))
        for line in await DB.fetch(
            "SELECT l.order_id, l.product_id, l.quantity, l.unit_price, p.currency "  # noqa: S608
            f"FROM order_line l JOIN product p ON p.id = l.product_id "
            f"WHERE l.order_id IN ({marks}) ORDER BY l.order_id, l.id",
            [row[0] for row in page],
        ):
            lines[str(line[0])].append(line)
    data = []
    for row in page:
        own = lines[str(row[0])]
        currency = own[0][4] if own else "EUR"
        data.append(
            {
                "id": str(row[0]),
                "event_id": str(row[1]),
                "status": row[2],
                "customer": {"name": row[3], "email": row[4]},
                "external_reference": row[5],
                "lines": [
                    {
                        "product_id": str(line[1]),
                        "quantity": line[2],
                        "unit_price": {"amount": line[3], "currency": currency},
                    }
                    for line in own
                ],
                "total": {"amount": sum(line[2] * line[3] for line in own), "currency": currency},
                "created_at": moment(row[6]),
                "completed_at": moment(row[7]),
                "cancelled_at": moment(row[8]),
            }
        )
    return _answer(data, rows, limit, 6)


async def events(request: Request) -> Response:
    limit = _limit(request)
    if limit is None:
        return _bad_request()
    sql = f"SELECT {EVENT_COLUMNS} FROM event WHERE organisation_id = ?"  # noqa: S608
    after = _after(request, " AND starts_at >= ? AND (starts_at > ? OR id > ?)")
    if after is None:
        return _bad_request()
    rows = await DB.fetch(
        sql + after[0] + " ORDER BY starts_at, id LIMIT ?", [*after[1], limit + 1]
    )
    data = [
        {
            "id": str(row[0]),
            "name": row[1],
            "venue": row[2],
            "starts_at": moment(row[3]),
            "ends_at": moment(row[4]),
        }
        for row in rows[:limit]
    ]
    return _answer(data, rows, limit, 3)


def _id(value: Any) -> Any:
    """A UUID parameter: text on SQLite (CHAR(36)), the UUID itself for asyncpg."""
    return str(value) if DB.sqlite is not None else value


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if DATABASE_URL.startswith("sqlite://"):
        DB.sqlite = await aiosqlite.connect(DATABASE_URL.removeprefix("sqlite://"))
        try:
            yield
        finally:
            await DB.sqlite.close()
        return
    DB.pool = await asyncpg.create_pool(
        DATABASE_URL.replace("postgres://", "postgresql://", 1), min_size=1, max_size=5
    )
    try:
        yield
    finally:
        await DB.pool.close()


app = Starlette(
    routes=[
        Route("/partner/v1/orders", orders, methods=["GET"]),
        Route("/partner/v1/events", events, methods=["GET"]),
    ],
    lifespan=lifespan,
)

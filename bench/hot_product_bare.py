"""The baseline of the hot-product benchmark: `POST /partner/v1/reservations` as a bare Starlette
endpoint doing the same transaction as ours with raw asyncpg, and nothing else — no token check,
no rate limit, no usage counting, no log line.

One transaction, in ours' order: the product's price (scoped to the organisation and event), the
order, its line, the conditional stock update, and the idempotency record holding the rendered
answer; a second request with a stored key rolls back on the unique index and replays the stored
answer. With `HOT_BARE_STOCK_FIRST=1` the stock update comes first and returns the price (one
statement fewer, but the product's row stays locked through the three inserts). The pool
has Tortoise's default sizes (1 to 5 connections), as ours does. `HOT_BARE_DATABASE_URL`,
`HOT_BARE_ORGANISATION_ID` and `HOT_BARE_CREDENTIAL_ID` come from the benchmark (the credential
every order and record is made under: the baseline authenticates no one).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DATABASE_URL = os.environ.get("HOT_BARE_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
ORGANISATION_ID = UUID(os.environ.get("HOT_BARE_ORGANISATION_ID", str(uuid4())))
CREDENTIAL_ID = UUID(os.environ.get("HOT_BARE_CREDENTIAL_ID", str(uuid4())))
POOL_MIN, POOL_MAX = 1, 5  # tortoise.backends.base_postgres defaults (minsize, maxsize)
# Take the stock first (the price comes back with it), instead of in ours' place: one statement
# fewer, but the product's row stays locked through the inserts.
STOCK_FIRST = os.environ.get("HOT_BARE_STOCK_FIRST", "") == "1"

TAKE_STOCK = """
UPDATE product SET sold = sold + $4
WHERE id = $1 AND event_id = $2 AND organisation_id = $3 AND sold + $4 <= capacity
RETURNING price, currency
"""
INSERT_ORDER = """
INSERT INTO ticket_order (id, organisation_id, event_id, status, customer_name, customer_email,
                          external_reference, credential_id, created_at)
VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8)
"""
INSERT_LINE = """
INSERT INTO order_line (id, order_id, product_id, quantity, unit_price) VALUES ($1, $2, $3, $4, $5)
"""
INSERT_RECORD = """
INSERT INTO idempotent_response (id, credential_id, key, request_hash, status_code, body,
                                 created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
PRODUCT = """
SELECT price, currency FROM product WHERE id = $1 AND event_id = $2 AND organisation_id = $3
"""
STORED = "SELECT status_code, body FROM idempotent_response WHERE credential_id = $1 AND key = $2"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": message}, status_code=status)


def _order_json(
    order_id: UUID, data: dict[str, Any], quantity: int, price: int, currency: str, now: datetime
) -> dict[str, Any]:
    customer = data["customer"]
    return {
        "id": str(order_id),
        "event_id": data["event_id"],
        "status": "PENDING",
        "customer": {"name": customer["name"], "email": customer["email"]},
        "external_reference": data.get("external_reference"),
        "lines": [
            {
                "product_id": data["lines"][0]["product_id"],
                "quantity": quantity,
                "unit_price": {"amount": price, "currency": currency},
            }
        ],
        "total": {"amount": quantity * price, "currency": currency},
        "created_at": now.isoformat(),
        "completed_at": None,
        "cancelled_at": None,
    }


class _SoldOut(Exception):
    """Raised inside the transaction so that it rolls back."""


async def _take_stock(
    connection: asyncpg.Connection, product_id: UUID, event_id: UUID, quantity: int
) -> tuple[int, str]:
    taken = await connection.fetchrow(TAKE_STOCK, product_id, event_id, ORGANISATION_ID, quantity)
    if taken is None:
        raise _SoldOut
    return int(taken["price"]), str(taken["currency"])


async def reserve(request: Request) -> Response:
    data = await request.json()
    key = request.headers["idempotency-key"]
    line = data["lines"][0]  # the benchmark reserves one product
    product_id, quantity = UUID(line["product_id"]), int(line["quantity"])
    event_id = UUID(data["event_id"])
    fingerprint = hashlib.sha256(
        json.dumps([request.method, request.url.path, data], sort_keys=True).encode()
    ).hexdigest()
    customer = data["customer"]
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection:
        try:
            async with connection.transaction():
                if STOCK_FIRST:
                    price, currency = await _take_stock(connection, product_id, event_id, quantity)
                else:
                    product = await connection.fetchrow(
                        PRODUCT, product_id, event_id, ORGANISATION_ID
                    )
                    price, currency = int(product["price"]), str(product["currency"])
                order_id, now = uuid4(), datetime.now(UTC)
                await connection.execute(
                    INSERT_ORDER,
                    order_id,
                    ORGANISATION_ID,
                    event_id,
                    customer["name"],
                    customer["email"],
                    data.get("external_reference"),
                    CREDENTIAL_ID,
                    now,
                )
                await connection.execute(
                    INSERT_LINE, uuid4(), order_id, product_id, quantity, price
                )
                if not STOCK_FIRST:
                    await _take_stock(connection, product_id, event_id, quantity)
                response = JSONResponse(
                    _order_json(order_id, data, quantity, price, currency, now), status_code=201
                )
                await connection.execute(
                    INSERT_RECORD,
                    uuid4(),
                    CREDENTIAL_ID,
                    key,
                    fingerprint,
                    201,
                    bytes(response.body).decode(),
                    now,
                )
            return response
        except _SoldOut:
            return _error(409, "sold_out", "Not enough tickets left.")
        except asyncpg.UniqueViolationError:
            stored = await connection.fetchrow(STORED, CREDENTIAL_ID, key)
            return Response(stored["body"], stored["status_code"], media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(DATABASE_URL, min_size=POOL_MIN, max_size=POOL_MAX)
    try:
        yield
    finally:
        await app.state.pool.close()


async def root(request: Request) -> Response:
    return Response("ok")


app = Starlette(
    routes=[Route("/", root), Route("/partner/v1/reservations", reserve, methods=["POST"])],
    lifespan=lifespan,
)

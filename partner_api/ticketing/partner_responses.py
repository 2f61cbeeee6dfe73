"""How the Partner API answers: its resources as JSON (events, products, orders with their lines),
pages with `next_cursor`, and the one error body `{"error", "error_description", "field"?}`. Every
answer is `Cache-Control: no-store`: it is one partner's data, read with its token."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from models.ticketing import Event, Order, PricedLine, Product, priced_lines
from partner_api.foundation.cursors import encode_cursor
from partner_api.foundation.error_body import error_body
from partner_api.foundation.json_response import JSONResponse, encode_headers

NO_STORE = {"Cache-Control": "no-store"}
_NO_STORE = encode_headers(NO_STORE)


def json_answer(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_NO_STORE)


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, field=field), status_code=status, headers=_NO_STORE
    )


def page(items: list[dict[str, Any]], after_last: tuple[datetime, UUID] | None) -> JSONResponse:
    """`items` as one page; `after_last` is the (time, id) of its last row when another page
    follows."""
    next_cursor = None if after_last is None else encode_cursor(*after_last)
    return json_answer({"data": items, "next_cursor": next_cursor})


def next_key(rows: Sequence[Sequence[Any]], limit: int, at: int) -> tuple[datetime, UUID] | None:
    """With one row more than the page (another page follows), the page's last (time, id): the
    time at index `at`, the id first."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return moment(last[at]), UUID(str(last[0]))


@lru_cache(maxsize=4096)
def expiry_text(expires_at: int) -> str:
    """A token's `exp` as ISO 8601; the many calls with one token format it once."""
    return datetime.fromtimestamp(expires_at, UTC).isoformat()


def _time(value: datetime | str | None) -> str | None:
    """ISO 8601 of a model's timestamp, or of one as the driver reads it (SQLite: the stored
    text), in UTC as Tortoise would give it."""
    if value is None:
        return None
    if isinstance(value, str):
        return _stored_time(value)
    return value.isoformat()


@lru_cache(maxsize=8192)
def _stored_time(value: str) -> str:
    """`_time` of a timestamp as SQLite stores it. Partners poll the same pages over and over,
    so the same few thousand texts come back; parsing and re-formatting each is most of what an
    events page costs in Python. Bounded: about 2 MB when full."""
    return moment(value).isoformat()


def moment(value: datetime | str) -> datetime:
    """A timestamp as the driver reads it, as Tortoise makes it: aware (a naive one is UTC, the
    configured zone) and in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


# The columns the listings read (`values_list`), in the order `event_row_json` and
# `order_rows_json` take them; the listing's time column is at EVENT_AT / ORDER_AT.
EVENT_FIELDS = ("id", "name", "venue", "starts_at", "ends_at")
EVENT_AT = 3
ORDER_FIELDS = (
    "id", "event_id", "status", "customer_name", "customer_email", "external_reference",
    "created_at", "completed_at", "cancelled_at",
)  # fmt: skip
ORDER_AT = 6


def event_json(event: Event) -> dict[str, Any]:
    return event_row_json((event.id, event.name, event.venue, event.starts_at, event.ends_at))


def event_row_json(row: Sequence[Any]) -> dict[str, Any]:
    """An event from its EVENT_FIELDS, as a model holds them or as the driver reads them."""
    return {
        "id": str(row[0]),
        "name": row[1],
        "venue": row[2],
        "starts_at": _time(row[3]),
        "ends_at": _time(row[4]),
    }


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": str(product.id),
        "event_id": str(product.event_id),  # type: ignore[attr-defined]
        "name": product.name,
        "price": _money(product.price, product.currency),
        "capacity": product.capacity,
        "available": max(0, product.capacity - product.sold),
    }


def _order_row(order: Order) -> tuple[Any, ...]:
    """An order model's ORDER_FIELDS."""
    return (
        order.id,
        order.event_id,  # type: ignore[attr-defined]
        order.status,
        order.customer_name,
        order.customer_email,
        order.external_reference,
        order.created_at,
        order.completed_at,
        order.cancelled_at,
    )


async def orders_json(orders: list[Order]) -> list[dict[str, Any]]:
    """Orders with their lines, in one query for the lines of all of them."""
    return await order_rows_json([_order_row(order) for order in orders])


async def order_rows_json(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Orders from their ORDER_FIELDS (as models hold them or as the driver reads them), with
    their lines (one query for all of them)."""
    lines: dict[str, list[PricedLine]] = {}
    for line in await priced_lines([row[0] for row in rows]):
        lines.setdefault(line.order_id, []).append(line)
    return [order_row_json(row, lines.get(str(row[0]), ())) for row in rows]


def new_order_json(row: Sequence[Any], lines: Sequence[PricedLine]) -> dict[str, Any]:
    """An order just written, from its ORDER_FIELDS as its transaction wrote them: what
    `orders_json` would read back, without the read. `lines` in the order the read gives them:
    by line id."""
    return order_row_json(row, lines)


def order_row_json(row: Sequence[Any], lines: Sequence[PricedLine]) -> dict[str, Any]:
    """One order from its ORDER_FIELDS and its lines in id order. Its amounts are in the
    currency of its first line's product (EUR without lines)."""
    currency = lines[0].currency if lines else "EUR"
    return {
        "id": str(row[0]),
        "event_id": str(row[1]),
        "status": str(row[2]),
        "customer": {"name": row[3], "email": row[4]},
        "external_reference": row[5],
        "lines": [
            {
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": {"amount": line.unit_price, "currency": currency},
            }
            for line in lines
        ],
        "total": _money(sum(line.quantity * line.unit_price for line in lines), currency),
        "created_at": _time(row[6]),
        "completed_at": _time(row[7]),
        "cancelled_at": _time(row[8]),
    }

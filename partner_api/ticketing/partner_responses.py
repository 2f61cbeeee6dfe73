"""How the Partner API answers: its resources as JSON (events, products, orders with their lines),
pages with `next_cursor`, and the one error body `{"error", "error_description", "field"?}`. Every
answer is `Cache-Control: no-store`: it is one partner's data, read with its token."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from models.ticketing import Event, Order, OrderLine, Product
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


def page(items: list[dict[str, Any]], rows: Any, limit: int, time_field: str) -> JSONResponse:
    """`items` as one page; `rows` holds one row more than the page when another page follows."""
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(getattr(last, time_field), last.id)
    return json_answer({"data": items, "next_cursor": next_cursor})


@lru_cache(maxsize=4096)
def expiry_text(expires_at: int) -> str:
    """A token's `exp` as ISO 8601; the many calls with one token format it once."""
    return datetime.fromtimestamp(expires_at, UTC).isoformat()


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "name": event.name,
        "venue": event.venue,
        "starts_at": _time(event.starts_at),
        "ends_at": _time(event.ends_at),
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


async def orders_json(orders: list[Order]) -> list[dict[str, Any]]:
    """Orders with their lines, in two queries for the whole page."""
    lines: dict[UUID, list[OrderLine]] = {order.id: [] for order in orders}
    currencies: dict[UUID, str] = {}
    if orders:
        for line in await OrderLine.filter(order_id__in=list(lines)).order_by("id"):
            lines[line.order_id].append(line)  # type: ignore[attr-defined]
        product_ids = {line.product_id for group in lines.values() for line in group}  # type: ignore[attr-defined]
        for product in await Product.filter(id__in=list(product_ids)).only("id", "currency"):
            currencies[product.id] = product.currency
    result = []
    for order in orders:
        order_lines = lines[order.id]
        currency = currencies.get(order_lines[0].product_id, "EUR") if order_lines else "EUR"  # type: ignore[attr-defined]
        result.append(
            {
                "id": str(order.id),
                "event_id": str(order.event_id),  # type: ignore[attr-defined]
                "status": order.status.value,
                "customer": {"name": order.customer_name, "email": order.customer_email},
                "external_reference": order.external_reference,
                "lines": [
                    {
                        "product_id": str(line.product_id),  # type: ignore[attr-defined]
                        "quantity": line.quantity,
                        "unit_price": _money(line.unit_price, currency),
                    }
                    for line in order_lines
                ],
                "total": _money(
                    sum(line.quantity * line.unit_price for line in order_lines), currency
                ),
                "created_at": _time(order.created_at),
                "completed_at": _time(order.completed_at),
                "cancelled_at": _time(order.cancelled_at),
            }
        )
    return result

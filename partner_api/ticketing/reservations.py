"""Reservations made through the Partner API: create (hold stock), complete (issue barcodes),
cancel (release stock). Each is one transaction.

Stock is taken with one conditional UPDATE per line (`sold + n <= capacity`), which the database
applies atomically on SQLite and PostgreSQL alike, so concurrent reservations for the last tickets
can never oversell: whoever's update matches second finds no row and the whole reservation rolls
back. Orders are locked (`SELECT … FOR UPDATE` on PostgreSQL) before a status change, so a
concurrent complete and cancel cannot both win.
"""

from __future__ import annotations

import secrets
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.compiled_select import CompiledSelect
from models.row_insert import RowInsert
from models.tenancy import TenantScope
from models.ticketing import Barcode, Order, OrderLine, OrderStatus, PricedLine, Product
from partner_api.foundation.clock import utcnow
from partner_api.ticketing.api_error import ApiError

BARCODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the door
BARCODE_LENGTH = 16


@dataclass(frozen=True)
class ReservationLine:
    product_id: UUID
    quantity: int


@dataclass(frozen=True)
class ReservationRequest:
    event_id: UUID
    lines: list[ReservationLine]
    customer_name: str
    customer_email: str
    external_reference: str | None


# A new order's partner_responses.ORDER_FIELDS: id, event_id, status, customer name and email,
# external reference, created, completed and cancelled times.
OrderRow = tuple[
    UUID, UUID, OrderStatus, str, str, str | None, datetime, datetime | None, datetime | None
]


def new_barcode() -> str:
    return "".join(secrets.choice(BARCODE_ALPHABET) for _ in range(BARCODE_LENGTH))


def _one_transaction() -> AbstractAsyncContextManager[object]:
    """The caller's transaction when there is one (the Idempotency-Key's, which stores the answer
    with the change), else a new one. A nested block would be a savepoint, two more round trips
    that buy nothing here: every refusal propagates and rolls the whole transaction back."""
    # "default": the one connection partner_api.foundation.database configures, the one
    # `in_transaction()` opens a transaction on.
    connection = connections.get("default")
    if isinstance(connection, TransactionalDBClient):
        return nullcontext(connection)
    return in_transaction()


async def create_reservation(
    scope: TenantScope, credential_id: UUID, request: ReservationRequest
) -> tuple[OrderRow, list[PricedLine]]:
    """The order and its lines first, the stock last: the conditional UPDATE locks the product's
    row until the transaction ends, so everything that can happen before it does, and a hot
    product's row is held for as few round trips as possible. The refusals and their order are
    those of taking the lines one by one: an unknown event (404), then per line in order, a
    product outside the event (400) or too few tickets left (409).

    The rows are written without model instances (models/row_insert.py): the answer is built
    from the values written, as a read of the order would give them."""
    async with _one_transaction():
        wanted = [line.product_id for line in request.lines]
        products = {product.id: product for product in await _products(scope, request)}
        if len(products) < len(wanted):
            await _refuse(scope, request, products)
        order_id = uuid4()
        created_at = utcnow()
        await _INSERT_ORDER.insert(
            [
                {
                    "id": order_id,
                    "organisation_id": scope.organisation_id,
                    "event_id": request.event_id,
                    "status": OrderStatus.PENDING,
                    "customer_name": request.customer_name,
                    "customer_email": request.customer_email,
                    "external_reference": request.external_reference,
                    "credential_id": credential_id,
                    "created_at": created_at,
                    "completed_at": None,
                    "cancelled_at": None,
                }
            ]
        )
        lines = [(uuid4(), line) for line in request.lines]
        await _INSERT_LINES.insert(
            [
                {
                    "id": line_id,
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": products[line.product_id].price,
                }
                for line_id, line in lines
            ]
        )
        for index, line in enumerate(request.lines):
            if not await _take_stock(line):
                raise _sold_out(index)
    # The lines as a read of the order would give them (partner_responses.order_row_json): by id,
    # which PostgreSQL (uuid) and SQLite (its text) sort as Python sorts UUIDs. The answer is built
    # from these instead of reading the order back while the product's row is still locked.
    order_text = str(order_id)
    priced = [
        PricedLine(
            order_text,
            str(line.product_id),
            line.quantity,
            products[line.product_id].price,
            products[line.product_id].currency,
        )
        for _, line in sorted(lines, key=lambda pair: pair[0])
    ]
    row = (
        order_id,
        request.event_id,
        OrderStatus.PENDING,
        request.customer_name,
        request.customer_email,
        request.external_reference,
        created_at,
        None,
        None,
    )
    return row, priced


_INSERT_ORDER = RowInsert(Order)
_INSERT_LINES = RowInsert(OrderLine)


# The reservation's products, with SQL built once per shape (models/compiled_select.py), through
# the scope's own filters. The event is checked through the join: a product of this event, in
# this scope, whose event belongs to the organisation, is proof the event is there too. The
# organisation is bound twice (the product's and its event's); an event restriction adds
# `event_id IN (…)`, so it is a query of its own.
_PRODUCTS = CompiledSelect(
    Product,
    lambda organisation_id, product_ids, event_id, event_organisation_id: (
        TenantScope(organisation_id)
        .products()
        .filter(id__in=product_ids, event_id=event_id, event__organisation_id=event_organisation_id)
    ),
)
_PRODUCTS_OF_EVENTS = CompiledSelect(
    Product,
    lambda organisation_id, event_ids, product_ids, event_id, event_organisation_id: (
        TenantScope(organisation_id, event_ids)
        .products()
        .filter(id__in=product_ids, event_id=event_id, event__organisation_id=event_organisation_id)
    ),
)


async def _products(scope: TenantScope, request: ReservationRequest) -> list[Product]:
    organisation_id = scope.organisation_id
    wanted = [line.product_id for line in request.lines]
    if scope.event_ids is None:
        return await _PRODUCTS.fetch(organisation_id, wanted, request.event_id, organisation_id)
    return await _PRODUCTS_OF_EVENTS.fetch(
        organisation_id, list(scope.event_ids), wanted, request.event_id, organisation_id
    )


# Written as SQL, as the dialect spells its parameters: the QuerySet would build the same
# statement afresh on every reservation.
_TAKE_STOCK = {
    "postgres": 'UPDATE "product" SET "sold"="sold"+$1 WHERE "id"=$2 AND "sold"<="capacity"-$1',
    "sqlite": 'UPDATE "product" SET "sold"="sold"+?1 WHERE "id"=?2 AND "sold"<="capacity"-?1',
}


async def _take_stock(line: ReservationLine) -> bool:
    """One conditional UPDATE: atomic on SQLite and PostgreSQL, so it never oversells."""
    db = Product._meta.db
    product_id = Product._meta.fields_map["id"].to_db_value(line.product_id, Product)
    taken, _ = await db.execute_query(
        _TAKE_STOCK[db.capabilities.dialect], [line.quantity, product_id]
    )
    return bool(taken)


def _sold_out(index: int) -> ApiError:
    return ApiError(409, "sold_out", "Not enough tickets left.", f"lines[{index}].quantity")


async def _refuse(
    scope: TenantScope, request: ReservationRequest, products: dict[UUID, Product]
) -> None:
    """Some product is not the event's (or the event is not there): the refusal the lines would
    meet one by one. Stock taken for earlier lines rolls back with the transaction."""
    if not await scope.events().filter(id=request.event_id).exists():
        raise ApiError(404, "not_found", "No such event.", "event_id")
    for index, line in enumerate(request.lines):
        if line.product_id not in products:
            raise ApiError(
                400,
                "invalid_request",
                "The product does not belong to this event.",
                f"lines[{index}].product_id",
            )
        if not await _take_stock(line):
            raise _sold_out(index)


async def complete_reservation(scope: TenantScope, order_id: str, *, now: datetime) -> Order:
    """PENDING → COMPLETED with one barcode per ticket; completing twice changes nothing."""
    async with _one_transaction():
        order = await scope.order(order_id, for_update=True)
        if order is None:
            raise ApiError(404, "not_found", "No such order.")
        if order.status is OrderStatus.COMPLETED:
            return order
        if order.status is not OrderStatus.PENDING:
            raise ApiError(409, "invalid_state", "A cancelled order cannot be completed.")
        order.status = OrderStatus.COMPLETED
        order.completed_at = now
        await order.save(update_fields=["status", "completed_at"])
        barcodes = [
            Barcode(order=order, product_id=line.product_id, code=new_barcode())  # type: ignore[attr-defined]
            for line in await OrderLine.filter(order=order)
            for _ in range(line.quantity)
        ]
        await Barcode.bulk_create(barcodes)
    return order


async def cancel_reservation(scope: TenantScope, order_id: str, *, now: datetime) -> Order:
    """PENDING → CANCELLED, releasing the stock; cancelling twice changes nothing."""
    async with _one_transaction():
        order = await scope.order(order_id, for_update=True)
        if order is None:
            raise ApiError(404, "not_found", "No such order.")
        if order.status is OrderStatus.CANCELLED:
            return order
        if order.status is not OrderStatus.PENDING:
            raise ApiError(409, "invalid_state", "A completed order cannot be cancelled.")
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        await order.save(update_fields=["status", "cancelled_at"])
        for line in await OrderLine.filter(order=order):
            await Product.filter(id=line.product_id).update(  # type: ignore[attr-defined]
                sold=F("sold") - line.quantity
            )
    return order

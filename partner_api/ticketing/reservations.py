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
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.tenancy import TenantScope
from models.ticketing import Barcode, Order, OrderLine, OrderStatus, Product
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


def new_barcode() -> str:
    return "".join(secrets.choice(BARCODE_ALPHABET) for _ in range(BARCODE_LENGTH))


async def create_reservation(
    scope: TenantScope, credential_id: UUID, request: ReservationRequest
) -> Order:
    async with in_transaction():
        event = await scope.events().filter(id=request.event_id).first()
        if event is None:
            raise ApiError(404, "not_found", "No such event.", "event_id")
        products = {
            product.id: product
            for product in await scope.products().filter(
                id__in=[line.product_id for line in request.lines], event_id=event.id
            )
        }
        order = await Order.create(
            organisation_id=scope.organisation_id,
            event=event,
            status=OrderStatus.PENDING,
            customer_name=request.customer_name,
            customer_email=request.customer_email,
            external_reference=request.external_reference,
            credential_id=credential_id,
        )
        for index, line in enumerate(request.lines):
            product = products.get(line.product_id)
            if product is None:
                raise ApiError(
                    400,
                    "invalid_request",
                    "The product does not belong to this event.",
                    f"lines[{index}].product_id",
                )
            taken = await Product.filter(
                id=product.id, sold__lte=F("capacity") - line.quantity
            ).update(sold=F("sold") + line.quantity)
            if not taken:
                raise ApiError(
                    409, "sold_out", "Not enough tickets left.", f"lines[{index}].quantity"
                )
            await OrderLine.create(
                order=order, product=product, quantity=line.quantity, unit_price=product.price
            )
    return order


async def complete_reservation(scope: TenantScope, order_id: str, *, now: datetime) -> Order:
    """PENDING → COMPLETED with one barcode per ticket; completing twice changes nothing."""
    async with in_transaction():
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
    async with in_transaction():
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

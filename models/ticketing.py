"""The platform data the Partner API serves: events, products (ticket types), orders, barcodes.

Admins do not edit these here (out of scope for the Partner API page); they exist so partners have
real data, and reservations made through the Partner API create orders that hold stock.
Stock is `capacity` minus `sold`, where `sold` counts tickets of PENDING and COMPLETED orders;
it only changes through a conditional update (`sold + n <= capacity`), so it is never oversold.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.credential import Credential
    from models.organisation import Organisation


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Event(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="events", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    venue = fields.CharField(max_length=200)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event"
        indexes = (("organisation_id", "starts_at"),)


class Product(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="products", on_delete=fields.RESTRICT
    )
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="products", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    # Minor units (cents), so money is never a float.
    price = fields.IntField()
    currency = fields.CharField(max_length=3)
    capacity = fields.IntField()
    sold = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "product"


class Order(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="orders", on_delete=fields.RESTRICT
    )
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="orders", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(OrderStatus, max_length=16)
    customer_name = fields.CharField(max_length=200)
    customer_email = fields.CharField(max_length=254)
    external_reference = fields.CharField(max_length=100, null=True)
    # The credential that made the reservation (null for orders from other channels).
    credential: fields.ForeignKeyNullableRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)

    lines: fields.ReverseRelation[OrderLine]
    barcodes: fields.ReverseRelation[Barcode]

    class Meta:
        table = "ticket_order"
        # The Partner API's order listing, newest first with ties by id, is a keyset walk of the
        # first index: the page after a cursor costs the same at 1M orders as at 10k.
        indexes = (("organisation_id", "created_at", "id"), ("organisation_id", "completed_at"))


class OrderLine(Model):
    id = fields.UUIDField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name=False, on_delete=fields.RESTRICT
    )
    quantity = fields.IntField()
    unit_price = fields.IntField()

    class Meta:
        table = "order_line"
        # A page's lines are read by their orders' ids; without it every page scans every line.
        indexes = (("order_id", "id"),)


class PricedLine(NamedTuple):
    """An order line as the Partner API shows it: ids as text, its product's currency."""

    order_id: str
    product_id: str
    quantity: int
    unit_price: int
    currency: str


async def priced_lines(order_ids: Sequence[UUID]) -> list[PricedLine]:
    """The lines of these orders with their products' currencies, each order's lines together
    and by id: one query walking the (order_id, id) index, rows kept as the driver's tuples.

    Written as SQL rather than a QuerySet: building a 100-id `IN` list and a model per line costs
    Tortoise ≈ 10 ms a page (the Partner API's order listing), the database ≈ 1 ms. The ids are
    bound as parameters, as the dialect spells them (SQLite stores UUIDs as text)."""
    if not order_ids:
        return []
    db = OrderLine._meta.db
    if db.capabilities.dialect == "postgres":
        marks = ", ".join(f"${index}" for index in range(1, len(order_ids) + 1))
        values: list[object] = list(order_ids)
    else:
        marks = ", ".join("?" * len(order_ids))
        values = [str(order_id) for order_id in order_ids]
    _, rows = await db.execute_query(
        "SELECT l.order_id, l.product_id, l.quantity, l.unit_price, p.currency "  # noqa: S608
        'FROM "order_line" l JOIN "product" p ON p.id = l.product_id '
        f"WHERE l.order_id IN ({marks}) ORDER BY l.order_id, l.id",
        values,
    )
    return [PricedLine(str(row[0]), str(row[1]), row[2], row[3], row[4]) for row in rows]


class Barcode(Model):
    id = fields.UUIDField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="barcodes", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name=False, on_delete=fields.RESTRICT
    )
    code = fields.CharField(max_length=32, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "barcode"
        # An order's barcodes, in the order the Partner API lists them.
        indexes = (("order_id", "created_at", "code"),)


class IdempotentResponse(Model):
    """The stored answer to a POST sent with `Idempotency-Key`, per credential and key."""

    id = fields.UUIDField(primary_key=True)
    credential_id = fields.UUIDField()
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    status_code = fields.IntField()
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotent_response"
        unique_together = (("credential_id", "key"),)

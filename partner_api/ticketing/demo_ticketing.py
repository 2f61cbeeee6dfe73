"""The demo organisation's ticketing data: upcoming events, their products and a set of orders.

The structure (events, products, customers, order lines, statuses) is fixed so the demo reads the
same every time; only the barcodes are random. Dates are relative to `now`, so the events are
always a few weeks or months ahead. `Product.sold` is written to match the PENDING and COMPLETED
order lines (the stock rule in models/ticketing.py), and every COMPLETED order has one barcode per
ticket. Customer e-mails use the reserved example domains only (RFC 2606).
"""

from __future__ import annotations

import secrets
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from models.ticketing import Barcode, Event, Order, OrderLine, OrderStatus, Product

CURRENCY = "EUR"
BARCODE_ALPHABET = string.ascii_uppercase + string.digits
BARCODE_LENGTH = 16

PENDING, COMPLETED, CANCELLED = OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.CANCELLED


@dataclass(frozen=True)
class ProductPlan:
    name: str
    price: int  # minor units (cents)
    capacity: int


@dataclass(frozen=True)
class EventPlan:
    name: str
    venue: str
    days_ahead: int
    start: tuple[int, int]  # hour, minute (UTC)
    duration: timedelta
    products: tuple[ProductPlan, ...]


@dataclass(frozen=True)
class OrderPlan:
    event: int  # index into EVENTS
    customer: str
    status: OrderStatus
    lines: tuple[tuple[int, int], ...]  # (product index within the event, quantity)
    age: timedelta  # how long before `now` the order was placed
    external_reference: str | None = None


@dataclass(frozen=True)
class TicketingSummary:
    events: int
    products: int
    orders: int
    barcodes: int


EVENTS: tuple[EventPlan, ...] = (
    EventPlan(
        "Amber Skies — Spring Tour",
        "Paradiso, Amsterdam",
        days_ahead=18,
        start=(19, 0),
        duration=timedelta(hours=3, minutes=30),
        products=(
            ProductPlan("Regular", 3950, 1200),
            ProductPlan("VIP (balcony + meet & greet)", 8900, 100),
            ProductPlan("Student", 2750, 200),
        ),
    ),
    EventPlan(
        "A Midsummer Night's Dream",
        "Stadsschouwburg Utrecht",
        days_ahead=41,
        start=(18, 30),
        duration=timedelta(hours=2, minutes=45),
        products=(
            ProductPlan("Stalls", 4200, 450),
            ProductPlan("Balcony", 3200, 300),
            ProductPlan("Student", 1750, 80),
        ),
    ),
    EventPlan(
        "Low Tide Festival",
        "Strandeiland, Scheveningen",
        days_ahead=74,
        start=(10, 0),
        duration=timedelta(days=2, hours=12),
        products=(
            ProductPlan("Weekend pass", 14900, 2000),
            ProductPlan("Day ticket", 6900, 1500),
            ProductPlan("VIP weekend", 29500, 150),
        ),
    ),
    EventPlan(
        "Noord Symphony Orchestra — Mahler 5",
        "De Doelen, Rotterdam",
        days_ahead=103,
        start=(19, 15),
        duration=timedelta(hours=2),
        products=(
            ProductPlan("Regular", 5400, 1100),
            ProductPlan("Student", 1500, 120),
        ),
    ),
)


def _days(days: float) -> timedelta:
    return timedelta(days=days)


ORDERS: tuple[OrderPlan, ...] = (
    # Amber Skies, Paradiso
    OrderPlan(0, "Sophie de Vries", COMPLETED, ((0, 2),), _days(26)),
    OrderPlan(0, "Lucas Janssen", COMPLETED, ((0, 4),), _days(24), "BO-2417"),
    OrderPlan(0, "Emma Bakker", COMPLETED, ((1, 2),), _days(21)),
    OrderPlan(0, "Noah Visser", CANCELLED, ((0, 3),), _days(19)),
    OrderPlan(0, "Julia Smit", COMPLETED, ((2, 1), (0, 1)), _days(15)),
    OrderPlan(0, "Daan Meijer", COMPLETED, ((2, 2),), _days(9), "BO-2488"),
    OrderPlan(0, "Mila de Boer", PENDING, ((0, 2),), timedelta(minutes=7)),
    OrderPlan(0, "Sem Mulder", COMPLETED, ((1, 1), (0, 3)), _days(3)),
    OrderPlan(0, "Tess de Groot", PENDING, ((1, 2),), timedelta(minutes=3), "BO-2533"),
    # A Midsummer Night's Dream, Stadsschouwburg Utrecht
    OrderPlan(1, "Olivia Brown", COMPLETED, ((0, 2),), _days(30)),
    OrderPlan(1, "Finn Bos", COMPLETED, ((1, 4),), _days(28), "BO-2402"),
    OrderPlan(1, "Zoë Vos", CANCELLED, ((0, 2),), _days(22)),
    OrderPlan(1, "Levi Peters", COMPLETED, ((2, 1),), _days(17)),
    OrderPlan(1, "Anna Hendriks", COMPLETED, ((0, 1), (1, 1)), _days(12)),
    OrderPlan(1, "Thomas Müller", COMPLETED, ((0, 6),), _days(6), "BO-2501"),
    OrderPlan(1, "Saar van Leeuwen", PENDING, ((2, 2),), timedelta(minutes=12)),
    OrderPlan(1, "Jesse Dekker", CANCELLED, ((1, 2),), _days(2)),
    # Low Tide Festival, Scheveningen
    OrderPlan(2, "Chloé Dubois", COMPLETED, ((0, 2),), _days(45)),
    OrderPlan(2, "Milan Brouwer", COMPLETED, ((0, 4),), _days(40), "BO-2311"),
    OrderPlan(2, "Lotte de Wit", COMPLETED, ((2, 2),), _days(33)),
    OrderPlan(2, "Ruben Dijkstra", COMPLETED, ((1, 3), (0, 1)), _days(27)),
    OrderPlan(2, "Isabella Rossi", CANCELLED, ((0, 2),), _days(20), "BO-2455"),
    OrderPlan(2, "Bram Smits", COMPLETED, ((1, 2),), _days(14)),
    OrderPlan(2, "Fleur van Dam", COMPLETED, ((0, 5),), _days(8)),
    OrderPlan(2, "Oliver Nowak", PENDING, ((2, 1), (0, 1)), timedelta(minutes=4)),
    OrderPlan(2, "Lina Schouten", COMPLETED, ((1, 1),), _days(1), "BO-2540"),
    # Noord Symphony Orchestra, De Doelen
    OrderPlan(3, "Hugo Martens", COMPLETED, ((0, 2),), _days(20)),
    OrderPlan(3, "Eva Kuipers", COMPLETED, ((0, 1), (1, 1)), _days(16)),
    OrderPlan(3, "Jan Willems", CANCELLED, ((0, 4),), _days(11), "BO-2477"),
    OrderPlan(3, "Nora Lindqvist", COMPLETED, ((1, 2),), _days(5)),
    OrderPlan(3, "Sven Jacobs", PENDING, ((0, 3),), timedelta(minutes=9)),
    OrderPlan(3, "Maria García", COMPLETED, ((0, 2),), _days(2), "BO-2529"),
)


def customer_email(name: str, index: int) -> str:
    """`first.last@example.com` (or .org), ASCII only: names keep their accents, addresses not."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = ".".join(ascii_name.lower().replace("'", "").split())
    domain = "example.org" if index % 3 == 2 else "example.com"
    return f"{local}@{domain}"


def new_barcode() -> str:
    return "".join(secrets.choice(BARCODE_ALPHABET) for _ in range(BARCODE_LENGTH))


def _unique_barcodes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(new_barcode())
    return list(codes)


async def seed_ticketing(
    organisation_id: UUID, *, now: datetime, partner_credential_id: UUID | None = None
) -> TicketingSummary:
    """Create the demo events, products, orders, order lines and barcodes for an organisation.

    Orders with an external reference came in through the partner integration
    `partner_credential_id` (the demo's box office), the others through other channels.
    Callers own the transaction.
    """
    events: list[Event] = []
    products: list[list[Product]] = []
    for event_plan in EVENTS:
        day = (now + timedelta(days=event_plan.days_ahead)).replace(second=0, microsecond=0)
        starts_at = day.replace(hour=event_plan.start[0], minute=event_plan.start[1])
        event = Event(
            organisation_id=organisation_id,
            name=event_plan.name,
            venue=event_plan.venue,
            starts_at=starts_at,
            ends_at=starts_at + event_plan.duration,
        )
        events.append(event)
        products.append(
            [
                Product(
                    organisation_id=organisation_id,
                    event_id=event.id,
                    name=product.name,
                    price=product.price,
                    currency=CURRENCY,
                    capacity=product.capacity,
                )
                for product in event_plan.products
            ]
        )

    sold: Counter[UUID] = Counter()
    orders: list[Order] = []
    lines: list[OrderLine] = []
    tickets: list[tuple[Order, Product]] = []
    for index, order_plan in enumerate(ORDERS):
        created_at = now - order_plan.age
        status = order_plan.status
        order = Order(
            organisation_id=organisation_id,
            event_id=events[order_plan.event].id,
            status=status,
            customer_name=order_plan.customer,
            customer_email=customer_email(order_plan.customer, index),
            external_reference=order_plan.external_reference,
            credential_id=partner_credential_id if order_plan.external_reference else None,
            created_at=created_at,
            completed_at=created_at + timedelta(minutes=2) if status is COMPLETED else None,
            cancelled_at=created_at + timedelta(hours=5) if status is CANCELLED else None,
        )
        orders.append(order)
        for product_index, quantity in order_plan.lines:
            product = products[order_plan.event][product_index]
            lines.append(
                OrderLine(
                    order_id=order.id,
                    product_id=product.id,
                    quantity=quantity,
                    unit_price=product.price,
                )
            )
            if status is not CANCELLED:
                sold[product.id] += quantity
            if status is COMPLETED:
                tickets += [(order, product)] * quantity

    all_products = [product for event_products in products for product in event_products]
    for product in all_products:
        product.sold = sold[product.id]
    barcodes = [
        Barcode(order_id=order.id, product_id=product.id, code=code, created_at=order.completed_at)
        for (order, product), code in zip(tickets, _unique_barcodes(len(tickets)), strict=True)
    ]

    await Event.bulk_create(events)
    await Product.bulk_create(all_products)
    await Order.bulk_create(orders)
    await OrderLine.bulk_create(lines)
    await Barcode.bulk_create(barcodes)
    return TicketingSummary(
        events=len(events),
        products=len(all_products),
        orders=len(orders),
        barcodes=len(barcodes),
    )

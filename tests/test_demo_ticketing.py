"""The demo organisation's ticketing data: what a new user sees through the
Partner API right after `partner-api seed-demo` must be consistent — stock that adds up, barcodes
only for completed orders, one per ticket, and no real-looking customer addresses."""

from __future__ import annotations

import re
from collections import Counter
from uuid import UUID

import pytest
from tortoise.context import TortoiseContext

import partner_api.cli.demo as demo
from auth.partners.keyed_hash import KeyedHasher
from models.credential import Credential
from models.organisation import Organisation
from models.ticketing import Barcode, Event, Order, OrderLine, OrderStatus, Product
from partner_api.cli.demo import DEMO_ORGANISATION, seed_demo
from partner_api.foundation.clock import utcnow
from partner_api.ticketing.demo_ticketing import TicketingSummary, seed_ticketing
from tests.helpers import TEST_PEPPER

BARCODE = re.compile(r"[A-Z0-9]{16}")
EXAMPLE_EMAIL = re.compile(r"[a-z0-9.\-]+@example\.(com|org)")


async def _seeded_organisation() -> tuple[UUID, TicketingSummary]:
    organisation = await Organisation.create(name="Ticketing Demo")
    summary = await seed_ticketing(organisation.id, now=utcnow())
    return organisation.id, summary


async def test_seed_demo_gives_the_demo_organisation_events_products_and_orders(
    db: TortoiseContext,
) -> None:
    login = await seed_demo(KeyedHasher((TEST_PEPPER,)))
    organisation = await Organisation.get(name=DEMO_ORGANISATION)

    events = await Event.filter(organisation_id=organisation.id)
    assert 3 <= len(events) <= 4
    for event in events:
        products = await Product.filter(event_id=event.id)
        assert 2 <= len(products) <= 3, event.name
    orders = await Order.filter(organisation_id=organisation.id)
    assert 20 <= len(orders) <= 40
    assert {order.status for order in orders} == set(OrderStatus)
    assert login.ticketing == TicketingSummary(
        events=len(events),
        products=await Product.filter(organisation_id=organisation.id).count(),
        orders=len(orders),
        barcodes=await Barcode.filter(order__organisation_id=organisation.id).count(),
    )
    # Orders that came in through the box office integration name it and carry its reference.
    box_office = await Credential.get(client_id=login.client_id)
    through_partner = await Order.filter(credential_id=box_office.id)
    assert through_partner
    assert all(order.external_reference for order in through_partner)
    other_channels = Order.filter(credential_id__isnull=True)
    assert await other_channels.filter(external_reference__isnull=False).count() == 0
    assert any(order.external_reference is None for order in orders)


async def test_seed_demo_is_one_transaction(
    db: TortoiseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> TicketingSummary:
        await Event.create(
            organisation_id=(await Organisation.get(name=DEMO_ORGANISATION)).id,
            name="Half-seeded",
            venue="Nowhere",
            starts_at=utcnow(),
            ends_at=utcnow(),
        )
        raise RuntimeError("seeding failed")

    monkeypatch.setattr(demo, "seed_ticketing", broken)
    with pytest.raises(RuntimeError, match="seeding failed"):
        await seed_demo(KeyedHasher((TEST_PEPPER,)))
    assert not await demo.demo_exists()
    assert await Credential.all().count() == 0
    assert await Event.all().count() == 0


async def test_events_are_upcoming_with_euro_products_in_minor_units(db: TortoiseContext) -> None:
    now = utcnow()
    organisation_id, _ = await _seeded_organisation()
    events = await Event.filter(organisation_id=organisation_id)
    assert len({event.venue for event in events}) == len(events)
    for event in events:
        assert now < event.starts_at < event.ends_at
        for product in await Product.filter(organisation_id=organisation_id, event_id=event.id):
            assert product.currency == "EUR"
            assert isinstance(product.price, int)
            assert product.price > 0
            assert 50 <= product.capacity <= 2000


async def test_sold_counts_the_pending_and_completed_tickets_and_never_exceeds_capacity(
    db: TortoiseContext,
) -> None:
    organisation_id, _ = await _seeded_organisation()
    held: Counter[UUID] = Counter()
    lines = await OrderLine.filter(order__organisation_id=organisation_id).prefetch_related("order")
    for line in lines:
        assert line.quantity > 0
        if line.order.status in (OrderStatus.PENDING, OrderStatus.COMPLETED):
            held[line.product_id] += line.quantity  # type: ignore[attr-defined]
    products = await Product.filter(organisation_id=organisation_id)
    assert any(product.sold > 0 for product in products)
    for product in products:
        assert product.sold == held[product.id], product.name
        assert 0 <= product.sold <= product.capacity, product.name


async def test_order_lines_belong_to_the_orders_event_at_the_products_price(
    db: TortoiseContext,
) -> None:
    organisation_id, _ = await _seeded_organisation()
    lines = await OrderLine.filter(order__organisation_id=organisation_id).prefetch_related(
        "order", "product"
    )
    for line in lines:
        assert line.product.event_id == line.order.event_id  # type: ignore[attr-defined]
        assert line.unit_price == line.product.price


async def test_barcodes_only_for_completed_orders_one_per_ticket(db: TortoiseContext) -> None:
    organisation_id, summary = await _seeded_organisation()
    orders = await Order.filter(organisation_id=organisation_id).prefetch_related(
        "lines", "barcodes"
    )
    codes: list[str] = []
    for order in orders:
        barcodes = list(order.barcodes)
        if order.status is not OrderStatus.COMPLETED:
            assert barcodes == [], order.status
            continue
        tickets = Counter[UUID]()
        for line in order.lines:
            tickets[line.product_id] += line.quantity  # type: ignore[attr-defined]
        issued = Counter[UUID](barcode.product_id for barcode in barcodes)  # type: ignore[attr-defined]
        assert issued == tickets
        codes += [barcode.code for barcode in barcodes]
    assert all(BARCODE.fullmatch(code) for code in codes), codes
    assert len(set(codes)) == len(codes) == summary.barcodes > 0


async def test_order_times_follow_the_status(db: TortoiseContext) -> None:
    now = utcnow()
    organisation_id, _ = await _seeded_organisation()
    for order in await Order.filter(organisation_id=organisation_id):
        assert order.created_at <= now
        if order.status is OrderStatus.COMPLETED:
            assert order.completed_at is not None
            assert order.completed_at >= order.created_at
            assert order.cancelled_at is None
        elif order.status is OrderStatus.CANCELLED:
            assert order.cancelled_at is not None
            assert order.completed_at is None
        else:
            assert order.completed_at is None
            assert order.cancelled_at is None


async def test_customers_are_named_and_only_use_example_domains(db: TortoiseContext) -> None:
    organisation_id, _ = await _seeded_organisation()
    orders = await Order.filter(organisation_id=organisation_id)
    assert all(order.customer_name.strip() for order in orders)
    emails = [order.customer_email for order in orders]
    assert all(EXAMPLE_EMAIL.fullmatch(email) for email in emails), emails
    assert {email.rsplit("@", 1)[1] for email in emails} == {"example.com", "example.org"}


async def test_structure_is_fixed_and_barcodes_are_random(db: TortoiseContext) -> None:
    first = await Organisation.create(name="First")
    second = await Organisation.create(name="Second")
    now = utcnow()
    assert await seed_ticketing(first.id, now=now) == await seed_ticketing(second.id, now=now)

    async def shape(organisation_id: UUID) -> list[tuple[str, str, int]]:
        orders = await Order.filter(organisation_id=organisation_id).order_by("customer_name")
        return [(order.customer_name, order.status.value, order.created_at.day) for order in orders]

    assert await shape(first.id) == await shape(second.id)
    first_codes = set(
        await Barcode.filter(order__organisation_id=first.id).values_list("code", flat=True)
    )
    second_codes = set(
        await Barcode.filter(order__organisation_id=second.id).values_list("code", flat=True)
    )
    assert first_codes
    assert first_codes.isdisjoint(second_codes)

"""Partner API listings read rows as the driver returns them (models/driver_rows.py, and
models/ticketing.py `priced_lines`), while one order or event is read as a model: both must say
the same thing.

The listings skip Tortoise's models for speed (issue 19), so these tests pin what that could
change: every listed order and event is exactly its own answer (ids, timestamps, status, money,
lines in order), on SQLite and on PostgreSQL alike, and a page's cursor leads to the next row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from models import driver_rows as driver_rows_module
from models.organisation import Organisation
from models.ticketing import Event, Order, OrderLine, OrderStatus, Product
from partner_api.ticketing.partner_responses import _time
from tests.helpers import make_credential
from tests.test_partner_events import (
    BASE_TIME,
    Caller,
    access_token,
    caller,
    collect_pages,
    make_event,
    make_product,
    organisation,
)


async def _order(
    org: Organisation,
    event: Event,
    lines: list[tuple[Product, int]],
    *,
    created_at: datetime,
    status: OrderStatus = OrderStatus.PENDING,
    external_reference: str | None = None,
) -> Order:
    completed = created_at + timedelta(minutes=3) if status is OrderStatus.COMPLETED else None
    cancelled = created_at + timedelta(minutes=7) if status is OrderStatus.CANCELLED else None
    order = await Order.create(
        organisation=org,
        event=event,
        status=status,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        external_reference=external_reference,
        completed_at=completed,
        cancelled_at=cancelled,
    )
    for product, quantity in lines:
        await OrderLine.create(
            order=order, product=product, quantity=quantity, unit_price=product.price
        )
    await Order.filter(id=order.id).update(created_at=created_at)
    return order


async def test_every_listed_order_is_its_own_answer(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    regular = await make_product(event, capacity=100)
    premium = await make_product(event, name="Premium", price=12550, capacity=100)
    await Product.filter(id=premium.id).update(currency="GBP")
    premium = await Product.get(id=premium.id)
    mixed = await _order(
        org, event, [(regular, 2), (premium, 1), (regular, 3)], created_at=BASE_TIME
    )
    await _order(
        org,
        event,
        [(premium, 4)],
        created_at=BASE_TIME + timedelta(hours=1),
        status=OrderStatus.COMPLETED,
        external_reference="PO-7",
    )
    await _order(
        org, event, [(regular, 1)], created_at=BASE_TIME + timedelta(hours=2, microseconds=1)
    )
    await _order(
        org, event, [(regular, 1)], created_at=BASE_TIME + timedelta(hours=3),
        status=OrderStatus.CANCELLED,
    )  # fmt: skip
    no_lines = await _order(org, event, [], created_at=BASE_TIME + timedelta(hours=4))

    response = await client.get("/partner/v1/orders?limit=100", headers=partner.headers)
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    assert len(listed) == 5
    for item in listed:
        one = await client.get(f"/partner/v1/orders/{item['id']}", headers=partner.headers)
        assert item == one.json()

    by_id = {item["id"]: item for item in listed}
    # Lines in id order; the amounts in the currency of the first of them.
    line_rows = await OrderLine.filter(order_id=mixed.id).order_by("id")
    first_currency = "GBP" if line_rows[0].product_id == premium.id else "EUR"  # type: ignore[attr-defined]
    assert by_id[str(mixed.id)]["lines"] == [
        {
            "product_id": str(line.product_id),  # type: ignore[attr-defined]
            "quantity": line.quantity,
            "unit_price": {"amount": line.unit_price, "currency": first_currency},
        }
        for line in line_rows
    ]
    assert by_id[str(mixed.id)]["total"] == {"amount": 5 * 4500 + 12550, "currency": first_currency}
    assert by_id[str(no_lines.id)]["lines"] == []
    assert by_id[str(no_lines.id)]["total"] == {"amount": 0, "currency": "EUR"}
    assert by_id[str(mixed.id)]["created_at"] == BASE_TIME.isoformat()
    completed = next(item for item in listed if item["status"] == "COMPLETED")
    assert completed["completed_at"] == (BASE_TIME + timedelta(hours=1, minutes=3)).isoformat()
    assert completed["external_reference"] == "PO-7"


async def test_a_cursor_from_a_listing_leads_to_the_next_order(
    client: httpx.AsyncClient,
) -> None:
    """Cursors are made from the driver's values (the stored text on SQLite): with orders at the
    same instant and a microsecond apart, every order is listed once, newest first."""
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    product = await make_product(event, capacity=100)
    moments = [
        BASE_TIME,
        BASE_TIME + timedelta(seconds=2),
        BASE_TIME + timedelta(seconds=1),
        BASE_TIME + timedelta(seconds=1),
        BASE_TIME + timedelta(microseconds=500),
    ]
    orders = [await _order(org, event, [(product, 1)], created_at=moment) for moment in moments]
    stored = {order.id: (await Order.get(id=order.id)).created_at for order in orders}
    expected = [
        str(order_id)
        for order_id, _ in sorted(stored.items(), key=lambda item: (item[1], item[0]), reverse=True)
    ]

    pages = await collect_pages(client, "/partner/v1/orders", partner, limit=2)

    assert [order_id for page in pages for order_id in page] == expected
    listed = await client.get("/partner/v1/orders?limit=100", headers=partner.headers)
    assert all(
        datetime.fromisoformat(item["created_at"]).utcoffset() == timedelta(0)
        for item in listed.json()["data"]
    )


async def test_every_listed_event_is_its_own_answer(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    for index in range(5):
        await make_event(
            org, name=f"Night {index}", starts_at=BASE_TIME + timedelta(days=index % 3)
        )

    pages = await collect_pages(client, "/partner/v1/events", partner, limit=2)
    response = await client.get("/partner/v1/events?limit=100", headers=partner.headers)

    listed = response.json()["data"]
    assert [event_id for page in pages for event_id in page] == [item["id"] for item in listed]
    for item in listed:
        one = await client.get(f"/partner/v1/events/{item['id']}", headers=partner.headers)
        assert item == one.json()
        assert datetime.fromisoformat(item["starts_at"]).tzinfo is not None
    assert listed[0]["starts_at"] == BASE_TIME.astimezone(UTC).isoformat()


def test_a_stored_timestamp_reads_the_same_every_time() -> None:
    """SQLite's stored texts are converted once and remembered (`_stored_time`): the text given
    is the one the uncached conversion gives, in UTC, whatever offset was stored."""
    stored = [
        "2026-12-07 10:00:00+00:00",
        "2026-12-07T10:00:00.123456+02:00",
        "2026-12-07 10:00:00",
        "2026-12-07T08:00:00.123456+00:00",
    ]
    expected = [
        "2026-12-07T10:00:00+00:00",
        "2026-12-07T08:00:00.123456+00:00",
        "2026-12-07T10:00:00+00:00",
        "2026-12-07T08:00:00.123456+00:00",
    ]
    for _ in range(2):
        assert [_time(text) for text in stored] == expected


async def test_event_pages_run_from_kept_sql(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every shape of the events listing (first page, a page after a cursor, a credential
    limited to some events) lines up with Tortoise's parameters, so it runs from its kept SQL
    (models/driver_rows.py `CompiledRows`) and never through Tortoise's query building; the
    pages are the ones Tortoise's query gives."""
    org = await organisation()
    events = [
        await make_event(org, name=f"Night {index}", starts_at=BASE_TIME + timedelta(days=index))
        for index in range(5)
    ]
    full = await caller(client, org)
    issued = await make_credential(
        organisation=org, name="Limited", event_ids=[str(event.id) for event in events[1:4]]
    )
    limited = Caller(organisation=org, issued=issued, token=await access_token(client, issued))
    through_tortoise: list[object] = []

    async def refused(query: object) -> object:
        through_tortoise.append(query)
        raise AssertionError("a listing shape ran through Tortoise")

    monkeypatch.setattr(driver_rows_module, "driver_rows", refused)
    full_pages = await collect_pages(client, "/partner/v1/events", full, limit=2)
    limited_pages = await collect_pages(client, "/partner/v1/events", limited, limit=2)

    assert through_tortoise == []
    assert [event_id for page in full_pages for event_id in page] == [
        str(event.id) for event in events
    ]
    assert [event_id for page in limited_pages for event_id in page] == [
        str(event.id) for event in events[1:4]
    ]

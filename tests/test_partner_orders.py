"""Partner API: orders (list with filters and paging, one order) and their barcodes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from models.organisation import Organisation
from models.ticketing import Event, Order, OrderLine, OrderStatus, Product
from tests.test_partner_events import (
    BASE_TIME,
    MALFORMED_ID,
    UNKNOWN_ID,
    Caller,
    all_scopes_but,
    assert_error,
    assert_scope_denied,
    caller,
    collect_pages,
    make_event,
    make_product,
    organisation,
)


async def make_order(
    org: Organisation,
    event: Event,
    product: Product,
    *,
    created_at: datetime,
    status: OrderStatus = OrderStatus.PENDING,
    completed_at: datetime | None = None,
    quantity: int = 1,
    customer: str = "Ada Lovelace",
) -> Order:
    """An order from another sales channel, with a fixed creation time."""
    order = await Order.create(
        organisation=org,
        event=event,
        status=status,
        customer_name=customer,
        customer_email="ada@example.com",
        completed_at=completed_at,
    )
    await OrderLine.create(
        order=order, product=product, quantity=quantity, unit_price=product.price
    )
    await Order.filter(id=order.id).update(created_at=created_at)
    return await Order.get(id=order.id)


async def reserve(
    client: httpx.AsyncClient, partner: Caller, event: Event, lines: list[tuple[Product, int]]
) -> dict[str, Any]:
    response = await client.post(
        "/partner/v1/reservations",
        headers=partner.headers,
        json={
            "event_id": str(event.id),
            "lines": [
                {"product_id": str(product.id), "quantity": quantity} for product, quantity in lines
            ],
            "customer": {"name": "Grace Hopper", "email": "grace@example.com"},
            "external_reference": "PO-1",
        },
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def list_ids(
    client: httpx.AsyncClient, partner: Caller, params: Mapping[str, str | int]
) -> list[str]:
    response = await client.get("/partner/v1/orders", params=params, headers=partner.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


# -- one order ---------------------------------------------------------------------------------


async def test_order_by_id_shows_customer_lines_and_total(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    regular = await make_product(event, name="Regular", price=4500)
    vip = await make_product(event, name="VIP", price=12000)
    reserved = await reserve(client, partner, event, [(regular, 2), (vip, 1)])

    response = await client.get(f"/partner/v1/orders/{reserved['id']}", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    order = response.json()
    assert order == reserved
    assert set(order) == {
        "id",
        "event_id",
        "status",
        "customer",
        "external_reference",
        "lines",
        "total",
        "created_at",
        "completed_at",
        "cancelled_at",
    }
    assert order["event_id"] == str(event.id)
    assert order["status"] == "PENDING"
    assert order["customer"] == {"name": "Grace Hopper", "email": "grace@example.com"}
    assert order["external_reference"] == "PO-1"
    assert sorted(order["lines"], key=lambda line: line["quantity"]) == [
        {
            "product_id": str(vip.id),
            "quantity": 1,
            "unit_price": {"amount": 12000, "currency": "EUR"},
        },
        {
            "product_id": str(regular.id),
            "quantity": 2,
            "unit_price": {"amount": 4500, "currency": "EUR"},
        },
    ]
    assert order["total"] == {"amount": 21000, "currency": "EUR"}
    assert datetime.fromisoformat(order["created_at"]).tzinfo is not None
    assert order["completed_at"] is None
    assert order["cancelled_at"] is None


async def test_unknown_or_malformed_order_is_404(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)

    for order_id in (UNKNOWN_ID, MALFORMED_ID):
        for suffix in ("", "/barcodes"):
            path = f"/partner/v1/orders/{order_id}{suffix}"
            response = await client.get(path, headers=partner.headers)
            assert_error(response, 404, "not_found", label=path)


# -- the list ----------------------------------------------------------------------------------


async def test_orders_list_is_newest_first_and_pages_without_repeats(
    client: httpx.AsyncClient,
) -> None:
    """Orders created at the same moment are ordered by id, so no page repeats or skips one."""
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    product = await make_product(event, capacity=100)
    hours = [0, 5, 5, 5, 3, 1, 5, 2]
    orders = [
        await make_order(org, event, product, created_at=BASE_TIME + timedelta(hours=hour))
        for hour in hours
    ]
    expected = [
        str(order.id)
        for order in sorted(orders, key=lambda order: (order.created_at, order.id), reverse=True)
    ]

    assert await list_ids(client, partner, {}) == expected
    for limit in (1, 3, 4, 8):
        pages = await collect_pages(client, "/partner/v1/orders", partner, limit=limit)
        assert [order_id for page in pages for order_id in page] == expected, limit
        assert all(len(page) == limit for page in pages[:-1])
        assert len(pages) == -(-len(orders) // limit)


async def test_orders_list_filters_by_event(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    summer, autumn = await make_event(org), await make_event(org, name="Autumn")
    summer_ticket, autumn_ticket = await make_product(summer), await make_product(autumn)
    first = await make_order(org, summer, summer_ticket, created_at=BASE_TIME)
    await make_order(org, autumn, autumn_ticket, created_at=BASE_TIME + timedelta(hours=1))
    third = await make_order(org, summer, summer_ticket, created_at=BASE_TIME + timedelta(hours=2))

    assert await list_ids(client, partner, {"event_id": str(summer.id)}) == [
        str(third.id),
        str(first.id),
    ]


async def test_orders_list_filters_by_status(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    product = await make_product(event)
    by_status = {
        status: await make_order(
            org,
            event,
            product,
            status=status,
            created_at=BASE_TIME + timedelta(hours=index),
            completed_at=BASE_TIME if status is OrderStatus.COMPLETED else None,
        )
        for index, status in enumerate(OrderStatus)
    }

    for status, order in by_status.items():
        assert await list_ids(client, partner, {"status": status.value}) == [str(order.id)]


async def test_orders_list_completed_window_is_from_inclusive_to_exclusive(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    product = await make_product(event)
    start, end = BASE_TIME, BASE_TIME + timedelta(days=1)
    completed = {
        name: await make_order(
            org,
            event,
            product,
            status=OrderStatus.COMPLETED,
            created_at=BASE_TIME - timedelta(days=10) + timedelta(minutes=index),
            completed_at=moment,
        )
        for index, (name, moment) in enumerate(
            [
                ("before", start - timedelta(seconds=1)),
                ("at_start", start),
                ("inside", start + timedelta(hours=12)),
                ("at_end", end),
            ]
        )
    }
    await make_order(org, event, product, created_at=BASE_TIME)  # PENDING: never completed

    window = {"completed_from": start.isoformat(), "completed_to": end.isoformat()}
    assert await list_ids(client, partner, window) == [
        str(completed["inside"].id),
        str(completed["at_start"].id),
    ]
    assert await list_ids(client, partner, {"completed_from": start.isoformat()}) == [
        str(completed[name].id) for name in ("at_end", "inside", "at_start")
    ]
    assert await list_ids(client, partner, {"completed_to": start.isoformat()}) == [
        str(completed["before"].id)
    ]


async def test_orders_list_completed_window_honours_any_utc_offset(
    client: httpx.AsyncClient,
) -> None:
    """`completed_from`/`completed_to` accept any offset: 20:00+02:00 is 18:00 UTC."""
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    product = await make_product(event)
    early, late = [
        await make_order(
            org,
            event,
            product,
            status=OrderStatus.COMPLETED,
            created_at=BASE_TIME + timedelta(minutes=minute),
            completed_at=BASE_TIME + timedelta(minutes=minute),
        )
        for minute in (0, 90)
    ]
    plus_two = timezone(timedelta(hours=2))
    boundary = (BASE_TIME + timedelta(minutes=30)).astimezone(plus_two).isoformat()
    assert boundary.endswith("+02:00")

    assert await list_ids(client, partner, {"completed_from": boundary}) == [str(late.id)]
    assert await list_ids(client, partner, {"completed_to": boundary}) == [str(early.id)]


async def test_orders_list_filters_combine_and_page(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event, other = await make_event(org), await make_event(org, name="Other")
    product, other_product = await make_product(event), await make_product(other)
    wanted = [
        await make_order(
            org,
            event,
            product,
            status=OrderStatus.COMPLETED,
            created_at=BASE_TIME + timedelta(minutes=minute),
            completed_at=BASE_TIME + timedelta(days=1),
        )
        for minute in range(5)
    ]
    await make_order(org, event, product, created_at=BASE_TIME)
    await make_order(
        org,
        other,
        other_product,
        status=OrderStatus.COMPLETED,
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(days=1),
    )
    params: dict[str, str | int] = {"event_id": str(event.id), "status": "COMPLETED", "limit": 2}

    seen: list[str] = []
    cursor: str | None = None
    while True:
        response = await client.get(
            "/partner/v1/orders",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=partner.headers,
        )
        body = response.json()
        seen += [item["id"] for item in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == [str(order.id) for order in reversed(wanted)]


BAD_FILTERS: list[tuple[dict[str, str], str]] = [
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"cursor": "garbage!"}, "cursor"),
    ({"event_id": "not-a-uuid"}, "event_id"),
    ({"event_id": ""}, "event_id"),
    ({"status": "pending"}, "status"),
    ({"status": "SHIPPED"}, "status"),
    ({"completed_from": "2030-06-01T18:00:00"}, "completed_from"),
    ({"completed_from": "yesterday"}, "completed_from"),
    ({"completed_to": "2030-06-01T18:00:00"}, "completed_to"),
    ({"completed_to": "2030-13-01T00:00:00+00:00"}, "completed_to"),
]


async def test_orders_list_rejects_bad_input_naming_the_parameter(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    partner = await caller(client, org)

    for params, field in BAD_FILTERS:
        response = await client.get("/partner/v1/orders", params=params, headers=partner.headers)

        assert_error(response, 400, "invalid_request", field, label=str(params))


# -- barcodes ----------------------------------------------------------------------------------


async def test_barcodes_only_once_completed_one_per_ticket(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    regular, vip = await make_product(event), await make_product(event, name="VIP")
    order = await reserve(client, partner, event, [(regular, 3), (vip, 1)])
    barcodes_path = f"/partner/v1/orders/{order['id']}/barcodes"

    pending = await client.get(barcodes_path, headers=partner.headers)
    completed = await client.post(
        f"/partner/v1/reservations/{order['id']}/complete", headers=partner.headers
    )
    issued = await client.get(barcodes_path, headers=partner.headers)

    assert pending.status_code == 200, pending.text
    assert pending.json() == {"data": []}
    assert completed.status_code == 200, completed.text
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    data = issued.json()["data"]
    assert all(set(item) == {"code", "product_id", "order_id"} for item in data)
    assert sorted(item["product_id"] for item in data) == sorted(
        [str(regular.id)] * 3 + [str(vip.id)]
    )
    assert {item["order_id"] for item in data} == {order["id"]}
    codes = [item["code"] for item in data]
    assert len(set(codes)) == 4
    assert all(len(code) >= 8 for code in codes)


async def test_cancelled_order_has_no_barcodes(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    order = await reserve(client, partner, event, [(await make_product(event), 2)])
    await client.post(f"/partner/v1/reservations/{order['id']}/cancel", headers=partner.headers)

    response = await client.get(
        f"/partner/v1/orders/{order['id']}/barcodes", headers=partner.headers
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"data": []}


# -- scopes and organisations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "scope"),
    [("", "orders:read"), ("/{id}", "orders:read"), ("/{id}/barcodes", "barcodes:read")],
)
async def test_rs06_order_endpoints_need_their_scope(
    client: httpx.AsyncClient, suffix: str, scope: str
) -> None:
    """RS-06: a FINE_GRAINED credential holding every other scope is refused with 403."""
    org = await organisation()
    partner = await caller(client, org, scopes=all_scopes_but(scope))
    allowed = await caller(client, org, name="Reader", scopes=[scope])
    event = await make_event(org)
    order = await make_order(
        org,
        event,
        await make_product(event),
        status=OrderStatus.COMPLETED,
        created_at=BASE_TIME,
        completed_at=BASE_TIME,
    )
    path = "/partner/v1/orders" + suffix.replace("{id}", str(order.id))

    denied = await client.get(path, headers=partner.headers)

    assert_scope_denied(denied, scope)
    assert (await client.get(path, headers=allowed.headers)).status_code == 200


@pytest.mark.parametrize("suffix", ["", "/barcodes"])
async def test_rs09_another_organisations_order_is_404_like_an_unknown_one(
    client: httpx.AsyncClient, suffix: str
) -> None:
    """RS-09: org B cannot tell org A's order from an unknown or malformed id."""
    org_a = await organisation("Acme Tickets")
    partner_a = await caller(client, org_a)
    partner_b = await caller(client, await organisation("Rival Events"))
    event_a = await make_event(org_a)
    order_a = await reserve(client, partner_a, event_a, [(await make_product(event_a), 1)])
    await client.post(
        f"/partner/v1/reservations/{order_a['id']}/complete", headers=partner_a.headers
    )

    answers = [
        await client.get(f"/partner/v1/orders/{order_id}{suffix}", headers=partner_b.headers)
        for order_id in (order_a["id"], UNKNOWN_ID, MALFORMED_ID)
    ]

    bodies = [assert_error(answer, 404, "not_found") for answer in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    own = await client.get(f"/partner/v1/orders/{order_a['id']}{suffix}", headers=partner_a.headers)
    assert own.status_code == 200


async def test_rs09_orders_list_shows_only_the_callers_organisation(
    client: httpx.AsyncClient,
) -> None:
    org_a, org_b = await organisation("Acme Tickets"), await organisation("Rival Events")
    partner_a, partner_b = await caller(client, org_a), await caller(client, org_b)
    event_a, event_b = await make_event(org_a), await make_event(org_b)
    order_a = await make_order(org_a, event_a, await make_product(event_a), created_at=BASE_TIME)
    order_b = await make_order(org_b, event_b, await make_product(event_b), created_at=BASE_TIME)

    assert await list_ids(client, partner_a, {}) == [str(order_a.id)]
    assert await list_ids(client, partner_b, {}) == [str(order_b.id)]
    # Filtering on the other organisation's event finds nothing rather than its orders.
    assert await list_ids(client, partner_b, {"event_id": str(event_a.id)}) == []

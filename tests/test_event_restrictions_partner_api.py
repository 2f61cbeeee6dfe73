"""ER-01: a token limited to some events reaches only those, on every Partner API endpoint.

An event of the organisation outside the token's events, its products, orders and barcodes answer
exactly like another organisation's and like an id that exists nowhere: same status, same bytes,
so the answer is no oracle for which ids exist. A reservation for such an event is refused with
403 `insufficient_authorization` from the token alone, before any stock moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from models.enums import AccessLevel
from models.organisation import Organisation
from models.ticketing import Barcode, Event, Order, OrderStatus, Product
from tests.helpers import make_credential
from tests.test_partner_events import (
    BASE_TIME,
    MALFORMED_ID,
    UNKNOWN_ID,
    Caller,
    access_token,
    assert_error,
    caller,
    collect_pages,
    expected_event,
    make_event,
    make_product,
    organisation,
)
from tests.test_partner_orders import make_order, reserve

RESERVATIONS = "/partner/v1/reservations"


@dataclass(frozen=True)
class EventOrders:
    """One event's orders, one of each kind the filters tell apart."""

    pending: str  # reserved through the API
    completed: str  # reserved and completed through the API: has barcodes
    settled: str  # completed at BASE_TIME by another sales channel
    cancelled: str

    @property
    def all(self) -> set[str]:
        return {self.pending, self.completed, self.settled, self.cancelled}


@dataclass(frozen=True)
class World:
    """Organisation A with events E1 and E2, organisation B with event F, each with a product and
    orders; a token of A limited to E1, an unrestricted one of A, and one of B."""

    e1: Event
    e2: Event
    f: Event
    p1: Product
    p2: Product
    pf: Product
    orders: dict[str, EventOrders]  # by "e1", "e2", "f"
    restricted: Caller
    everything: Caller
    other: Caller


async def restricted_caller(
    client: httpx.AsyncClient, org: Organisation, events: list[Event], *, name: str = "Door app"
) -> Caller:
    issued = await make_credential(
        organisation=org,
        name=name,
        access_level=AccessLevel.FULL,
        event_ids=[str(event.id) for event in events],
    )
    return Caller(organisation=org, issued=issued, token=await access_token(client, issued))


async def orders_for(
    client: httpx.AsyncClient, partner: Caller, event: Event, product: Product
) -> EventOrders:
    org = partner.organisation
    pending = await reserve(client, partner, event, [(product, 1)])
    completed = await reserve(client, partner, event, [(product, 2)])
    done = await client.post(f"{RESERVATIONS}/{completed['id']}/complete", headers=partner.headers)
    assert done.status_code == 200, done.text
    settled = await make_order(
        org,
        event,
        product,
        status=OrderStatus.COMPLETED,
        created_at=BASE_TIME - timedelta(days=1),
        completed_at=BASE_TIME,
    )
    cancelled = await make_order(
        org, event, product, status=OrderStatus.CANCELLED, created_at=BASE_TIME
    )
    return EventOrders(
        pending=pending["id"],
        completed=completed["id"],
        settled=str(settled.id),
        cancelled=str(cancelled.id),
    )


async def world(client: httpx.AsyncClient) -> World:
    a, b = await organisation("Acme Tickets"), await organisation("Bravo Events")
    e1 = await make_event(a, name="Summer Night", starts_at=BASE_TIME)
    e2 = await make_event(a, name="Autumn Gala", starts_at=BASE_TIME + timedelta(days=1))
    f = await make_event(b, name="Spring Fair", starts_at=BASE_TIME)
    p1, p2, pf = await make_product(e1), await make_product(e2), await make_product(f)
    everything = await caller(client, a, name="Box office")
    other = await caller(client, b, name="Bravo box office")
    orders = {
        "e1": await orders_for(client, everything, e1, p1),
        "e2": await orders_for(client, everything, e2, p2),
        "f": await orders_for(client, other, f, pf),
    }
    return World(
        e1=e1,
        e2=e2,
        f=f,
        p1=p1,
        p2=p2,
        pf=pf,
        orders=orders,
        restricted=await restricted_caller(client, a, [e1]),
        everything=everything,
        other=other,
    )


async def same_answer(
    client: httpx.AsyncClient,
    partner: Caller,
    paths: list[str],
    *,
    method: str = "GET",
    bodies: list[Any] | None = None,
) -> httpx.Response:
    """Every path answers with the same status, media type and body bytes; the first answer."""
    responses = []
    for index, path in enumerate(paths):
        json_body = None if bodies is None else bodies[index]
        responses.append(
            await client.request(method, path, headers=partner.headers, json=json_body)
        )
    first = responses[0]
    for path, response in zip(paths, responses, strict=True):
        assert response.status_code == first.status_code, (path, response.text)
        assert response.headers["content-type"] == first.headers["content-type"], path
        assert response.content == first.content, (path, response.content, first.content)
    return first


async def ids_listed(
    client: httpx.AsyncClient, partner: Caller, path: str, params: dict[str, str] | None = None
) -> list[str]:
    response = await client.get(path, params=params or {}, headers=partner.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


async def sold(product: Product) -> int:
    return (await Product.get(id=product.id)).sold


# -- events and products -----------------------------------------------------------------------


async def test_er01_events_list_shows_only_the_tokens_events(client: httpx.AsyncClient) -> None:
    w = await world(client)

    response = await client.get("/partner/v1/events", headers=w.restricted.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"data": [expected_event(w.e1)], "next_cursor": None}
    assert await collect_pages(client, "/partner/v1/events", w.restricted, limit=1) == [
        [str(w.e1.id)]
    ]


async def test_er01_events_list_pages_through_the_tokens_events_skipping_the_others(
    client: httpx.AsyncClient,
) -> None:
    a = await organisation()
    starts = [BASE_TIME + timedelta(days=day) for day in range(5)]
    events = [
        await make_event(a, name=f"Night {day}", starts_at=at) for day, at in enumerate(starts)
    ]
    chosen = [events[3], events[0], events[4]]  # kept in start order, whatever order chosen in
    partner = await restricted_caller(client, a, chosen)

    pages = await collect_pages(client, "/partner/v1/events", partner, limit=1)
    two_per_page = await collect_pages(client, "/partner/v1/events", partner, limit=2)

    expected = [str(events[index].id) for index in (0, 3, 4)]
    assert pages == [[event_id] for event_id in expected]
    assert two_per_page == [expected[:2], expected[2:]]


async def test_er01_event_and_products_outside_the_tokens_events_answer_like_another_orgs(
    client: httpx.AsyncClient,
) -> None:
    w = await world(client)
    headers = w.restricted.headers

    event = await client.get(f"/partner/v1/events/{w.e1.id}", headers=headers)
    products = await client.get(f"/partner/v1/events/{w.e1.id}/products", headers=headers)

    assert event.status_code == 200, event.text
    assert event.json() == expected_event(w.e1)
    assert products.status_code == 200, products.text
    assert [item["id"] for item in products.json()["data"]] == [str(w.p1.id)]
    for suffix in ("", "/products"):
        paths = [
            f"/partner/v1/events/{event_id}{suffix}"
            for event_id in (w.e2.id, w.f.id, UNKNOWN_ID, MALFORMED_ID)
        ]
        answer = await same_answer(client, w.restricted, paths)
        assert_error(answer, 404, "not_found", label=suffix)


# -- orders and barcodes -----------------------------------------------------------------------


async def test_er01_orders_list_holds_only_orders_of_the_tokens_events(
    client: httpx.AsyncClient,
) -> None:
    w = await world(client)
    mine = w.orders["e1"]
    orders = "/partner/v1/orders"

    everything = await ids_listed(client, w.restricted, orders)
    for_e1 = await ids_listed(client, w.restricted, orders, {"event_id": str(w.e1.id)})
    paged = await collect_pages(client, orders, w.restricted, limit=1)

    assert set(everything) == mine.all
    assert len(everything) == len(mine.all)
    assert for_e1 == everything
    assert [order_id for page in paged for order_id in page] == everything
    by_status = {
        status: await ids_listed(client, w.restricted, orders, {"status": status})
        for status in ("PENDING", "COMPLETED", "CANCELLED")
    }
    assert by_status == {
        "PENDING": [mine.pending],
        "COMPLETED": [mine.settled, mine.completed],
        "CANCELLED": [mine.cancelled],
    }
    window = {
        "completed_from": (BASE_TIME - timedelta(hours=1)).isoformat(),
        "completed_to": (BASE_TIME + timedelta(hours=1)).isoformat(),
    }
    assert await ids_listed(client, w.restricted, orders, window) == [mine.settled]
    wide = {"completed_from": "2000-01-01T00:00:00+00:00", "completed_to": "2100-01-01T00:00:00Z"}
    assert set(await ids_listed(client, w.restricted, orders, wide)) == {
        mine.completed,
        mine.settled,
    }
    filtered = [f"{orders}?event_id={event_id}" for event_id in (w.e2.id, w.f.id, UNKNOWN_ID)] + [
        f"{orders}?event_id={w.e2.id}&status={status}" for status in ("PENDING", "COMPLETED")
    ]
    empty = await same_answer(client, w.restricted, filtered)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"data": [], "next_cursor": None}


async def test_er01_order_and_barcodes_outside_the_tokens_events_answer_like_another_orgs(
    client: httpx.AsyncClient,
) -> None:
    w = await world(client)
    mine, theirs, foreign = w.orders["e1"], w.orders["e2"], w.orders["f"]
    headers = w.restricted.headers

    order = await client.get(f"/partner/v1/orders/{mine.completed}", headers=headers)
    barcodes = await client.get(f"/partner/v1/orders/{mine.completed}/barcodes", headers=headers)

    assert order.status_code == 200, order.text
    assert order.json()["event_id"] == str(w.e1.id)
    assert barcodes.status_code == 200, barcodes.text
    assert len(barcodes.json()["data"]) == 2
    # E2's completed order does have barcodes: only the restriction hides them.
    assert await Barcode.filter(order_id=theirs.completed).count() == 2
    for suffix in ("", "/barcodes"):
        paths = [
            f"/partner/v1/orders/{order_id}{suffix}"
            for order_id in (
                *sorted(theirs.all),
                *sorted(foreign.all),
                UNKNOWN_ID,
                MALFORMED_ID,
            )
        ]
        answer = await same_answer(client, w.restricted, paths)
        assert_error(answer, 404, "not_found", label=suffix)


# -- reservations ------------------------------------------------------------------------------


def reservation(event_id: object, product_id: object) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "lines": [{"product_id": str(product_id), "quantity": 2}],
        "customer": {"name": "Grace Hopper", "email": "grace@example.com"},
    }


async def test_er01_reservation_outside_the_tokens_events_is_403_and_holds_no_stock(
    client: httpx.AsyncClient,
) -> None:
    w = await world(client)
    stock = {product.id: await sold(product) for product in (w.p1, w.p2, w.pf)}
    orders_before = await Order.all().count()

    allowed = await client.post(
        RESERVATIONS, headers=w.restricted.headers, json=reservation(w.e1.id, w.p1.id)
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["event_id"] == str(w.e1.id)
    assert await sold(w.p1) == stock[w.p1.id] + 2
    assert await Order.all().count() == orders_before + 1

    refused = await same_answer(
        client,
        w.restricted,
        [RESERVATIONS] * 5,
        method="POST",
        bodies=[
            reservation(w.e2.id, w.p2.id),
            reservation(w.f.id, w.pf.id),
            reservation(UNKNOWN_ID, UNKNOWN_ID),
            # The event decides, even with a product the token may sell.
            reservation(w.e2.id, w.p1.id),
            reservation(w.f.id, w.p1.id),
        ],
    )

    assert_error(refused, 403, "insufficient_authorization", "event_id")
    assert await sold(w.p2) == stock[w.p2.id]
    assert await sold(w.pf) == stock[w.pf.id]
    assert await sold(w.p1) == stock[w.p1.id] + 2
    assert await Order.all().count() == orders_before + 1
    assert await Order.filter(event_id=w.e2.id).count() == len(w.orders["e2"].all)


async def test_er01_complete_or_cancel_outside_the_tokens_events_is_404_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    w = await world(client)
    theirs, foreign = w.orders["e2"], w.orders["f"]
    stock = await sold(w.p2)

    for action in ("complete", "cancel"):
        paths = [
            f"{RESERVATIONS}/{order_id}/{action}"
            for order_id in (theirs.pending, foreign.pending, UNKNOWN_ID, MALFORMED_ID)
        ]
        answer = await same_answer(client, w.restricted, paths, method="POST")
        assert_error(answer, 404, "not_found", label=action)

    order = await Order.get(id=theirs.pending)
    assert order.status is OrderStatus.PENDING
    assert order.completed_at is None
    assert order.cancelled_at is None
    assert await Barcode.filter(order_id=theirs.pending).count() == 0
    assert await sold(w.p2) == stock
    assert (await Order.get(id=foreign.pending)).status is OrderStatus.PENDING
    # The same token completes and cancels its own event's reservations.
    extra = await reserve(client, w.restricted, w.e1, [(w.p1, 1)])
    completed = await client.post(
        f"{RESERVATIONS}/{w.orders['e1'].pending}/complete", headers=w.restricted.headers
    )
    cancelled = await client.post(
        f"{RESERVATIONS}/{extra['id']}/cancel", headers=w.restricted.headers
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "COMPLETED"
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"


# -- unrestricted credentials and /me ----------------------------------------------------------


async def test_er01_unrestricted_credential_still_reaches_every_event(
    client: httpx.AsyncClient,
) -> None:
    w = await world(client)
    partner = w.everything
    theirs = w.orders["e2"]

    events = await ids_listed(client, partner, "/partner/v1/events")
    event = await client.get(f"/partner/v1/events/{w.e2.id}", headers=partner.headers)
    products = await client.get(f"/partner/v1/events/{w.e2.id}/products", headers=partner.headers)
    orders = await ids_listed(client, partner, "/partner/v1/orders")
    barcodes = await client.get(
        f"/partner/v1/orders/{theirs.completed}/barcodes", headers=partner.headers
    )
    reserved = await client.post(
        RESERVATIONS, headers=partner.headers, json=reservation(w.e2.id, w.p2.id)
    )

    assert events == [str(w.e1.id), str(w.e2.id)]
    assert event.status_code == 200, event.text
    assert [item["id"] for item in products.json()["data"]] == [str(w.p2.id)]
    assert set(orders) == w.orders["e1"].all | theirs.all
    assert len(barcodes.json()["data"]) == 2
    assert reserved.status_code == 201, reserved.text


async def test_er01_me_lists_the_tokens_events_or_null_for_all(client: httpx.AsyncClient) -> None:
    w = await world(client)

    restricted = await client.get("/partner/v1/me", headers=w.restricted.headers)
    everything = await client.get("/partner/v1/me", headers=w.everything.headers)

    assert restricted.status_code == 200, restricted.text
    assert restricted.json()["event_ids"] == [str(w.e1.id)]
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert "event_ids" in body
    assert body["event_ids"] is None

"""Partner API: reservations — create (hold stock), complete (barcodes), cancel (release stock),
their input rules, Idempotency-Key, and concurrent requests on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

import tests.database
from models.ticketing import Barcode, Event, IdempotentResponse, Order, OrderStatus, Product
from tests.test_partner_events import (
    MALFORMED_ID,
    UNKNOWN_ID,
    Caller,
    all_scopes_but,
    assert_error,
    assert_scope_denied,
    caller,
    make_event,
    make_product,
    organisation,
)

RESERVATIONS = "/partner/v1/reservations"
POSTGRES_ONLY = pytest.mark.skipif(
    not tests.database.on_postgres(),
    reason="needs PostgreSQL: SQLite runs one write transaction at a time, so requests cannot "
    "race for stock or row locks there",
)


def body_for(event: Event, lines: list[tuple[Product, int]], **overrides: Any) -> dict[str, Any]:
    return {
        "event_id": str(event.id),
        "lines": [
            {"product_id": str(product.id), "quantity": quantity} for product, quantity in lines
        ],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        **overrides,
    }


async def post(
    client: httpx.AsyncClient, path: str, partner: Caller, body: Any = None, key: str | None = None
) -> httpx.Response:
    headers = dict(partner.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    if body is None:
        return await client.post(path, headers=headers)
    return await client.post(path, headers=headers, json=body)


async def available(client: httpx.AsyncClient, partner: Caller, event: Event) -> dict[str, int]:
    """What a partner sees as left, per product name."""
    response = await client.get(f"/partner/v1/events/{event.id}/products", headers=partner.headers)
    assert response.status_code == 200, response.text
    return {item["name"]: item["available"] for item in response.json()["data"]}


async def sold(product: Product) -> int:
    return (await Product.get(id=product.id)).sold


async def setup(client: httpx.AsyncClient, *, capacity: int = 10) -> tuple[Caller, Event, Product]:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    return partner, event, await make_product(event, capacity=capacity)


# -- the happy paths ---------------------------------------------------------------------------


async def test_reservation_creates_a_pending_order_that_holds_stock(
    client: httpx.AsyncClient,
) -> None:
    partner, event, regular = await setup(client, capacity=10)
    vip = await make_product(event, name="VIP", price=12000, capacity=4)

    response = await post(
        client,
        RESERVATIONS,
        partner,
        body_for(event, [(regular, 3), (vip, 2)], external_reference="PO-4711"),
    )

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    order = response.json()
    assert order["status"] == "PENDING"
    assert order["event_id"] == str(event.id)
    assert order["customer"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert order["external_reference"] == "PO-4711"
    assert {(line["product_id"], line["quantity"]) for line in order["lines"]} == {
        (str(regular.id), 3),
        (str(vip.id), 2),
    }
    assert order["total"] == {"amount": 3 * 4500 + 2 * 12000, "currency": "EUR"}
    assert order["completed_at"] is None
    assert order["cancelled_at"] is None
    assert await available(client, partner, event) == {"Regular": 7, "VIP": 2}
    stored = await Order.get(id=order["id"])
    assert stored.status is OrderStatus.PENDING
    assert stored.credential_id == partner.issued.credential.id  # type: ignore[attr-defined]
    assert await Barcode.all().count() == 0


async def test_the_new_order_is_answered_as_reading_it_back_would(
    client: httpx.AsyncClient,
) -> None:
    """The 201 body is built from what the reservation's transaction holds, not read back: it
    must be the bytes GET /orders/{id} answers, lines in the same order (by line id) and the
    currency of the first of them, over many reservations so the lines' random ids come in every
    order."""
    partner, event, _ = await setup(client, capacity=1000)
    products = [
        await make_product(event, name=f"Tier {index}", price=1000 * (index + 1), capacity=1000)
        for index in range(4)
    ]
    for reference in range(12):
        lines = [(product, 1 + (index + reference) % 3) for index, product in enumerate(products)]
        response = await post(
            client,
            RESERVATIONS,
            partner,
            body_for(event, lines, external_reference=f"PO-{reference}"),
            key=f"order-{reference}",
        )
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        read = await client.get(f"/partner/v1/orders/{order_id}", headers=partner.headers)
        assert read.status_code == 200, read.text
        assert response.content == read.content


async def test_external_reference_is_optional(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)

    response = await post(client, RESERVATIONS, partner, body_for(event, [(product, 1)]))

    assert response.status_code == 201, response.text
    assert response.json()["external_reference"] is None


async def test_complete_issues_one_barcode_per_ticket_and_twice_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    partner, event, product = await setup(client)
    order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 3)]))).json()
    path = f"{RESERVATIONS}/{order['id']}/complete"

    first = await post(client, path, partner)
    again = await post(client, path, partner)

    assert first.status_code == 200, first.text
    completed = first.json()
    assert completed["status"] == "COMPLETED"
    assert datetime.fromisoformat(completed["completed_at"]) >= datetime.fromisoformat(
        completed["created_at"]
    )
    assert completed["cancelled_at"] is None
    assert completed == {**order, "status": "COMPLETED", "completed_at": completed["completed_at"]}
    assert again.status_code == 200, again.text
    assert again.json() == completed
    assert await Barcode.filter(order_id=order["id"]).count() == 3
    assert await sold(product) == 3
    barcodes = await client.get(
        f"/partner/v1/orders/{order['id']}/barcodes", headers=partner.headers
    )
    assert len(barcodes.json()["data"]) == 3


async def test_cancel_releases_stock_and_twice_changes_nothing(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=5)
    order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 4)]))).json()
    assert await available(client, partner, event) == {"Regular": 1}
    path = f"{RESERVATIONS}/{order['id']}/cancel"

    first = await post(client, path, partner)
    again = await post(client, path, partner)

    assert first.status_code == 200, first.text
    cancelled = first.json()
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelled_at"] is not None
    assert cancelled["completed_at"] is None
    assert again.status_code == 200, again.text
    assert again.json() == cancelled
    assert await available(client, partner, event) == {"Regular": 5}
    assert await sold(product) == 0
    # The released tickets can be sold again.
    retry = await post(client, RESERVATIONS, partner, body_for(event, [(product, 5)]))
    assert retry.status_code == 201, retry.text


async def test_completing_a_cancelled_order_is_invalid_state(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)
    order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]))).json()
    await post(client, f"{RESERVATIONS}/{order['id']}/cancel", partner)

    response = await post(client, f"{RESERVATIONS}/{order['id']}/complete", partner)

    assert_error(response, 409, "invalid_state")
    assert (await Order.get(id=order["id"])).status is OrderStatus.CANCELLED
    assert await Barcode.all().count() == 0
    assert await sold(product) == 0


async def test_cancelling_a_completed_order_is_invalid_state(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)
    order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]))).json()
    await post(client, f"{RESERVATIONS}/{order['id']}/complete", partner)

    response = await post(client, f"{RESERVATIONS}/{order['id']}/cancel", partner)

    assert_error(response, 409, "invalid_state")
    assert (await Order.get(id=order["id"])).status is OrderStatus.COMPLETED
    assert await Barcode.all().count() == 2
    assert await sold(product) == 2


async def test_sold_out_names_the_line_and_holds_nothing(client: httpx.AsyncClient) -> None:
    partner, event, plenty = await setup(client, capacity=100)
    scarce = await make_product(event, name="VIP", capacity=3, sold=1)

    response = await post(
        client, RESERVATIONS, partner, body_for(event, [(plenty, 5), (scarce, 3)])
    )

    assert_error(response, 409, "sold_out", "lines[1].quantity")
    assert await sold(plenty) == 0
    assert await sold(scarce) == 1
    assert await Order.all().count() == 0
    assert await available(client, partner, event) == {"Regular": 100, "VIP": 2}


async def test_the_last_tickets_can_be_reserved_exactly(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=3)

    first = await post(client, RESERVATIONS, partner, body_for(event, [(product, 3)]))
    second = await post(client, RESERVATIONS, partner, body_for(event, [(product, 1)]))

    assert first.status_code == 201, first.text
    assert_error(second, 409, "sold_out", "lines[0].quantity")
    assert await sold(product) == 3


async def test_completing_or_cancelling_an_unknown_order_is_404(
    client: httpx.AsyncClient,
) -> None:
    partner, _, _ = await setup(client)

    for order_id in (UNKNOWN_ID, MALFORMED_ID):
        for action in ("complete", "cancel"):
            path = f"{RESERVATIONS}/{order_id}/{action}"
            response = await post(client, path, partner)
            assert_error(response, 404, "not_found", label=path)


# -- input rules -------------------------------------------------------------------------------

VALID_PRODUCT = "{product}"


def _line(quantity: Any) -> list[dict[str, Any]]:
    return [{"product_id": VALID_PRODUCT, "quantity": quantity}]


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("missing event_id", {"event_id": None}, "event_id"),
    ("event_id not a uuid", {"event_id": "summer-night"}, "event_id"),
    ("event_id a number", {"event_id": 42}, "event_id"),
    ("lines missing", {"lines": None}, "lines"),
    ("lines empty", {"lines": []}, "lines"),
    ("lines not a list", {"lines": {"product_id": VALID_PRODUCT, "quantity": 1}}, "lines"),
    (
        "too many lines",
        {"lines": [{"product_id": str(uuid.uuid4()), "quantity": 1} for _ in range(21)]},
        "lines",
    ),
    (
        "duplicate product",
        {"lines": _line(1) + _line(2)},
        "lines[1].product_id",
    ),
    (
        "product_id not a uuid",
        {"lines": [{"product_id": "x", "quantity": 1}]},
        "lines[0].product_id",
    ),
    ("quantity 0", {"lines": _line(0)}, "lines[0].quantity"),
    ("quantity 51", {"lines": _line(51)}, "lines[0].quantity"),
    ("quantity -1", {"lines": _line(-1)}, "lines[0].quantity"),
    ("quantity 1.5", {"lines": _line(1.5)}, "lines[0].quantity"),
    ("quantity string", {"lines": _line("2")}, "lines[0].quantity"),
    ("quantity true", {"lines": _line(True)}, "lines[0].quantity"),
    ("quantity missing", {"lines": [{"product_id": VALID_PRODUCT}]}, "lines[0].quantity"),
    ("customer missing", {"customer": None}, "customer"),
    ("customer a string", {"customer": "Ada"}, "customer"),
    (
        "customer extra field",
        {"customer": {"name": "Ada", "email": "ada@example.com", "phone": "+31"}},
        "customer",
    ),
    ("customer name missing", {"customer": {"email": "ada@example.com"}}, "customer.name"),
    (
        "customer name empty",
        {"customer": {"name": "", "email": "ada@example.com"}},
        "customer.name",
    ),
    (
        "customer name blank",
        {"customer": {"name": "   ", "email": "ada@example.com"}},
        "customer.name",
    ),
    (
        "customer name too long",
        {"customer": {"name": "A" * 201, "email": "ada@example.com"}},
        "customer.name",
    ),
    ("customer email missing", {"customer": {"name": "Ada"}}, "customer.email"),
    (
        "customer email invalid",
        {"customer": {"name": "Ada", "email": "not-an-email"}},
        "customer.email",
    ),
    (
        "customer email not a string",
        {"customer": {"name": "Ada", "email": 7}},
        "customer.email",
    ),
    ("unknown top-level field", {"coupon": "FREE"}, "coupon"),
    ("external_reference too long", {"external_reference": "R" * 101}, "external_reference"),
    ("external_reference not a string", {"external_reference": 12}, "external_reference"),
]


async def test_bad_reservation_input_names_the_field_and_holds_nothing(
    client: httpx.AsyncClient,
) -> None:
    partner, event, product = await setup(client)

    for name, overrides, field in BAD_BODIES:
        body = body_for(event, [(product, 1)])
        text = json.dumps(overrides).replace(VALID_PRODUCT, str(product.id))
        for key, value in json.loads(text).items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value

        response = await post(client, RESERVATIONS, partner, body)

        assert_error(response, 400, "invalid_request", field, label=name)
    assert await Order.all().count() == 0
    assert await sold(product) == 0


async def test_external_reference_of_100_characters_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    partner, event, product = await setup(client)

    response = await post(
        client,
        RESERVATIONS,
        partner,
        body_for(event, [(product, 1)], external_reference="R" * 100),
    )

    assert response.status_code == 201, response.text
    assert response.json()["external_reference"] == "R" * 100


NOT_OBJECTS = [b"{not json", b"", b"\xff\xfe", b"[]", b'[{"event_id": "x"}]', b'"text"', b"null"]
# JSON that Python's lenient parser accepts but RFC 8259 does not: a lone surrogate (as a key, it
# would reach the idempotency fingerprint's UTF-8 encoding, which cannot encode it) and NaN.
NOT_STRICT_JSON = [
    b'{"\\ud800": 1}',
    b'{"external_reference": "\\udfff"}',
    b'{"lines": NaN}',
    b'{"lines": [], "quantity": Infinity}',
]


async def test_a_body_that_is_not_a_json_object_is_400(client: httpx.AsyncClient) -> None:
    """Not JSON, not an object, or JSON that only a lenient parser accepts: 400, never 500 (the
    Idempotency-Key would carry a lone surrogate on to the fingerprint's UTF-8 encoding)."""
    partner, _, _ = await setup(client)

    for content in NOT_OBJECTS + NOT_STRICT_JSON:
        response = await client.post(
            RESERVATIONS,
            content=content,
            headers={
                **partner.headers,
                "Content-Type": "application/json",
                "Idempotency-Key": "k1",
            },
        )

        assert_error(response, 400, "invalid_request", label=repr(content))
    assert await Order.all().count() == 0


async def test_a_body_that_is_not_sent_as_json_is_415(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)
    content = json.dumps(body_for(event, [(product, 1)]))

    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = dict(partner.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type

        response = await client.post(RESERVATIONS, content=content, headers=headers)

        assert_error(response, 415, "unsupported_media_type", label=str(content_type))
    assert await Order.all().count() == 0


async def test_json_with_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)

    response = await client.post(
        RESERVATIONS,
        content=json.dumps(body_for(event, [(product, 1)])),
        headers={**partner.headers, "Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201, response.text


async def test_a_body_over_16_kib_is_413(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)
    body = body_for(event, [(product, 1)], external_reference="R" * (16 * 1024))

    response = await post(client, RESERVATIONS, partner, body)

    assert_error(response, 413, "payload_too_large")
    assert await Order.all().count() == 0


async def test_a_body_declared_over_16_kib_is_413_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    """The declared Content-Length is checked before any byte is read, as the token and GraphQL
    endpoints check theirs: a valid body behind a declaration over the bound makes no order."""
    partner, event, product = await setup(client)

    response = await client.post(
        RESERVATIONS,
        content=json.dumps(body_for(event, [(product, 1)])),
        headers={
            **partner.headers,
            "Content-Type": "application/json",
            "Content-Length": str(16 * 1024 + 1),
        },
    )

    assert_error(response, 413, "payload_too_large")
    assert await Order.all().count() == 0


# -- scopes and organisations ------------------------------------------------------------------


@pytest.mark.parametrize("action", ["reserve", "complete", "cancel"])
async def test_rs06_reservations_need_orders_write(client: httpx.AsyncClient, action: str) -> None:
    """RS-06: a FINE_GRAINED credential holding every other scope is refused and changes nothing."""
    org = await organisation()
    writer = await caller(client, org, name="Writer", scopes=["orders:write"])
    reader = await caller(client, org, scopes=all_scopes_but("orders:write"))
    event = await make_event(org)
    product = await make_product(event)
    order = (await post(client, RESERVATIONS, writer, body_for(event, [(product, 2)]))).json()
    path = RESERVATIONS if action == "reserve" else f"{RESERVATIONS}/{order['id']}/{action}"

    response = await post(client, path, reader, body_for(event, [(product, 1)]))

    assert_scope_denied(response, "orders:write")
    assert await Order.all().count() == 1
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING
    assert await sold(product) == 2


async def test_rs09_reserving_another_organisations_event_is_404(
    client: httpx.AsyncClient,
) -> None:
    """RS-09: another organisation's event answers exactly as an unknown one, holding nothing."""
    org_a = await organisation("Acme Tickets")
    partner_b = await caller(client, await organisation("Rival Events"))
    event_a = await make_event(org_a)
    product_a = await make_product(event_a, capacity=5)

    foreign = await post(client, RESERVATIONS, partner_b, body_for(event_a, [(product_a, 1)]))
    unknown = await post(
        client,
        RESERVATIONS,
        partner_b,
        body_for(event_a, [(product_a, 1)], event_id=UNKNOWN_ID),
    )

    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["error"] == "not_found"
    assert foreign.json() == unknown.json()
    assert await sold(product_a) == 0
    assert await Order.all().count() == 0


async def test_rs09_another_organisations_product_is_not_part_of_your_event(
    client: httpx.AsyncClient,
) -> None:
    org_a, org_b = await organisation("Acme Tickets"), await organisation("Rival Events")
    partner_b = await caller(client, org_b)
    product_a = await make_product(await make_event(org_a), capacity=5)
    event_b = await make_event(org_b)

    response = await post(client, RESERVATIONS, partner_b, body_for(event_b, [(product_a, 1)]))

    assert_error(response, 400, "invalid_request", "lines[0].product_id")
    assert await sold(product_a) == 0
    assert await Order.all().count() == 0


async def test_a_product_of_another_event_is_refused(client: httpx.AsyncClient) -> None:
    partner, event, _ = await setup(client)
    other = await make_product(await make_event(partner.organisation, name="Other night"))

    response = await post(client, RESERVATIONS, partner, body_for(event, [(other, 1)]))

    assert_error(response, 400, "invalid_request", "lines[0].product_id")
    assert await sold(other) == 0


@pytest.mark.parametrize("action", ["complete", "cancel"])
async def test_rs09_completing_or_cancelling_another_organisations_order_is_404(
    client: httpx.AsyncClient, action: str
) -> None:
    org_a = await organisation("Acme Tickets")
    partner_a = await caller(client, org_a)
    partner_b = await caller(client, await organisation("Rival Events"))
    event_a = await make_event(org_a)
    product_a = await make_product(event_a)
    order = (
        await post(client, RESERVATIONS, partner_a, body_for(event_a, [(product_a, 2)]))
    ).json()

    foreign = await post(client, f"{RESERVATIONS}/{order['id']}/{action}", partner_b)
    unknown = await post(client, f"{RESERVATIONS}/{UNKNOWN_ID}/{action}", partner_b)

    assert assert_error(foreign, 404, "not_found") == assert_error(unknown, 404, "not_found")
    after = await client.get(f"/partner/v1/orders/{order['id']}", headers=partner_a.headers)
    assert after.json() == order
    assert await sold(product_a) == 2
    assert await Barcode.all().count() == 0


# -- Idempotency-Key ---------------------------------------------------------------------------


async def test_same_key_and_body_replays_the_first_answer(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=10)
    body = body_for(event, [(product, 2)])

    first = await post(client, RESERVATIONS, partner, body, key="order-2030-0001")
    replay = await post(client, RESERVATIONS, partner, body, key="order-2030-0001")

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert replay.status_code == 201, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["content-type"].startswith("application/json")
    assert replay.headers["cache-control"] == "no-store"
    assert replay.json() == first.json()
    assert replay.content == first.content
    assert await Order.all().count() == 1
    assert await sold(product) == 2


async def test_same_key_with_another_body_is_409_conflict(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=10)

    first = await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]), key="k-1")
    other = await post(client, RESERVATIONS, partner, body_for(event, [(product, 3)]), key="k-1")

    assert first.status_code == 201, first.text
    assert_error(other, 409, "conflict")
    assert await Order.all().count() == 1
    assert await sold(product) == 2


async def test_idempotency_keys_belong_to_one_credential(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=10)
    colleague = await caller(client, partner.organisation, name="Web shop")
    body = body_for(event, [(product, 1)])

    mine = await post(client, RESERVATIONS, partner, body, key="shared-key")
    theirs = await post(client, RESERVATIONS, colleague, body, key="shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert await Order.all().count() == 2
    assert await sold(product) == 2


INVALID_KEYS = {
    "empty": b"",
    "256 characters": b"k" * 256,
    "tab": b"tab\there",
    "DEL": b"del\x7f",
    "non-ASCII": b"caf\xc3\xa9",
}


async def test_invalid_idempotency_key_is_400(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)

    for name, key in INVALID_KEYS.items():
        response = await client.post(
            RESERVATIONS,
            json=body_for(event, [(product, 1)]),
            headers=[
                (b"authorization", partner.headers["Authorization"].encode()),
                (b"idempotency-key", key),
            ],
        )

        assert_error(response, 400, "invalid_request", "Idempotency-Key", label=name)
    assert await Order.all().count() == 0


async def test_a_255_character_key_is_accepted(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client)
    key = "~" + "k" * 253 + "!"

    first = await post(client, RESERVATIONS, partner, body_for(event, [(product, 1)]), key=key)
    replay = await post(client, RESERVATIONS, partner, body_for(event, [(product, 1)]), key=key)

    assert first.status_code == 201, first.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert await Order.all().count() == 1


@pytest.mark.parametrize("action", ["complete", "cancel"])
async def test_complete_and_cancel_replay_with_a_key(
    client: httpx.AsyncClient, action: str
) -> None:
    partner, event, product = await setup(client)
    order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]))).json()
    path = f"{RESERVATIONS}/{order['id']}/{action}"

    first = await post(client, path, partner, key=f"{action}-1")
    replay = await post(client, path, partner, key=f"{action}-1")

    assert first.status_code == 200, first.text
    assert replay.status_code == 200, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    expected_barcodes = 2 if action == "complete" else 0
    assert await Barcode.filter(order_id=order["id"]).count() == expected_barcodes


async def test_a_key_used_to_complete_cannot_cancel(client: httpx.AsyncClient) -> None:
    """The key remembers the request it answered: the same key on another path is a conflict."""
    partner, event, product = await setup(client)
    order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]))).json()

    completed = await post(client, f"{RESERVATIONS}/{order['id']}/complete", partner, key="step")
    cancelled = await post(client, f"{RESERVATIONS}/{order['id']}/cancel", partner, key="step")

    assert completed.status_code == 200, completed.text
    assert_error(cancelled, 409, "conflict")
    assert (await Order.get(id=order["id"])).status is OrderStatus.COMPLETED


async def test_a_refused_reservation_does_not_use_up_its_key(client: httpx.AsyncClient) -> None:
    """A 400 is not stored: the partner fixes the body and retries with the same key."""
    partner, event, product = await setup(client)

    bad = await post(client, RESERVATIONS, partner, body_for(event, [(product, 0)]), key="retry-me")
    good = await post(
        client, RESERVATIONS, partner, body_for(event, [(product, 1)]), key="retry-me"
    )

    assert_error(bad, 400, "invalid_request", "lines[0].quantity")
    assert good.status_code == 201, good.text
    assert await IdempotentResponse.all().count() == 1


# -- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres_only
@POSTGRES_ONLY
async def test_concurrent_reservations_never_oversell(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=5)
    bodies = [
        body_for(event, [(product, 1)], external_reference=f"race-{index}") for index in range(10)
    ]

    responses = await asyncio.gather(
        *(post(client, RESERVATIONS, partner, body) for body in bodies)
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 5, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "sold_out", "lines[0].quantity")
    assert await sold(product) == 5
    assert await Order.filter(status=OrderStatus.PENDING).count() == 5
    assert await Order.all().count() == 5
    assert await available(client, partner, event) == {"Regular": 0}


@pytest.mark.postgres_only
@POSTGRES_ONLY
async def test_concurrent_requests_with_one_key_make_one_order(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=50)
    body = body_for(event, [(product, 2)])

    responses = await asyncio.gather(
        *(post(client, RESERVATIONS, partner, body, key="same-key") for _ in range(5))
    )

    assert [response.status_code for response in responses] == [201] * 5, [
        response.text for response in responses
    ]
    assert all(response.json() == responses[0].json() for response in responses)
    assert len({response.content for response in responses}) == 1
    assert await Order.all().count() == 1
    assert await sold(product) == 2
    assert await IdempotentResponse.all().count() == 1


@pytest.mark.postgres_only
@POSTGRES_ONLY
async def test_concurrent_complete_and_cancel_have_one_winner(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=10)
    for _ in range(5):
        order = (await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]))).json()

        completed, cancelled = await asyncio.gather(
            post(client, f"{RESERVATIONS}/{order['id']}/complete", partner),
            post(client, f"{RESERVATIONS}/{order['id']}/cancel", partner),
        )

        assert sorted([completed.status_code, cancelled.status_code]) == [200, 409]
        loser = cancelled if completed.status_code == 200 else completed
        assert_error(loser, 409, "invalid_state")
        stored = await Order.get(id=order["id"])
        barcodes = await Barcode.filter(order_id=order["id"]).count()
        if completed.status_code == 200:
            assert stored.status is OrderStatus.COMPLETED
            assert completed.json()["status"] == "COMPLETED"
            assert barcodes == 2
        else:
            assert stored.status is OrderStatus.CANCELLED
            assert cancelled.json()["status"] == "CANCELLED"
            assert barcodes == 0
    completed_orders = await Order.filter(status=OrderStatus.COMPLETED).count()
    assert await sold(product) == 2 * completed_orders
    assert await Barcode.all().count() == 2 * completed_orders

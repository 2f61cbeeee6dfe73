"""Partner API reservations: which refusal a request meets, and what a used Idempotency-Key
answers, now that the stock is taken last and a key is looked up only when its change fails
(partner_api/ticketing/reservations.py, idempotency.py). Each answer and the stock afterwards
must be those of taking the lines one by one after looking the key up first."""

from __future__ import annotations

import httpx

from models.ticketing import IdempotentResponse, Order
from tests.test_partner_events import UNKNOWN_ID, assert_error, make_event, make_product
from tests.test_partner_reservations import RESERVATIONS, body_for, post, setup, sold


async def test_an_earlier_sold_out_line_is_named_before_a_later_foreign_product(
    client: httpx.AsyncClient,
) -> None:
    partner, event, scarce = await setup(client, capacity=1)
    elsewhere = await make_product(await make_event(partner.organisation), name="Other")

    response = await post(
        client, RESERVATIONS, partner, body_for(event, [(scarce, 2), (elsewhere, 1)])
    )

    assert_error(response, 409, "sold_out", "lines[0].quantity")
    assert await sold(scarce) == 0
    assert await Order.all().count() == 0


async def test_an_earlier_foreign_product_is_named_before_a_later_sold_out_line(
    client: httpx.AsyncClient,
) -> None:
    partner, event, scarce = await setup(client, capacity=1)
    elsewhere = await make_product(await make_event(partner.organisation), name="Other")

    response = await post(
        client, RESERVATIONS, partner, body_for(event, [(elsewhere, 1), (scarce, 2)])
    )

    assert_error(response, 400, "invalid_request", "lines[0].product_id")
    assert await Order.all().count() == 0


async def test_a_later_foreign_product_holds_nothing_of_the_earlier_lines(
    client: httpx.AsyncClient,
) -> None:
    partner, event, plenty = await setup(client, capacity=10)
    elsewhere = await make_product(await make_event(partner.organisation), name="Other")

    response = await post(
        client, RESERVATIONS, partner, body_for(event, [(plenty, 3), (elsewhere, 1)])
    )

    assert_error(response, 400, "invalid_request", "lines[1].product_id")
    assert await sold(plenty) == 0
    assert await Order.all().count() == 0


async def test_an_unknown_event_is_404_before_its_products_are_judged(
    client: httpx.AsyncClient,
) -> None:
    partner, event, product = await setup(client)

    response = await post(
        client, RESERVATIONS, partner, body_for(event, [(product, 1)], event_id=UNKNOWN_ID)
    )

    assert_error(response, 404, "not_found", "event_id")
    assert await sold(product) == 0


async def test_a_retry_after_the_last_tickets_sold_replays_the_reservation(
    client: httpx.AsyncClient,
) -> None:
    partner, event, product = await setup(client, capacity=3)
    body = body_for(event, [(product, 2)])

    first = await post(client, RESERVATIONS, partner, body, key="retry-1")
    rest = await post(client, RESERVATIONS, partner, body_for(event, [(product, 1)]))
    retry = await post(client, RESERVATIONS, partner, body, key="retry-1")

    assert first.status_code == rest.status_code == 201
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert await sold(product) == 3
    assert await Order.all().count() == 2


async def test_a_replay_takes_no_stock_and_makes_no_order(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=10)
    body = body_for(event, [(product, 4)])

    first = await post(client, RESERVATIONS, partner, body, key="replay-1")
    replays = [await post(client, RESERVATIONS, partner, body, key="replay-1") for _ in range(3)]

    assert first.status_code == 201, first.text
    assert all(replay.content == first.content for replay in replays)
    assert await sold(product) == 4
    assert await Order.all().count() == 1
    assert await IdempotentResponse.all().count() == 1


async def test_a_used_key_with_a_request_that_would_be_refused_is_409_conflict(
    client: httpx.AsyncClient,
) -> None:
    partner, event, product = await setup(client, capacity=2)

    first = await post(client, RESERVATIONS, partner, body_for(event, [(product, 2)]), key="k-9")
    sold_out = await post(client, RESERVATIONS, partner, body_for(event, [(product, 1)]), key="k-9")
    unknown_event = await post(
        client,
        RESERVATIONS,
        partner,
        body_for(event, [(product, 1)], event_id=UNKNOWN_ID),
        key="k-9",
    )

    assert first.status_code == 201, first.text
    assert_error(sold_out, 409, "conflict")
    assert_error(unknown_event, 409, "conflict")
    assert await sold(product) == 2
    assert await Order.all().count() == 1


async def test_a_refusal_under_a_new_key_is_the_refusal(client: httpx.AsyncClient) -> None:
    partner, event, product = await setup(client, capacity=1)

    response = await post(
        client, RESERVATIONS, partner, body_for(event, [(product, 2)]), key="new-key"
    )

    assert_error(response, 409, "sold_out", "lines[0].quantity")
    assert await IdempotentResponse.all().count() == 0

"""Request values at the edge of what Python's own parsers take (SECURITY-PLANNED.md GQ-12), in
process over ASGI, where no HTTP server in front refuses them first: integers of thousands of
digits, which int() refuses, and JSON nested deeper than json.dumps can encode, which orjson
accepts. Each is a 4xx naming the input, never a 500. tests/test_hostile_cost_http.py sends the
costly requests to a live server. The log scrubber, which every log line passes on the event
loop, is held to the same linear bound."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from models.ticketing import Order
from partner_api.web.observability.scrubbing import scrub
from tests.test_partner_events import assert_error, caller, make_event, make_product, organisation

# Past the 4,300 digits int() converts (sys.get_int_max_str_digits()).
THOUSANDS_OF_DIGITS = "9" * 5000
# orjson's nesting limit: 1024 levels parse, 1025 do not.
ORJSON_DEPTH = 1024


async def test_gq12_a_content_length_of_thousands_of_digits_is_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": THOUSANDS_OF_DIGITS,
        },
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


async def test_gq12_a_graphql_content_length_of_thousands_of_digits_is_413(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"Content-Type": "application/json", "Content-Length": THOUSANDS_OF_DIGITS},
    )

    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("length", [THOUSANDS_OF_DIGITS, "12abc", "-1"])
async def test_gq12_a_reservation_content_length_that_is_not_a_length_is_invalid_request(
    client: httpx.AsyncClient, length: str
) -> None:
    """Read by the same framing check as the token and GraphQL endpoints: refused before the body
    is read, naming the header, and no order is made from a body of unknown framing."""
    partner = await caller(client, await organisation())
    event = await make_event(partner.organisation)
    product = await make_product(event, capacity=10)
    body = {
        "event_id": str(event.id),
        "lines": [{"product_id": str(product.id), "quantity": 1}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
    }

    response = await client.post(
        "/partner/v1/reservations",
        content=json.dumps(body).encode(),
        headers={**partner.headers, "Content-Type": "application/json", "Content-Length": length},
    )

    assert_error(response, 400, "invalid_request", "Content-Length")
    assert await Order.all().count() == 0


async def test_gq12_a_page_limit_of_thousands_of_digits_is_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    partner = await caller(client, await organisation())

    response = await client.get(
        "/partner/v1/events", params={"limit": THOUSANDS_OF_DIGITS}, headers=partner.headers
    )

    assert_error(response, 400, "invalid_request", "limit")


async def test_gq12_a_reservation_nested_to_orjson_depth_with_an_idempotency_key_is_400(
    client: httpx.AsyncClient,
) -> None:
    """The body is checked before its Idempotency-Key fingerprint is computed: json.dumps, which
    computes it, cannot encode what orjson parses at its depth limit (RecursionError, a 500)."""
    partner = await caller(client, await organisation())
    event = await make_event(partner.organisation)
    product = await make_product(event, capacity=10)
    valid = {
        "event_id": str(event.id),
        "lines": [{"product_id": str(product.id), "quantity": 2}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "external_reference": "@",
    }
    nested = b"[" * (ORJSON_DEPTH - 1) + b"]" * (ORJSON_DEPTH - 1)
    body = json.dumps(valid).encode().replace(b'"@"', nested)

    response = await client.post(
        "/partner/v1/reservations",
        content=body,
        headers={
            **partner.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": "nested-1",
        },
    )

    assert_error(response, 400, "invalid_request", "external_reference")
    assert await Order.all().count() == 0
    await product.refresh_from_db()
    assert product.sold == 0


@pytest.mark.parametrize(
    "line",
    [
        "a-" * 32_000,
        "a." * 32_000,
        "eyJ-" * 16_000,
        "a://" * 16_000,
    ],
    ids=["dash-runs", "dot-runs", "jwt-prefix-runs", "scheme-runs"],
)
async def test_gq12_the_log_scrubber_is_linear_on_pathological_lines(line: str) -> None:
    """Every log line passes the scrubber on the event loop; a 64 KB line built to make its
    patterns rescan (11 s with word-boundary starts) is scrubbed in milliseconds."""
    started = time.perf_counter()
    assert scrub(line + " ") == line + " "
    assert time.perf_counter() - started < 0.5

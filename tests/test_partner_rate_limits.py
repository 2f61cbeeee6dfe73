"""Per-credential rate limits at the Partner API, on both counter backends: in process (the
default) and Redis (`REDIS_URL`, database 15 of the local server, flushed around each test).

The limit is set to 3 a minute, so nothing here waits for a window to end. Every authenticated
answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; the call over the
limit is a 429 `rate_limited` with `Retry-After`, in the Partner API's one error body shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.signing_keys import rotate_signing_key
from models.organisation import Organisation
from models.ticketing import Event, Order, Product
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import IssuedSecret
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import REDIS_URL, make_admin, make_credential

ME = "/partner/v1/me"
LIMIT = 3
WINDOW_SECONDS = 60

AppFactory = Callable[..., Starlette]


async def _flushed_redis() -> Redis:
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    return redis


@asynccontextmanager
async def app_factory(settings: Settings, redis_url: str | None) -> AsyncIterator[AppFactory]:
    """Apps on `redis_url`'s backend (None: in process) with a limit of 3 calls a minute."""
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    apps: list[Starlette] = []

    def make() -> Starlette:
        limited = replace(settings, redis_url=redis_url, partner_rate_limit_per_minute=LIMIT)
        app = create_app(limited, manage_database=False)
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            redis = app.state.services.redis
            if redis is not None:
                await redis.aclose()


@pytest.fixture
async def make_app(
    db: TortoiseContext, settings: Settings, redis_url: str | None
) -> AsyncIterator[AppFactory]:
    async with app_factory(settings, redis_url) as factory:
        yield factory


@pytest.fixture
async def client(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(make_app()) as client:
        yield client


def client_of(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def organisation(db: TortoiseContext) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def issued(organisation: Organisation) -> IssuedSecret:
    return await make_credential(organisation=organisation)


async def bearer(client: httpx.AsyncClient, issued: IssuedSecret) -> dict[str, str]:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def limits(response: httpx.Response) -> tuple[int, int, int]:
    """(limit, remaining, reset seconds), checking each header is present and sensible."""
    values = tuple(
        response.headers.get(name, "")
        for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
    )
    assert all(value.isdigit() for value in values), (response.status_code, values)
    limit, remaining, reset = (int(value) for value in values)
    assert 0 < reset <= WINDOW_SECONDS, reset
    return limit, remaining, reset


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit(), retry_after
    assert 0 < int(retry_after) <= WINDOW_SECONDS
    assert limits(response)[:2] == (LIMIT, 0)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == "rate_limited"
    assert isinstance(body["error_description"], str)
    assert body["error_description"]


async def test_ratelimit_headers_count_down_on_every_authenticated_answer(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    headers = await bearer(client, issued)
    seen = []
    for _ in range(LIMIT):
        response = await client.get(ME, headers=headers)
        assert response.status_code == 200, response.text
        limit, remaining, _ = limits(response)
        assert limit == LIMIT
        seen.append(remaining)
    assert seen == [2, 1, 0]


async def test_call_over_the_limit_is_429_rate_limited_with_retry_after(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    headers = await bearer(client, issued)
    for _ in range(LIMIT):
        assert (await client.get(ME, headers=headers)).status_code == 200
    over = await client.get(ME, headers=headers)
    assert_rate_limited(over)
    # Same shape as every other Partner API error (here: a 404).
    missing = await client.get(f"/partner/v1/events/{uuid4()}", headers=headers)
    assert_rate_limited(missing)
    # A new token does not reset the limit: it is per credential, not per token.
    assert_rate_limited(await client.get(ME, headers=await bearer(client, issued)))


async def test_a_refused_call_does_no_work(
    client: httpx.AsyncClient, issued: IssuedSecret, organisation: Organisation
) -> None:
    event = await Event.create(
        organisation=organisation,
        name="Summer Night",
        venue="Harbour Stage",
        starts_at=utcnow() + timedelta(days=30),
        ends_at=utcnow() + timedelta(days=30, hours=4),
    )
    product = await Product.create(
        organisation=organisation,
        event=event,
        name="Regular",
        price=4500,
        currency="EUR",
        capacity=10,
    )
    headers = await bearer(client, issued)
    for _ in range(LIMIT):
        assert (await client.get(ME, headers=headers)).status_code == 200
    reserved = await client.post(
        "/partner/v1/reservations",
        headers=headers,
        json={
            "event_id": str(event.id),
            "lines": [{"product_id": str(product.id), "quantity": 2}],
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )
    assert_rate_limited(reserved)
    assert await Order.all().count() == 0
    await product.refresh_from_db()
    assert product.sold == 0


async def test_another_credential_is_unaffected(
    client: httpx.AsyncClient, issued: IssuedSecret, organisation: Organisation
) -> None:
    other = await make_credential(organisation=organisation, name="Other partner")
    headers = await bearer(client, issued)
    for _ in range(LIMIT):
        assert (await client.get(ME, headers=headers)).status_code == 200
    assert_rate_limited(await client.get(ME, headers=headers))
    response = await client.get(ME, headers=await bearer(client, other))
    assert response.status_code == 200, response.text
    assert limits(response)[:2] == (LIMIT, LIMIT - 1)


async def test_error_answers_carry_the_ratelimit_headers_and_count(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    headers = await bearer(client, issued)
    missing = await client.get(f"/partner/v1/events/{uuid4()}", headers=headers)
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"] == "not_found"
    assert limits(missing)[:2] == (LIMIT, 2)
    invalid = await client.get("/partner/v1/events", params={"limit": "0"}, headers=headers)
    assert invalid.status_code == 400, invalid.text
    assert invalid.json()["field"] == "limit"
    assert limits(invalid)[:2] == (LIMIT, 1)
    assert set(missing.json()) == {"error", "error_description"}
    assert set(invalid.json()) == {"error", "error_description", "field"}


async def test_redis_limit_is_shared_by_every_process(
    db: TortoiseContext, settings: Settings, issued: IssuedSecret
) -> None:
    """With Redis, two app instances (two processes) count against one limit per credential."""
    redis = await _flushed_redis()
    try:
        async with (
            app_factory(settings, REDIS_URL) as make,
            client_of(make()) as first,
            client_of(make()) as second,
        ):
            headers = await bearer(first, issued)
            assert limits(await first.get(ME, headers=headers))[1] == 2
            assert limits(await second.get(ME, headers=headers))[1] == 1
            assert limits(await first.get(ME, headers=headers))[1] == 0
            assert_rate_limited(await second.get(ME, headers=headers))
    finally:
        await redis.flushdb()
        await redis.aclose()

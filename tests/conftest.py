from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.admins import passwords
from auth.partners import change_feed
from auth.partners.signing_keys import rotate_signing_key
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.database import drop_shared_database, fresh_database
from tests.helpers import REDIS_URL, TEST_KEY_ENCRYPTION_KEY, TEST_PEPPER

CLIENT_ADDRESS = "203.0.113.10"


def pytest_configure(config: pytest.Config) -> None:
    # Cheap argon2id parameters, so the suite is not dominated by password hashing; the hashes
    # record their parameters, so the production code path is the one under test.
    passwords.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_shared_database()


@pytest.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    # Feed row ids of an earlier test's database mean nothing in this one (SQLite numbers them
    # from 1 again), so no feed may wait for them.
    change_feed._own_rows.clear()
    async with fresh_database() as context:
        yield context


@pytest.fixture
def settings() -> Settings:
    # Token reuse off: most tests expect each token request to sign a new token;
    # tests/test_token_reuse.py covers the default reuse window.
    return Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        token_reuse_seconds=0,
    )


@pytest.fixture
async def app(settings: Settings, db: TortoiseContext) -> Starlette:
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    return create_app(settings, manage_database=False)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(params=["in-memory", "redis"])
async def redis_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """The counter backend: None (in process) or the Redis test database, empty before and after."""
    if request.param == "in-memory":
        yield None
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
        yield REDIS_URL
    finally:
        await redis.flushdb()
        await redis.aclose()


AppFactory = Callable[..., Starlette]


@pytest.fixture
async def make_app(
    db: TortoiseContext, settings: Settings, redis_url: str | None
) -> AsyncIterator[AppFactory]:
    """Apps on the `redis_url` counter backend with the given setting overrides, sharing one
    database and signing key; several may share Redis."""
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    apps: list[Starlette] = []

    def make(**overrides: Any) -> Starlette:
        app = create_app(replace(settings, redis_url=redis_url, **overrides), manage_database=False)
        apps.append(app)
        return app

    yield make
    for app in apps:
        redis = app.state.services.redis
        if redis is not None:
            await redis.aclose()

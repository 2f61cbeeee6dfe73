"""An assertion's `jti` is spent in Redis when Redis is configured (PK-01), and a replay store
that cannot answer refuses the assertion rather than let a replay through."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.assertion_replay import replay_key
from auth.partners.signing_keys import rotate_signing_key
from models.oauth import UsedAssertion
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS, AppFactory
from tests.helpers import REDIS_URL, make_admin
from tests.key_clients import assertion, assertion_form, key_pair, make_key_credential
from tests.test_private_key_jwt import assert_uniform_invalid_client

TOKEN = "/oauth/token"
# Nothing listens on port 1: every command fails at once with a connection error.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


def _client(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _organisation() -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.mark.parametrize("redis_url", ["redis"], indirect=True)
async def test_pk01_a_replay_is_refused_and_the_jti_is_spent_in_redis(
    make_app: AppFactory,
) -> None:
    pair = key_pair("ES256")
    credential = await make_key_credential(organisation=await _organisation(), keys=(pair,))
    token = assertion(pair, credential.client_id, jti="spent-in-redis", lifetime=120)
    async with _client(make_app()) as client:
        assert (await client.post(TOKEN, data=assertion_form(token))).status_code == 200
        assert_uniform_invalid_client(await client.post(TOKEN, data=assertion_form(token)))
    assert await UsedAssertion.all().count() == 0  # Redis, not the database
    redis = Redis.from_url(REDIS_URL)
    try:
        key = "partner-api:assertion:" + replay_key(credential.client_id, "spent-in-redis")
        assert await redis.get(key) == b"1"
        # Kept until the assertion's exp plus the leeway, then Redis forgets it by itself.
        ttl = await redis.pttl(key)
        assert 100_000 < ttl <= (120 + 30) * 1000 + 1000
    finally:
        await redis.aclose()


async def test_pk01_an_unreachable_redis_refuses_the_assertion(
    db: TortoiseContext, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Failing open would let a replay through while Redis is down; the client gets the same
    invalid_client as any other failure (PK-03), the reason is in the log."""
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    app = create_app(replace(settings, redis_url=UNREACHABLE_REDIS_URL), manage_database=False)
    pair = key_pair("ES256")
    credential = await make_key_credential(organisation=await _organisation(), keys=(pair,))
    started = time.monotonic()
    try:
        with caplog.at_level(logging.INFO, logger="partner_api.oauth"):
            async with _client(app) as client:
                response = await client.post(
                    TOKEN, data=assertion_form(assertion(pair, credential.client_id))
                )
    finally:
        await app.state.services.redis.aclose()
    assert_uniform_invalid_client(response)
    assert time.monotonic() - started < 5
    assert "assertion replay check failed" in caplog.text
    assert await UsedAssertion.all().count() == 0

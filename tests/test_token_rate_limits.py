"""Throttling at `POST /oauth/token` (SECURITY.md TE-20), on both counter backends: in process
(the default) and Redis (`REDIS_URL`, database 15 of the local server, flushed around each test).

The limits are set small through Settings; the failure window is minutes long, so nothing here
waits for a window to end.
"""

from __future__ import annotations

import re

import httpx
import pytest
from tortoise.context import TortoiseContext

from auth.tokens import new_client_id, new_client_secret
from models.organisation import Organisation
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import IssuedSecret
from tests.conftest import CLIENT_ADDRESS, AppFactory
from tests.helpers import client_at, make_admin, make_credential, wrong_secret_for

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}
PARTNER_ADDRESS = CLIENT_ADDRESS
ATTACKER_ADDRESS = "192.0.2.66"
# RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only.
ERROR_CHARSET = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")


@pytest.fixture
async def organisation(db: TortoiseContext) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def issued(organisation: Organisation) -> IssuedSecret:
    return await make_credential(organisation=organisation)


def basic(issued: IssuedSecret) -> tuple[str, str]:
    return issued.credential.client_id, issued.secret_value


def wrong(issued: IssuedSecret) -> tuple[str, str]:
    return issued.credential.client_id, wrong_secret_for(issued.secret_value)


def assert_throttled(response: httpx.Response, *, at_most: int) -> None:
    """429 with a usable Retry-After and an RFC 6749 §5.2 style, uncacheable body."""
    assert response.status_code == 429, response.text
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit(), retry_after
    assert 0 < int(retry_after) <= at_most
    assert response.headers.get("cache-control") == "no-store"
    assert response.headers.get("pragma") == "no-cache"
    body = response.json()
    assert set(body) <= {"error", "error_description"}, body
    assert {"error"} <= set(body)
    for value in body.values():
        assert ERROR_CHARSET.fullmatch(value), value
    assert "access_token" not in body


async def test_te20_below_the_failure_limit_the_right_secret_still_works(
    make_app: AppFactory, issued: IssuedSecret
) -> None:
    app = make_app(token_max_failures_per_client_address=3)
    async with client_at(app, ATTACKER_ADDRESS) as client:
        for _ in range(2):
            assert (await client.post(TOKEN, data=GRANT, auth=wrong(issued))).status_code == 401
        response = await client.post(TOKEN, data=GRANT, auth=basic(issued))
    assert response.status_code == 200, response.text


async def test_te20_failures_for_a_client_id_from_one_address_block_that_pair(
    make_app: AppFactory, settings: Settings, issued: IssuedSecret
) -> None:
    """After the limit, even the right secret is answered 429 from that address."""
    app = make_app(token_max_failures_per_client_address=3)
    async with client_at(app, ATTACKER_ADDRESS) as attacker:
        for _ in range(3):
            assert (await attacker.post(TOKEN, data=GRANT, auth=wrong(issued))).status_code == 401
        blocked = await attacker.post(TOKEN, data=GRANT, auth=basic(issued))
        again = await attacker.post(TOKEN, data=GRANT, auth=wrong(issued))
    assert_throttled(blocked, at_most=settings.token_failure_window_seconds)
    assert_throttled(again, at_most=settings.token_failure_window_seconds)


async def test_te20_attacker_cannot_lock_out_the_partner_from_its_own_address(
    make_app: AppFactory, settings: Settings, issued: IssuedSecret
) -> None:
    app = make_app(token_max_failures_per_client_address=3)
    async with client_at(app, ATTACKER_ADDRESS) as attacker:
        for _ in range(5):
            await attacker.post(TOKEN, data=GRANT, auth=wrong(issued))
        assert_throttled(
            await attacker.post(TOKEN, data=GRANT, auth=basic(issued)),
            at_most=settings.token_failure_window_seconds,
        )
    async with client_at(app, PARTNER_ADDRESS) as partner:
        for _ in range(3):
            response = await partner.post(TOKEN, data=GRANT, auth=basic(issued))
            assert response.status_code == 200, response.text


async def test_te20_failures_for_one_client_id_do_not_block_another_from_that_address(
    make_app: AppFactory, organisation: Organisation, issued: IssuedSecret
) -> None:
    """The per-client limit counts the (client ID, address) pair, not the address alone."""
    second = await make_credential(organisation=organisation, name="Second integration")
    app = make_app(token_max_failures_per_client_address=3)
    async with client_at(app, ATTACKER_ADDRESS) as client:
        for _ in range(3):
            await client.post(TOKEN, data=GRANT, auth=wrong(issued))
        assert (await client.post(TOKEN, data=GRANT, auth=basic(issued))).status_code == 429
        response = await client.post(TOKEN, data=GRANT, auth=basic(second))
    assert response.status_code == 200, response.text


async def test_te20_an_address_spraying_client_ids_is_blocked(
    make_app: AppFactory, settings: Settings, issued: IssuedSecret
) -> None:
    app = make_app(token_max_failures_per_client_address=100, token_max_failures_per_address=5)
    async with client_at(app, ATTACKER_ADDRESS) as attacker:
        for _ in range(5):
            sprayed = (new_client_id(), new_client_secret().value)
            assert (await attacker.post(TOKEN, data=GRANT, auth=sprayed)).status_code == 401
        # Even a client ID it never tried, with its right secret, is refused from there now.
        assert_throttled(
            await attacker.post(TOKEN, data=GRANT, auth=basic(issued)),
            at_most=settings.token_failure_window_seconds,
        )
    async with client_at(app, PARTNER_ADDRESS) as partner:
        response = await partner.post(TOKEN, data=GRANT, auth=basic(issued))
    assert response.status_code == 200, response.text


async def test_te20_issuance_quota_per_credential(
    make_app: AppFactory, organisation: Organisation, issued: IssuedSecret
) -> None:
    second = await make_credential(organisation=organisation, name="Second integration")
    app = make_app(token_quota_per_minute=3)
    async with client_at(app, PARTNER_ADDRESS) as partner:
        for _ in range(3):
            response = await partner.post(TOKEN, data=GRANT, auth=basic(issued))
            assert response.status_code == 200, response.text
        assert_throttled(await partner.post(TOKEN, data=GRANT, auth=basic(issued)), at_most=60)
        # Another credential has its own quota.
        assert (await partner.post(TOKEN, data=GRANT, auth=basic(second))).status_code == 200
    # The quota belongs to the credential, wherever it asks from.
    async with client_at(app, "198.51.100.30") as elsewhere:
        assert_throttled(await elsewhere.post(TOKEN, data=GRANT, auth=basic(issued)), at_most=60)


@pytest.mark.parametrize("redis_url", ["redis"], indirect=True)
async def test_te20_redis_counters_are_shared_by_every_process(
    make_app: AppFactory, settings: Settings, issued: IssuedSecret
) -> None:
    """Failures seen by one process count at another, so more processes do not mean more guesses."""
    first = make_app(token_max_failures_per_client_address=3)
    second = make_app(token_max_failures_per_client_address=3)
    async with client_at(first, ATTACKER_ADDRESS) as attacker:
        for _ in range(3):
            assert (await attacker.post(TOKEN, data=GRANT, auth=wrong(issued))).status_code == 401
    async with client_at(second, ATTACKER_ADDRESS) as attacker:
        response = await attacker.post(TOKEN, data=GRANT, auth=basic(issued))
    assert_throttled(response, at_most=settings.token_failure_window_seconds)

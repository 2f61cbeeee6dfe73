"""Limits per credential at run time (issue 16), on both counter backends: the credential's own
rate limit and token quota, else its organisation's default, else the service setting, capped by
the service maximum; MONITOR mode never refusing; and a change reaching another process within
the change feed's bound of 1 second."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from auth.partners import change_feed
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.change_feed import ChangeFeed
from auth.partners.credential_limits import organisation_limits_changed
from models.credential import Credential
from models.enums import LimitMode
from models.oauth import ChangeKind
from models.organisation import Organisation
from models.usage import UsageCount
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import IssuedSecret
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS, AppFactory
from tests.helpers import make_admin, make_credential, publish_as_another_process

ME = "/partner/v1/me"


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


async def set_limits(issued: IssuedSecret, **values: Any) -> None:
    await Credential.filter(id=issued.credential.id).update(**values)


async def token_response(client: httpx.AsyncClient, issued: IssuedSecret) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )


async def bearer(client: httpx.AsyncClient, issued: IssuedSecret) -> dict[str, str]:
    response = await token_response(client, issued)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def limit_headers(response: httpx.Response) -> tuple[int, int]:
    return int(response.headers["ratelimit-limit"]), int(response.headers["ratelimit-remaining"])


async def statuses(client: httpx.AsyncClient, headers: dict[str, str], calls: int) -> list[int]:
    return [(await client.get(ME, headers=headers)).status_code for _ in range(calls)]


async def test_a_credential_rate_limit_overrides_the_service_setting(
    make_app: AppFactory, organisation: Organisation, issued: IssuedSecret
) -> None:
    await set_limits(issued, rate_limit_per_minute=2)
    other = await make_credential(organisation=organisation, name="Unlimited")
    async with client_of(make_app(partner_rate_limit_per_minute=1200)) as client:
        headers = await bearer(client, issued)
        first = await client.get(ME, headers=headers)
        assert limit_headers(first) == (2, 1)
        assert await statuses(client, headers, 2) == [200, 429]
        response = await client.get(ME, headers=await bearer(client, other))
        assert limit_headers(response) == (1200, 1199)


async def test_the_organisation_default_applies_unless_the_credential_sets_its_own(
    make_app: AppFactory, organisation: Organisation, issued: IssuedSecret
) -> None:
    await Organisation.filter(id=organisation.id).update(default_rate_limit_per_minute=3)
    own = await make_credential(organisation=organisation, name="Own limit")
    await set_limits(own, rate_limit_per_minute=5)
    async with client_of(make_app()) as client:
        response = await client.get(ME, headers=await bearer(client, issued))
        assert limit_headers(response) == (3, 2)
        response = await client.get(ME, headers=await bearer(client, own))
        assert limit_headers(response) == (5, 4)


async def test_limits_are_capped_by_the_service_maximum(
    make_app: AppFactory, settings: Settings, issued: IssuedSecret
) -> None:
    await set_limits(issued, rate_limit_per_minute=50, token_quota_per_minute=50)
    capped = replace(settings.usage, max_rate_limit_per_minute=4, max_token_quota_per_minute=2)
    async with client_of(make_app(usage=capped)) as client:
        headers = await bearer(client, issued)
        assert limit_headers(await client.get(ME, headers=headers)) == (4, 3)
        assert (await token_response(client, issued)).status_code == 200
        refused = await token_response(client, issued)
        assert refused.status_code == 429
        assert refused.json()["error"] == "temporarily_unavailable"


async def test_a_credential_token_quota_overrides_the_service_setting(
    make_app: AppFactory, organisation: Organisation, issued: IssuedSecret
) -> None:
    await set_limits(issued, token_quota_per_minute=2)
    await Organisation.filter(id=organisation.id).update(default_token_quota_per_minute=1)
    by_default = await make_credential(organisation=organisation, name="Organisation default")
    async with client_of(make_app(token_quota_per_minute=600)) as client:
        answers = [(await token_response(client, issued)).status_code for _ in range(3)]
        assert answers == [200, 200, 429]
        answers = [(await token_response(client, by_default)).status_code for _ in range(2)]
        assert answers == [200, 429]


async def _usage(credential_id: object) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for row in await UsageCount.filter(credential_id=credential_id, granularity="d"):
        key = (row.metric, row.operation)
        found[key] = found.get(key, 0) + row.count
    return found


async def test_monitor_mode_never_refuses_but_reports_and_counts(
    make_app: AppFactory, issued: IssuedSecret
) -> None:
    await set_limits(
        issued, rate_limit_per_minute=2, token_quota_per_minute=1, limit_mode=LimitMode.MONITOR
    )
    app = make_app()
    async with client_of(app) as client:
        tokens = [await token_response(client, issued) for _ in range(3)]
        assert [response.status_code for response in tokens] == [200, 200, 200]
        headers = {"Authorization": f"Bearer {tokens[0].json()['access_token']}"}
        answers = [await client.get(ME, headers=headers) for _ in range(5)]
    assert [response.status_code for response in answers] == [200] * 5
    assert [limit_headers(response) for response in answers] == [
        (2, 1),
        (2, 0),
        (2, 0),
        (2, 0),
        (2, 0),
    ]
    assert all("retry-after" not in response.headers for response in answers)
    assert await app.state.services.authorization_server.counts.flush()
    assert await _usage(issued.credential.id) == {
        ("token_issued", ""): 3,
        ("would_limit", "POST /oauth/token"): 2,
        ("call", "GET /partner/v1/me"): 5,
        ("would_limit", "GET /partner/v1/me"): 3,
    }


async def test_enforce_mode_counts_the_refusals(make_app: AppFactory, issued: IssuedSecret) -> None:
    await set_limits(issued, rate_limit_per_minute=1, token_quota_per_minute=1)
    app = make_app()
    async with client_of(app) as client:
        headers = await bearer(client, issued)
        assert (await token_response(client, issued)).status_code == 429
        assert await statuses(client, headers, 2) == [200, 429]
    assert await app.state.services.authorization_server.counts.flush()
    assert await _usage(issued.credential.id) == {
        ("token_issued", ""): 1,
        ("token_refused", ""): 1,
        ("rate_limited", "POST /oauth/token"): 1,
        ("call", "GET /partner/v1/me"): 2,
        ("rate_limited", "GET /partner/v1/me"): 1,
    }


# -- in another process, within the change feed's bound of 1 second ----------------------------


class FeedClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def separate_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes are published as if by another process: no app here hears of them at once."""
    publish_as_another_process(monkeypatch)


@pytest.fixture
async def second(
    app: Starlette, settings: Settings, separate_processes: None
) -> AsyncIterator[tuple[httpx.AsyncClient, FeedClock]]:
    """Another process whose change feed polls (every 250 ms) when its clock says so."""
    other = create_app(replace(settings, change_feed_poll_milliseconds=250), manage_database=False)
    server: AuthorizationServer = other.state.services.authorization_server
    clock = FeedClock()
    server.feed = ChangeFeed(server, poll_interval_seconds=0.25, clock=clock)
    async with client_of(other) as client:
        yield client, clock


async def test_a_credential_limit_change_reaches_another_process_within_1s(
    issued: IssuedSecret, second: tuple[httpx.AsyncClient, FeedClock]
) -> None:
    client, clock = second
    headers = await bearer(client, issued)
    assert limit_headers(await client.get(ME, headers=headers))[0] == 1200
    async with in_transaction():  # what updateCredential does in the first process
        await set_limits(issued, rate_limit_per_minute=7, limit_mode=LimitMode.MONITOR)
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=issued.credential.id)
    assert limit_headers(await client.get(ME, headers=headers))[0] == 1200, "polled too early"
    clock.now += 1.0
    assert limit_headers(await client.get(ME, headers=headers))[0] == 7


async def test_an_organisation_default_change_reaches_another_process_within_1s(
    organisation: Organisation,
    issued: IssuedSecret,
    second: tuple[httpx.AsyncClient, FeedClock],
) -> None:
    client, clock = second
    headers = await bearer(client, issued)
    assert limit_headers(await client.get(ME, headers=headers))[0] == 1200
    for _ in range(2):
        assert (await token_response(client, issued)).status_code == 200
    async with in_transaction():  # what updateCredentialPolicy does in the first process
        await Organisation.filter(id=organisation.id).update(
            default_rate_limit_per_minute=9, default_token_quota_per_minute=2
        )
        await organisation_limits_changed(organisation.id)
    assert limit_headers(await client.get(ME, headers=headers))[0] == 1200, "polled too early"
    clock.now += 1.0
    assert limit_headers(await client.get(ME, headers=headers))[0] == 9
    # Three tokens this minute already, against a quota of two now.
    assert (await token_response(client, issued)).status_code == 429

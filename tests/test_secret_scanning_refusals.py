"""LK-01: `POST /secret-scanning/github` reads only reports signed by a key GitHub lists, within
its bounds, once. Every refused report here names a real secret of a credential, so "changes
nothing" is checked against a report that would have ended it.

The key list is fetched from a key server on 127.0.0.1 (tests/github_secret_scanning.py); the
tests about caching give the endpoint's key cache a clock they move.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from models.audit import AuditEvent
from models.credential import CredentialSecret
from models.notifications import LeakedSecretAction, LeakReport, NotificationEvent
from models.oauth import ChangeEvent
from models.organisation import Organisation
from partner_api.foundation.outbound import OutboundResult
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.settings import Settings
from partner_api.foundation.settings_notifications import LeakReportSettings
from partner_api.operations.credentials import IssuedSecret
from partner_api.operations.github_keys import KEYS_TTL_SECONDS, GitHubKeys
from partner_api.operations.leak_reports import MAX_BODY_BYTES, MAX_ENTRIES, MAX_TOKEN_LENGTH
from partner_api.web.secret_scanning import PATH, SecretScanningEndpoint
from tests.github_secret_scanning import (
    GitHub,
    SigningKey,
    match,
    report_body,
    send,
    serve_github,
)
from tests.helpers import make_credential
from tests.live_process import free_port
from tests.test_partner_events import access_token, assert_error, organisation


@pytest.fixture
async def github() -> AsyncIterator[GitHub]:
    async with serve_github() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, github: GitHub) -> Settings:
    return replace(settings, leak_reports=LeakReportSettings(github_keys_url=github.keys_url))


@pytest.fixture
async def issued(client: httpx.AsyncClient) -> IssuedSecret:
    """A credential whose secret every report below names, with NOTIFY_ONLY, so that even a
    report that only notified would show (an audit event)."""
    org = await organisation()
    await Organisation.filter(id=org.id).update(leaked_secret_action=LeakedSecretAction.NOTIFY_ONLY)
    return await make_credential(organisation=org)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keys_on_a_clock(app: Starlette, url: str, *, production: bool = False) -> Clock:
    """The endpoint's key cache, replaced by one that ages by a clock the test moves."""
    clock = Clock()
    for route in app.routes:
        if isinstance(route, Route) and route.path == PATH:
            assert isinstance(route.app, SecretScanningEndpoint)
            route.app.keys = GitHubKeys(url, OutboundPolicy(production=production), clock=clock)
            return clock
    raise AssertionError("no secret-scanning route")


async def state() -> dict[str, Any]:
    """What a report could change."""
    return {
        "audit": await AuditEvent.all().count(),
        "events": await NotificationEvent.all().count(),
        "reports": await LeakReport.all().count(),
        "changes": await ChangeEvent.all().count(),
        "ended": [row.ended_at for row in await CredentialSecret.all().order_by("id")],
    }


async def still_works(client: httpx.AsyncClient, issued: IssuedSecret) -> None:
    token = await access_token(client, issued)
    response = await client.get("/partner/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def unsigned(response: httpx.Response, label: str = "") -> None:
    assert_error(response, 401, "invalid_signature", label=label)


async def test_lk01_an_unsigned_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    body = report_body(match(issued.secret_value))
    signed = github.key.headers(body)
    before = await state()

    unsigned(await send(client, body, None), "no signature headers")
    unsigned(
        await send(client, body, None, Github_Public_Key_Identifier=github.key.identifier),
        "key id without a signature",
    )
    unsigned(
        await send(
            client, body, None, Github_Public_Key_Signature=signed["Github-Public-Key-Signature"]
        ),
        "signature without a key id",
    )
    unsigned(
        await send(client, body, github.key, Github_Public_Key_Signature=""), "empty signature"
    )
    # A second signature header, say a valid one beside a forged one: which counts is ambiguous.
    signature = signed["Github-Public-Key-Signature"]
    twice = [*signed.items(), ("Github-Public-Key-Signature", signature)]
    unsigned(await client.post(PATH, content=body, headers=twice), "two signatures")

    assert await state() == before
    await still_works(client, issued)


async def test_lk01_a_badly_signed_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    body = report_body(match(issued.secret_value))
    impostor = SigningKey.generate()
    other_body = report_body(match(issued.secret_value, url="https://github.com/o/r/blob/1/x"))
    before = await state()

    signatures = {
        "a signature of another body": github.key.sign(other_body),
        "another key's signature under the listed key id": impostor.sign(body),
        "not base64": "not base64 at all!",
        "base64, but not a DER signature": "AAAA" * 18,
        "far too long": github.key.sign(body) * 10,
    }
    for reason, signature in signatures.items():
        response = await send(client, body, github.key, Github_Public_Key_Signature=signature)
        unsigned(response, reason)
    # One byte more than was signed.
    response = await client.post(PATH, content=body + b" ", headers=github.key.headers(body))
    unsigned(response, "a body changed after signing")

    assert await state() == before
    await still_works(client, issued)


async def test_lk01_a_report_signed_by_a_key_github_does_not_list_is_refused(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    body = report_body(match(issued.secret_value))
    unlisted = SigningKey.generate()
    before = await state()

    unsigned(await send(client, body, unlisted))
    unsigned(await send(client, body, github.key, Github_Public_Key_Identifier="x" * 500))

    assert await state() == before
    await still_works(client, issued)


async def test_lk01_a_listed_key_that_is_not_current_still_verifies(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    """GitHub lists a key for as long as it may sign: a report signed just before a rotation is
    still GitHub's."""
    retiring = SigningKey.generate(current=False)
    github.listed.append(retiring)

    response = await send(client, report_body(match(issued.secret_value)), retiring)

    assert response.status_code == 200, response.text
    assert response.json()[0]["label"] == "true_positive"


async def test_lk01_an_oversized_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    report = report_body(match(issued.secret_value))
    at_limit = report + b" " * (MAX_BODY_BYTES - len(report))
    over = at_limit + b" "
    before = await state()

    declared = await send(client, over, github.key)
    assert_error(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(over), 4096):
            yield over[start : start + 4096]

    # Chunked: no Content-Length to refuse up front, so the reader stops at the limit.
    chunked = await client.post(PATH, content=chunks(), headers=github.key.headers(over))
    assert_error(chunked, 413, "payload_too_large")
    assert await state() == before

    accepted = await send(client, at_limit, github.key)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()[0]["label"] == "true_positive"


async def test_lk01_too_many_matches_or_overlong_fields_are_refused_and_change_nothing(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    ours = match(issued.secret_value)
    bodies = {
        "too many matches": report_body(ours, *[match(f"pcs_{n}") for n in range(MAX_ENTRIES)]),
        "overlong token": report_body(ours, match("p" * (MAX_TOKEN_LENGTH + 1))),
        "overlong type": report_body(ours, match("pcs_x", token_type="t" * 1000)),
        "overlong url": report_body(ours, match("pcs_x", url="https://github.com/" + "u" * 3000)),
    }
    before = await state()

    for reason, body in bodies.items():
        assert_error(await send(client, body, github.key), 400, "invalid_request", label=reason)

    assert await state() == before
    await still_works(client, issued)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"token": "pcs_x", "type": "t"}', id="object-not-array"),
        pytest.param(b"[]", id="no-matches"),
        pytest.param(b'["pcs_x"]', id="match-not-object"),
        pytest.param(b'[{"type": "t"}]', id="no-token"),
        pytest.param(b'[{"token": 5, "type": "t"}]', id="token-not-string"),
        pytest.param(b'[{"token": "pcs_x"}]', id="no-type"),
        pytest.param(b'[{"token": "pcs_x", "type": "t", "url": 5}]', id="url-not-string"),
        pytest.param(b"[" * 30_000 + b"]" * 30_000, id="deeply-nested"),
    ],
)
async def test_lk01_a_malformed_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret, body: bytes
) -> None:
    before = await state()

    response = await send(client, body, github.key)

    assert_error(response, 400, "invalid_request")
    assert await state() == before


async def test_lk01_a_replayed_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    body = report_body(match(issued.secret_value))
    first = await send(client, body, github.key)
    assert first.status_code == 200, first.text
    after_first = await state()
    assert after_first["audit"] > 0

    # The same bytes, and the same bytes signed again (ECDSA signatures differ each time).
    replayed = await client.post(PATH, content=body, headers=first.request.headers)
    assert_error(replayed, 409, "already_handled")
    assert_error(await send(client, body, github.key), 409, "already_handled")

    assert await state() == after_first


async def test_lk01_only_post_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH)

    assert_error(response, 405, "method_not_allowed")


# -- the key list: cached, refetched for an unknown key at most every 30 s ---------------------


async def test_lk01_keys_are_cached_and_an_unknown_key_refetches_at_most_every_30_seconds(
    app: Starlette, client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    clock = keys_on_a_clock(app, github.keys_url)
    reports = iter(
        report_body(match(issued.secret_value, url=f"https://github.com/o/r/blob/{n}/x"))
        for n in range(100)
    )

    assert (await send(client, next(reports), github.key)).status_code == 200
    assert (await send(client, next(reports), github.key)).status_code == 200
    assert github.fetches == 1

    # GitHub publishes a new key moments after our fetch, and made-up key ids arrive.
    rotated = SigningKey.generate()
    github.listed.append(rotated)
    clock.now += 29
    unsigned(await send(client, next(reports), rotated))
    for _ in range(5):
        unsigned(await send(client, next(reports), SigningKey.generate()))
    assert github.fetches == 1

    clock.now += 1
    assert (await send(client, next(reports), rotated)).status_code == 200
    assert github.fetches == 2
    for _ in range(5):
        unsigned(await send(client, next(reports), SigningKey.generate()))
    assert github.fetches == 2


async def test_lk01_a_key_github_stops_listing_is_refused_once_the_cached_list_expires(
    app: Starlette, client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    clock = keys_on_a_clock(app, github.keys_url)
    withdrawn = github.key
    assert (await send(client, report_body(match("pcs_a")), withdrawn)).status_code == 200

    github.listed[:] = [SigningKey.generate()]
    clock.now += KEYS_TTL_SECONDS - 1
    assert (await send(client, report_body(match("pcs_b")), withdrawn)).status_code == 200
    assert github.fetches == 1

    clock.now += 1
    before = await state()
    unsigned(await send(client, report_body(match(issued.secret_value)), withdrawn))
    assert github.fetches == 2
    assert await state() == before


async def test_lk01_without_github_keys_a_report_is_refused_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    keys_on_a_clock(app, f"http://127.0.0.1:{free_port()}/meta/public_keys/secret_scanning")
    before = await state()

    response = await send(client, report_body(match(issued.secret_value)), github.key)

    assert_error(response, 503, "temporarily_unavailable")
    assert await state() == before


async def test_lk01_the_key_list_is_fetched_through_the_vetted_outbound_client(
    app: Starlette, client: httpx.AsyncClient, github: GitHub, issued: IssuedSecret
) -> None:
    """WH-03: in production the key URL may not lead to loopback, so the fetch never leaves."""
    keys_on_a_clock(app, github.keys_url, production=True)

    response = await send(client, report_body(match(issued.secret_value)), github.key)

    assert_error(response, 503, "temporarily_unavailable")
    assert github.fetches == 0


@pytest.mark.parametrize("token", ["", "ghp_exampleTokenForTheKeyList"])
async def test_the_key_list_fetch_sends_the_configured_github_token_and_only_then(
    token: str,
) -> None:
    """PARTNER_API_GITHUB_TOKEN lifts GitHub's 60-an-hour limit on the key list; without it the
    fetch carries no Authorization header at all."""
    sent: list[dict[str, str]] = []

    async def fetch(url: str, headers: dict[str, str], policy: OutboundPolicy) -> OutboundResult:
        sent.append(headers)
        return OutboundResult(status_code=200, latency_ms=1, error=None, body=b'{"public_keys":[]}')

    keys = GitHubKeys(
        "https://keys.example/list", OutboundPolicy(production=True), token=token, fetch=fetch
    )
    assert await keys.key("unknown") is None

    assert len(sent) == 1
    expected = {"Authorization": f"Bearer {token}"} if token else {}
    assert {k: v for k, v in sent[0].items() if k == "Authorization"} == expected
    settings = Settings.from_env({"PARTNER_API_GITHUB_TOKEN": token})
    assert settings.leak_reports.github_token == token
    assert token not in repr(settings) or not token

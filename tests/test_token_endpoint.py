"""`POST /oauth/token`: request framing, grant types, scopes, the success response, error bodies,
usage recording and logs (SECURITY.md TE-01..07, TE-10, TE-12, TE-15, TE-17, TE-18, LG-01, LG-02).

Client authentication and its failures are in test_token_client_auth.py, throttling in
test_token_rate_limits.py.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import AccessLevel, AuditAction
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import IssuedSecret
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import make_admin, make_credential, wrong_secret_for

TOKEN = "/oauth/token"
OAUTH_ENDPOINTS = ("/oauth/token", "/oauth/introspect", "/oauth/revoke")
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 8 * 1024
ALL_SCOPES = " ".join(scope.name for scope in CATALOGUE)
# RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only.
ERROR_CHARSET = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")


def assert_no_store(response: httpx.Response) -> None:
    """TE-17: neither the browser nor a proxy may keep a token endpoint response."""
    assert response.headers.get("cache-control") == "no-store", response.headers
    assert response.headers.get("pragma") == "no-cache", response.headers


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, str]:
    """An RFC 6749 §5.2 error response (TE-17, TE-18) with this status and error code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert_no_store(response)
    body: dict[str, str] = response.json()
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description"}, body
    for value in body.values():
        assert isinstance(value, str)
        assert ERROR_CHARSET.fullmatch(value), value
    return body


def basic(issued: IssuedSecret) -> tuple[str, str]:
    return issued.credential.client_id, issued.secret_value


@pytest.fixture
async def organisation(app: Starlette) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def issued(organisation: Organisation) -> IssuedSecret:
    return await make_credential(organisation=organisation)


async def request_token(
    client: httpx.AsyncClient, issued: IssuedSecret, **form: str
) -> httpx.Response:
    return await client.post(
        TOKEN, data={"grant_type": "client_credentials", **form}, auth=basic(issued)
    )


# -- TE-01: POST only -----------------------------------------------------------------------


@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_te01_other_methods_are_405_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, path: str, method: str
) -> None:
    response = await client.request(
        method,
        path,
        content=b"grant_type=client_credentials",
        headers={"Content-Type": FORM},
        auth=basic(issued),
    )
    assert_oauth_error(response, 405, "invalid_request")
    assert response.headers["allow"] == "POST"


async def test_te01_get_with_query_parameters_issues_no_token(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """A GET carrying everything a token request needs is still refused."""
    response = await client.get(
        TOKEN,
        params={
            "grant_type": "client_credentials",
            "client_id": issued.credential.client_id,
            "client_secret": issued.secret_value,
        },
    )
    body = assert_oauth_error(response, 405, "invalid_request")
    assert "access_token" not in body


# -- TE-02: form bodies only, bounded, UTF-8 ------------------------------------------------


async def test_te02_json_body_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN, json={"grant_type": "client_credentials"}, auth=basic(issued)
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_te02_multipart_body_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        files={"attachment": ("a.txt", b"x", "text/plain")},
        auth=basic(issued),
    )
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert_oauth_error(response, 400, "invalid_request")


async def test_te02_text_plain_body_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        content=b"grant_type=client_credentials",
        headers={"Content-Type": "text/plain"},
        auth=basic(issued),
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_te02_missing_content_type_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN, content=b"grant_type=client_credentials", auth=basic(issued)
    )
    assert "content-type" not in response.request.headers
    assert_oauth_error(response, 400, "invalid_request")


async def test_te02_form_with_utf8_charset_parameter_is_accepted(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        content=b"grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        auth=basic(issued),
    )
    assert response.status_code == 200, response.text


def padded_body(total_length: int) -> bytes:
    """A valid token request padded with an unknown parameter (RFC 6749 §3.2: ignored)."""
    head = b"grant_type=client_credentials&padding="
    return head + b"x" * (total_length - len(head))


async def test_te02_body_of_exactly_8_kib_is_accepted(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN, content=padded_body(MAX_BODY), headers={"Content-Type": FORM}, auth=basic(issued)
    )
    assert response.status_code == 200, response.text


async def test_te02_body_over_8_kib_with_content_length_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        content=padded_body(MAX_BODY + 1),
        headers={"Content-Type": FORM},
        auth=basic(issued),
    )
    assert response.request.headers["content-length"] == str(MAX_BODY + 1)
    assert_oauth_error(response, 400, "invalid_request")


def streamed(body: bytes, chunk: int = 1000) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    return chunks


async def test_te02_streamed_body_over_8_kib_without_content_length_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        content=streamed(padded_body(64 * 1024))(),
        headers={"Content-Type": FORM},
        auth=basic(issued),
    )
    assert "content-length" not in response.request.headers
    assert_oauth_error(response, 400, "invalid_request")


async def test_te02_small_streamed_body_is_accepted(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """The chunked path itself works, so the refusal above is about size."""
    response = await client.post(
        TOKEN,
        content=streamed(b"grant_type=client_credentials", chunk=7)(),
        headers={"Content-Type": FORM},
        auth=basic(issued),
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&scope=events:read\xff",
        b"grant_type=client_credentials&scope=%FFevents%3Aread",
        b"grant_type=client_\xc3credentials",
    ],
    ids=["raw-byte", "percent-encoded", "truncated-sequence"],
)
async def test_te02_non_utf8_body_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, body: bytes
) -> None:
    response = await client.post(
        TOKEN, content=body, headers={"Content-Type": FORM}, auth=basic(issued)
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_te02_non_utf8_charset_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        content=b"grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
        auth=basic(issued),
    )
    assert_oauth_error(response, 400, "invalid_request")


# -- TE-03: grant types -----------------------------------------------------------------------


@pytest.mark.parametrize("form", [{}, {"grant_type": ""}, {"scope": "events:read"}])
async def test_te03_missing_grant_type_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, form: dict[str, str]
) -> None:
    response = await client.post(TOKEN, data=form, auth=basic(issued))
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "authorization_code",
        "refresh_token",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "CLIENT_CREDENTIALS",
    ],
)
async def test_te03_other_grant_types_are_unsupported_grant_type(
    client: httpx.AsyncClient, issued: IssuedSecret, grant_type: str
) -> None:
    response = await client.post(
        TOKEN,
        data={"grant_type": grant_type, "username": "u", "password": "p", "code": "c"},
        auth=basic(issued),
    )
    assert_oauth_error(response, 400, "unsupported_grant_type")


# -- TE-05 / TE-06 / TE-07: scopes ------------------------------------------------------------


@pytest.mark.parametrize(
    "scope", ["tickets:delete", "events:read tickets:delete", "EVENTS:READ", "events:read,"]
)
async def test_te05_unknown_scope_is_invalid_scope(
    client: httpx.AsyncClient, issued: IssuedSecret, scope: str
) -> None:
    response = await request_token(client, issued, scope=scope)
    assert_oauth_error(response, 400, "invalid_scope")


@pytest.mark.parametrize("scope", ["orders:write", "events:read orders:write"])
async def test_te05_scope_the_fine_grained_credential_does_not_hold_is_invalid_scope(
    client: httpx.AsyncClient, organisation: Organisation, scope: str
) -> None:
    fine = await make_credential(
        organisation=organisation,
        access_level=AccessLevel.FINE_GRAINED,
        scopes=["events:read", "orders:read"],
    )
    response = await request_token(client, fine, scope=scope)
    assert_oauth_error(response, 400, "invalid_scope")


async def test_te06_no_scope_grants_the_whole_catalogue_to_full(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await request_token(client, issued)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == ALL_SCOPES


async def test_te06_no_scope_grants_the_fine_grained_credential_its_own_list(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    fine = await make_credential(
        organisation=organisation,
        access_level=AccessLevel.FINE_GRAINED,
        scopes=["barcodes:read", "events:read"],
    )
    response = await request_token(client, fine)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "events:read barcodes:read"


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("orders:read", "orders:read"),
        ("barcodes:read events:read", "events:read barcodes:read"),
        ("orders:write events:read orders:write", "events:read orders:write"),
    ],
)
async def test_te07_narrowed_scope_is_returned_in_catalogue_order(
    client: httpx.AsyncClient, issued: IssuedSecret, requested: str, granted: str
) -> None:
    response = await request_token(client, issued, scope=requested)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == granted


async def test_te07_fine_grained_credential_may_narrow_its_own_scopes(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    fine = await make_credential(
        organisation=organisation,
        access_level=AccessLevel.FINE_GRAINED,
        scopes=["events:read", "orders:read", "orders:write"],
    )
    response = await request_token(client, fine, scope="orders:write")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "orders:write"


# -- TE-10 / TE-12: parameters only once, only in the body ------------------------------------


@pytest.mark.parametrize(
    "query",
    ["client_secret=pcs_anything", "grant_type=client_credentials", "x=1", "scope=events:read"],
)
async def test_te10_any_query_string_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, query: str
) -> None:
    response = await client.post(
        f"{TOKEN}?{query}", data={"grant_type": "client_credentials"}, auth=basic(issued)
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_te10_credentials_in_the_query_are_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN,
        params={"client_id": issued.credential.client_id, "client_secret": issued.secret_value},
        data={"grant_type": "client_credentials"},
    )
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&grant_type=client_credentials",
        b"grant_type=client_credentials&scope=events:read&scope=orders:read",
        b"grant_type=client_credentials&scope=events:read&scope=events:read",
        b"grant_type=client_credentials&grant_type=password",
    ],
)
async def test_te12_repeated_parameter_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, body: bytes
) -> None:
    response = await client.post(
        TOKEN, content=body, headers={"Content-Type": FORM}, auth=basic(issued)
    )
    assert_oauth_error(response, 400, "invalid_request")


# -- TE-15 / TE-17: the success response ------------------------------------------------------


async def test_te15_success_response_has_exactly_the_rfc_fields(
    client: httpx.AsyncClient, issued: IssuedSecret, settings: Settings
) -> None:
    response = await request_token(client, issued)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert isinstance(body["access_token"], str)
    assert body["access_token"].count(".") == 2
    assert body["scope"] == ALL_SCOPES


async def test_te15_expires_in_follows_the_configured_lifetime(
    app: Starlette, settings: Settings, issued: IssuedSecret
) -> None:
    short = create_app(replace(settings, access_token_ttl_seconds=120), manage_database=False)
    transport = httpx.ASGITransport(app=short, client=(CLIENT_ADDRESS, 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await request_token(client, issued)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 120


async def test_te17_success_response_is_not_cached(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await request_token(client, issued)
    assert response.status_code == 200, response.text
    assert_no_store(response)


async def test_te15_each_request_gets_a_distinct_token(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    first = await request_token(client, issued)
    second = await request_token(client, issued)
    assert first.status_code == second.status_code == 200
    assert first.json()["access_token"] != second.json()["access_token"]


# -- TE-17 / TE-18: every error response ------------------------------------------------------


async def test_te17_te18_every_kind_of_error_is_no_store_with_an_rfc_body(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """One of each error the endpoint produces; each is checked by `assert_oauth_error`."""
    auth = basic(issued)
    cases: list[tuple[httpx.Response, int, str]] = [
        (await client.get(TOKEN), 405, "invalid_request"),
        (await client.post(TOKEN, json={"grant_type": "x"}, auth=auth), 400, "invalid_request"),
        (await client.post(f"{TOKEN}?x=1", data={}, auth=auth), 400, "invalid_request"),
        (await client.post(TOKEN, data={}, auth=auth), 400, "invalid_request"),
        (
            await client.post(TOKEN, data={"grant_type": "password"}, auth=auth),
            400,
            "unsupported_grant_type",
        ),
        (await request_token(client, issued, scope="nope:nope"), 400, "invalid_scope"),
        (await request_token(client, issued, scope='"quoted\\"'), 400, "invalid_scope"),
        (
            await client.post(
                TOKEN,
                data={"grant_type": "client_credentials"},
                auth=(issued.credential.client_id, wrong_secret_for(issued.secret_value)),
            ),
            401,
            "invalid_client",
        ),
        (
            await client.post(
                TOKEN,
                data={"grant_type": "client_credentials", "client_secret": issued.secret_value},
                auth=auth,
            ),
            400,
            "invalid_request",
        ),
    ]
    for response, status, error in cases:
        assert_oauth_error(response, status, error)


# -- LG-01: issuance is audited (aggregated) and last-used is recorded sparingly --------------


async def test_lg01_issuance_is_audited_once_per_credential_with_the_count(
    client: httpx.AsyncClient, app: Starlette, organisation: Organisation, issued: IssuedSecret
) -> None:
    other = await make_credential(organisation=organisation, name="Second")
    for _ in range(3):
        assert (await request_token(client, issued)).status_code == 200
    assert (await request_token(client, other)).status_code == 200

    await app.state.services.authorization_server.usage.flush(utcnow(), force=True)

    events = await AuditEvent.filter(action=AuditAction.TOKEN_ISSUED).order_by("actor_label")
    counts = {event.actor_label: (event.after or {}).get("count") for event in events}
    assert counts == {issued.credential.client_id: 3, other.credential.client_id: 1}
    by_label = {event.actor_label: event for event in events}
    first = by_label[issued.credential.client_id]
    assert first.credential_id == issued.credential.id  # type: ignore[attr-defined]
    assert first.organisation_id == organisation.id  # type: ignore[attr-defined]
    assert first.ip_address == CLIENT_ADDRESS


async def test_lg01_issuance_audit_is_not_written_per_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """Within its minute the aggregate stays in memory: no audit row per token request."""
    for _ in range(3):
        assert (await request_token(client, issued)).status_code == 200
    assert await AuditEvent.filter(action=AuditAction.TOKEN_ISSUED).count() == 0


def same_moment(stored: datetime | None, expected: datetime) -> bool:
    # Some backends store microseconds, some do not need to; compare at millisecond precision.
    return stored is not None and abs(stored - expected) < timedelta(milliseconds=1)


async def test_lg01_last_used_is_written_at_first_use_and_then_at_most_once_per_interval(
    app: Starlette,
    client: httpx.AsyncClient,
    issued: IssuedSecret,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = utcnow()
    moment = [start]
    monkeypatch.setattr("auth.partners.authorization_server.utcnow", lambda: moment[0])
    transport = httpx.ASGITransport(app=app, client=("198.51.100.99", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:

        async def last_used() -> list[tuple[datetime | None, str | None]]:
            credential = await Credential.get(id=issued.credential.id)
            secret = await CredentialSecret.get(credential_id=issued.credential.id)
            return [
                (credential.last_used_at, credential.last_used_ip),
                (secret.last_used_at, secret.last_used_ip),
            ]

        assert await last_used() == [(None, None), (None, None)]

        assert (await request_token(client, issued)).status_code == 200
        for at, ip in await last_used():
            assert same_moment(at, start)
            assert ip == CLIENT_ADDRESS

        moment[0] = start + timedelta(seconds=settings.last_used_write_interval_seconds - 5)
        assert (await request_token(elsewhere, issued)).status_code == 200
        for at, ip in await last_used():
            assert same_moment(at, start), "a second write within the interval"
            assert ip == CLIENT_ADDRESS

        later = start + timedelta(seconds=settings.last_used_write_interval_seconds + 1)
        moment[0] = later
        assert (await request_token(elsewhere, issued)).status_code == 200
        for at, ip in await last_used():
            assert same_moment(at, later)
            assert ip == "198.51.100.99"


# -- LG-02: no secrets, tokens or Authorization headers in logs --------------------------------


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in caplog.records)


async def test_lg02_logs_never_contain_secret_token_or_authorization_header(
    client: httpx.AsyncClient,
    issued: IssuedSecret,
    organisation: Organisation,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = await make_credential(organisation=organisation, name="Other")
    caplog.set_level(logging.DEBUG)
    authorization = "Basic " + base64.b64encode(
        f"{issued.credential.client_id}:{issued.secret_value}".encode()
    ).decode("ascii")

    via_basic = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": authorization},
    )
    via_post = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": issued.credential.client_id,
            "client_secret": issued.secret_value,
        },
    )
    assert via_basic.status_code == via_post.status_code == 200
    tokens = [via_basic.json()["access_token"], via_post.json()["access_token"]]
    # Refusals: another client's secret under this client id, and a secret the server never made
    # that still reaches the hash comparison.
    near_miss = wrong_secret_for(issued.secret_value)
    refused = [
        await client.post(
            TOKEN,
            data={"grant_type": "client_credentials"},
            auth=(issued.credential.client_id, other.secret_value),
        ),
        await client.post(
            TOKEN,
            data={"grant_type": "client_credentials"},
            auth=(issued.credential.client_id, near_miss),
        ),
    ]
    assert [response.status_code for response in refused] == [401, 401]
    introspected = await client.post(
        "/oauth/introspect", data={"token": tokens[0]}, auth=basic(issued)
    )
    assert introspected.json()["active"] is True

    text = logged_text(caplog)
    assert "access token issued" in text, "the issuance should have been logged"
    assert "client authentication refused" in text, "the refusals should have been logged"
    forbidden: dict[str, Any] = {
        "secret": issued.secret_value,
        "other secret": other.secret_value,
        "near-miss secret": near_miss,
        "authorization header": authorization.split(" ", 1)[1],
        "token (basic)": tokens[0],
        "token (post)": tokens[1],
        "token signature": tokens[0].rsplit(".", 1)[1],
    }
    for what, value in forbidden.items():
        assert value not in text, f"the {what} was logged"


async def test_lg01_a_first_use_writes_its_own_last_use_and_nothing_else(
    app: Starlette, client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """A credential's first token waits for its own last-use write only; another credential's
    pending use is left to the periodic flush (a walk of every pending use made 10,000 first
    tokens in one process quadratic: docs/benchmarks.md, issue 16)."""
    other = await make_credential(
        organisation=await Organisation.get(id=issued.credential.organisation_id),  # type: ignore[attr-defined]
        name="Other",
    )
    usage = app.state.services.authorization_server.usage
    other_secret = await CredentialSecret.get(credential_id=other.credential.id)
    # Pending and due, as if its own write had failed: not this request's to write.
    usage.token_issued(
        organisation_id=other.credential.organisation_id,  # type: ignore[attr-defined]
        credential_id=other.credential.id,
        client_id=other.credential.client_id,
        secret_id=other_secret.id,
        ip_address="192.0.2.7",
        now=utcnow(),
    )
    assert (await request_token(client, issued)).status_code == 200

    mine = await CredentialSecret.get(credential_id=issued.credential.id)
    assert mine.last_used_at is not None
    assert (await CredentialSecret.get(id=other_secret.id)).last_used_at is None

    await usage.flush(utcnow())
    assert (await CredentialSecret.get(id=other_secret.id)).last_used_ip == "192.0.2.7"

"""What expensive requests to the token endpoint, introspection, revocation and the Partner API cost
everyone else (SECURITY-PLANNED.md GQ-12): a catalogue of requests built to make the server work
as hard as its limits allow, or beyond them, each sent to a live `partner-api serve` while
`GET /healthz` asks the same process (tests/cost_probe.py). Each must get its own answer (status,
RFC error code, never a 500) in seconds at most while /healthz is answered.

Malformed-but-cheap requests are tests/test_hostile_oauth_requests.py's; these are the costly
ones: forms of thousands of fields or escapes, scopes of thousands of names, client IDs and
secrets at and over their length, Basic and Bearer values and header lists that fill the request
head, tokens of thousands of dots or of deeply nested JSON, JSON bodies nested to orjson's depth
limit and beyond, thousands of keys or line items, query strings of thousands of parameters,
hostile cursors. Requests are written byte for byte (tests/raw_http.py), so nothing is normalised
or refused on the client's side. A body over its limit is declared long but sent only a little
past the limit: the server answers once past it and closes, and the kernel resets a connection
closed with bytes unread, so a client still writing would see a reset rather than the answer.

Throttling of failed client authentication (TE-20) cannot mask an answer here: cases that fail
client authentication are refused before it is counted (over-length or missing credentials) or
use client IDs of their own, and they are far fewer than the per-address limit, so the cases that
authenticate as the partner are never answered 429.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from tests.cost_probe import (
    HOSTILE_BOUND_SECONDS,
    CostServer,
    Outcome,
    responsive_while,
    running_server,
)
from tests.raw_http import Header, http_request, send_raw

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = b"/oauth/token"
INTROSPECT = b"/oauth/introspect"
REVOKE = b"/oauth/revoke"
EVENTS = b"/partner/v1/events"
ORDERS = b"/partner/v1/orders"
RESERVATIONS = b"/partner/v1/reservations"
FORM = (b"content-type", b"application/x-www-form-urlencoded")
JSON = (b"content-type", b"application/json")
GRANT = b"grant_type=client_credentials"
# The bounds the catalogue fills: the OAuth form body (auth/partners/token_request.py
# MAX_BODY_BYTES) and
# its field count (MAX_FIELDS), the Partner API's JSON body (partner_requests.py
# MAX_BODY_BYTES), the request head (partner_api/foundation/request_head.py MAX_HEAD_BYTES) and
# orjson's
# nesting depth.
FORM_LIMIT = 8 * 1024
FORM_FIELDS = 64
JSON_LIMIT = 16 * 1024
HEAD_LIMIT = 32 * 1024
# What fills most of a head and still leaves room for the request line and the other headers.
HEAD_FILL = HEAD_LIMIT - 2048
ORJSON_DEPTH = 1024


@dataclass(frozen=True)
class Caller:
    """The live server's partner: its client credentials and an access token of its own."""

    server: CostServer
    access_token: str

    @property
    def basic(self) -> Header:
        pair = f"{self.server.client_id}:{self.server.client_secret}".encode()
        return (b"authorization", b"Basic " + base64.b64encode(pair))

    @property
    def bearer(self) -> Header:
        return (b"authorization", b"Bearer " + self.access_token.encode())


@dataclass(frozen=True)
class Costly:
    """One expensive request and the answer it must get: status, and for a refusal the body's
    `error` (and the Partner API's `field` where it names one)."""

    request: Callable[[Caller], bytes]
    status: int
    error: str | None = None
    field: str | None = None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CostServer]:
    async with running_server(tmp_path_factory.mktemp("cost-http")) as live:
        yield live


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def caller(server: CostServer) -> Caller:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(server.client_id, server.client_secret),
        )
    assert response.status_code == 200, response.text
    return Caller(server=server, access_token=response.json()["access_token"])


async def answered(caller: Caller, case: Costly) -> httpx.Response:
    """Send the case's request under the probe and check its answer; the answer."""
    request = case.request(caller)
    base_url = caller.server.base_url

    async def send(_: httpx.AsyncClient) -> httpx.Response:
        try:
            async with asyncio.timeout(HOSTILE_BOUND_SECONDS):
                return await send_raw(base_url, request)
        except TimeoutError:
            # What the probe reports as a request not answered in time.
            raise httpx.ReadTimeout("no answer") from None

    outcome: Outcome = await responsive_while(caller.server, send)
    response = outcome.response
    assert response.status_code == case.status, response.text[:500]
    if case.error is not None:
        body = response.json()
        assert body["error"] == case.error, body
        if case.field is not None:
            assert body["field"] == case.field, body
    return response


# -- building blocks ---------------------------------------------------------------------------


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def percent_encoded(text: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte for byte in text)


def form_of(*fields: bytes, size: int) -> bytes:
    """`fields` joined by `&`, then one padding field that brings the body to `size` bytes."""
    start = b"&".join(fields) + b"&pad="
    return start + b"p" * (size - len(start))


def token_request(caller: Caller, body: bytes, *headers: Header, basic: bool = False) -> bytes:
    sent = (FORM, caller.basic, *headers) if basic else (FORM, *headers)
    return http_request("POST", TOKEN, headers=sent, body=body)


def fresh_client_id(length: int) -> bytes:
    """A client ID no other case uses, so its failed authentications count against nobody."""
    return b"pcl_" + secrets.token_hex(length).encode()[: length - 4]


def jwt_shaped(header: bytes, payload: bytes = b"{}", signature: bytes = b"\x00" * 64) -> bytes:
    return b".".join((b64url(header), b64url(payload), b64url(signature)))


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def valid_reservation(**overrides: Any) -> dict[str, Any]:
    """A body of the right shape for an event that does not exist (answered 404 once parsed)."""
    body: dict[str, Any] = {
        "event_id": str(uuid4()),
        "lines": [{"product_id": str(uuid4()), "quantity": 1}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
    }
    body.update(overrides)
    return body


def reserve(body: bytes, *headers: Header) -> Callable[[Caller], bytes]:
    def build(caller: Caller) -> bytes:
        sent = (JSON, caller.bearer, *headers)
        return http_request("POST", RESERVATIONS, headers=sent, body=body)

    return build


def partner_get(target: bytes) -> Callable[[Caller], bytes]:
    def build(caller: Caller) -> bytes:
        return http_request("GET", target, headers=(caller.bearer,))

    return build


# -- the token endpoint: bodies ----------------------------------------------------------------

MANY_FIELDS = [b"f%d=%s" % (index, b"v" * 100) for index in range(FORM_FIELDS - 2)]
# 63 separators: the most fields a form may hold.
MAX_FIELD_FORM = form_of(GRANT, *MANY_FIELDS, size=FORM_LIMIT)

TOKEN_BODIES = {
    "8-kib-of-empty-fields": Costly(
        lambda c: token_request(c, b"&" * FORM_LIMIT), 400, "invalid_request"
    ),
    "blank-parameter-repeated-thousands-of-times": Costly(
        lambda c: token_request(c, (b"a=&" * FORM_LIMIT)[:FORM_LIMIT]), 400, "invalid_request"
    ),
    "parameter-repeated-within-the-field-limit": Costly(
        lambda c: token_request(c, b"&".join([GRANT] * (FORM_FIELDS - 1))),
        400,
        "invalid_request",
    ),
    "the-most-fields-a-form-may-hold": Costly(
        lambda c: token_request(c, MAX_FIELD_FORM, basic=True), 200
    ),
    "one-value-filling-the-body": Costly(
        lambda c: token_request(c, form_of(GRANT, size=FORM_LIMIT), basic=True), 200
    ),
    "body-one-byte-over-the-limit": Costly(
        lambda c: token_request(c, form_of(GRANT, size=FORM_LIMIT + 1), basic=True),
        400,
        "invalid_request",
    ),
    "every-character-percent-encoded": Costly(
        lambda c: token_request(
            c,
            form_of(
                percent_encoded(b"grant_type") + b"=" + percent_encoded(b"client_credentials"),
                b"client_id=" + percent_encoded(c.server.client_id.encode()),
                b"client_secret=" + percent_encoded(c.server.client_secret.encode()),
                b"x=" + b"%41" * 2400,
                size=FORM_LIMIT,
            ),
        ),
        200,
    ),
    "escaped-percent-signs-as-scope": Costly(
        lambda c: token_request(
            c, form_of(GRANT, b"scope=" + b"%25" * 2600, size=FORM_LIMIT), basic=True
        ),
        400,
        "invalid_scope",
    ),
    "escapes-that-are-not-utf-8": Costly(
        lambda c: token_request(c, GRANT + b"&scope=" + b"%FF" * 2700, basic=True),
        400,
        "invalid_request",
    ),
    "scope-of-one-name-repeated-thousands-of-times": Costly(
        lambda c: token_request(
            c, GRANT + b"&scope=" + b"+".join([b"events:read"] * 670), basic=True
        ),
        200,
    ),
    "scope-of-thousands-of-unknown-names": Costly(
        lambda c: token_request(
            c,
            (GRANT + b"&scope=" + b"+".join(b"x:%d" % i for i in range(2000)))[:FORM_LIMIT],
            basic=True,
        ),
        400,
        "invalid_scope",
    ),
    "scope-of-thousands-of-empty-names": Costly(
        lambda c: token_request(
            c, GRANT + b"&scope=events:read" + b"+" * 8000 + b"orders:read", basic=True
        ),
        400,
        "invalid_scope",
    ),
    "client-id-at-its-length-limit": Costly(
        lambda c: token_request(
            c, GRANT + b"&client_id=" + fresh_client_id(256) + b"&client_secret=" + b"s" * 256
        ),
        401,
        "invalid_client",
    ),
    "client-id-over-its-length-limit": Costly(
        lambda c: token_request(
            c, form_of(GRANT, b"client_secret=s", b"client_id=" + b"i" * 7000, size=FORM_LIMIT)
        ),
        401,
        "invalid_client",
    ),
    "client-secret-at-its-length-limit": Costly(
        lambda c: token_request(
            c, GRANT + b"&client_id=" + fresh_client_id(40) + b"&client_secret=pcs_" + b"s" * 252
        ),
        401,
        "invalid_client",
    ),
    "client-secret-over-its-length-limit": Costly(
        lambda c: token_request(
            c,
            GRANT
            + b"&client_id="
            + c.server.client_id.encode()
            + b"&client_secret="
            + b"pcs_" * 1900,
        ),
        401,
        "invalid_client",
    ),
}


@pytest.mark.parametrize("case", TOKEN_BODIES.values(), ids=TOKEN_BODIES.keys())
async def test_gq12_token_endpoint_stays_responsive_under_costly_bodies(
    caller: Caller, case: Costly
) -> None:
    response = await answered(caller, case)

    if case.status == 200:
        assert response.json()["token_type"] == "Bearer"


# -- the token endpoint: headers ---------------------------------------------------------------


def basic_of(decoded: bytes) -> Header:
    return (b"authorization", b"Basic " + base64.b64encode(decoded))


TOKEN_HEADERS = {
    "basic-credentials-filling-the-head": Costly(
        lambda c: token_request(c, GRANT, basic_of(b"i" * 12000 + b":" + b"s" * 11000)),
        401,
        "invalid_client",
    ),
    "basic-value-that-is-not-base64-filling-the-head": Costly(
        lambda c: token_request(c, GRANT, (b"authorization", b"Basic " + b"!" * HEAD_FILL)),
        401,
        "invalid_client",
    ),
    "basic-credentials-of-percent-escapes": Costly(
        lambda c: token_request(c, GRANT, basic_of(b"%41" * 4000 + b":" + b"%42" * 3000)),
        401,
        "invalid_client",
    ),
    "thousands-of-headers": Costly(
        lambda c: token_request(c, GRANT, *((b"x%d" % i, b"v") for i in range(2500)), basic=True),
        200,
    ),
    "authorization-header-repeated-a-thousand-times": Costly(
        lambda c: token_request(c, GRANT, *[basic_of(b"x:y")] * 1000), 400, "invalid_request"
    ),
    "content-length-of-a-petabyte": Costly(
        lambda c: http_request(
            "POST",
            TOKEN,
            headers=(FORM, c.basic, (b"content-length", b"1000000000000000")),
        ),
        400,
        "invalid_request",
    ),
    "chunked-body-that-never-ends": Costly(
        lambda c: (
            http_request(
                "POST",
                TOKEN,
                headers=(FORM, c.basic, (b"transfer-encoding", b"chunked")),
            )
            + (b"1000\r\n" + b"a" * 4096 + b"\r\n") * 3
        ),
        400,
        "invalid_request",
    ),
}


@pytest.mark.parametrize("case", TOKEN_HEADERS.values(), ids=TOKEN_HEADERS.keys())
async def test_gq12_token_endpoint_stays_responsive_under_costly_headers(
    caller: Caller, case: Costly
) -> None:
    await answered(caller, case)


# -- introspection and revocation --------------------------------------------------------------

TOKENS = {
    "thousands-of-dots": b"a." * 4000,
    "only-dots": b"." * 8000,
    "base64-characters-filling-the-body": b"A" * 8100,
    "three-segments-filling-the-body": b".".join([b"A" * 2690] * 3),
    "header-of-arrays-nested-thousands-deep": jwt_shaped(nested_arrays(2900)),
    "header-of-hundreds-of-members": jwt_shaped(
        json.dumps({f"k{i}": i for i in range(350)}).encode()
    ),
    "header-naming-a-kid-of-thousands-of-characters": jwt_shaped(
        json.dumps({"typ": "at+jwt", "alg": "ES256", "kid": "k" * 5000}).encode()
    ),
    "percent-escapes-of-base64": b"%41" * 2700,
}


@pytest.mark.parametrize("endpoint", [INTROSPECT, REVOKE], ids=["introspect", "revoke"])
@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
async def test_gq12_introspection_and_revocation_stay_responsive_under_costly_tokens(
    caller: Caller, endpoint: bytes, token: bytes
) -> None:
    """An authenticated client asks about a token that costs the most to look at: an inactive
    token for introspection (RFC 7662 §2.2), 200 for revocation (RFC 7009 §2.2)."""
    case = Costly(
        lambda c: http_request("POST", endpoint, headers=(FORM, c.basic), body=b"token=" + token),
        200,
    )

    response = await answered(caller, case)

    if endpoint == INTROSPECT:
        assert response.json() == {"active": False}


async def test_gq12_a_token_of_escapes_that_are_not_utf_8_is_invalid_request(
    caller: Caller,
) -> None:
    case = Costly(
        lambda c: http_request(
            "POST", INTROSPECT, headers=(FORM, c.basic), body=b"token=" + b"%ED%A0%80" * 900
        ),
        400,
        "invalid_request",
    )

    await answered(caller, case)


# -- the Partner API before authentication -----------------------------------------------------


def bearer_of(token: bytes, target: bytes = b"/partner/v1/me") -> Callable[[Caller], bytes]:
    return lambda c: http_request("GET", target, headers=((b"authorization", b"Bearer " + token),))


BEARERS = {
    "token-filling-the-head": Costly(bearer_of(b"a" * HEAD_FILL), 401, "invalid_token"),
    "token-of-thousands-of-dots": Costly(bearer_of(b"a." * (HEAD_FILL // 2)), 401, "invalid_token"),
    "jwt-at-the-token-length-limit": Costly(
        bearer_of(b".".join([b"A" * 2730] * 3)), 401, "invalid_token"
    ),
    "jwt-header-of-arrays-nested-thousands-deep": Costly(
        bearer_of(jwt_shaped(nested_arrays(3000))), 401, "invalid_token"
    ),
    "jwt-header-of-hundreds-of-members": Costly(
        bearer_of(jwt_shaped(json.dumps({f"k{i}": i for i in range(400)}).encode())),
        401,
        "invalid_token",
    ),
    "jwt-payload-of-hundreds-of-claims": Costly(
        bearer_of(
            jwt_shaped(
                b'{"typ":"at+jwt","alg":"ES256","kid":"unknown"}',
                json.dumps({f"c{i}": i for i in range(400)}).encode(),
            )
        ),
        401,
        "invalid_token",
    ),
    "authorization-header-repeated-a-thousand-times": Costly(
        lambda c: http_request(
            "GET", b"/partner/v1/me", headers=[(b"authorization", b"Bearer x")] * 1000
        ),
        400,
        "invalid_request",
    ),
    "query-of-thousands-of-parameters-and-no-token": Costly(
        lambda c: http_request("GET", EVENTS + b"?" + b"a=&" * (HEAD_FILL // 3)),
        401,
        "missing_token",
    ),
    "access-token-in-the-query-thousands-of-times": Costly(
        lambda c: http_request("GET", EVENTS + b"?" + b"access_token=x&" * 2000),
        400,
        "invalid_request",
    ),
}


@pytest.mark.parametrize("case", BEARERS.values(), ids=BEARERS.keys())
async def test_gq12_partner_api_stays_responsive_under_costly_bearer_tokens(
    caller: Caller, case: Costly
) -> None:
    await answered(caller, case)


# -- the Partner API after authentication: query strings and paths ----------------------------

NO_SUCH_ROW = str(uuid4()).encode()
QUERIES = {
    "thousands-of-unknown-parameters": Costly(
        partner_get(EVENTS + b"?" + b"x=&" * (HEAD_FILL // 3)), 200
    ),
    "limit-repeated-thousands-of-times": Costly(
        partner_get(EVENTS + b"?" + b"limit=1&" * (HEAD_FILL // 8)),
        400,
        "invalid_request",
        "limit",
    ),
    "limit-of-thousands-of-digits": Costly(
        partner_get(EVENTS + b"?limit=" + b"9" * 20000), 400, "invalid_request", "limit"
    ),
    "cursor-filling-the-head": Costly(
        partner_get(EVENTS + b"?cursor=" + b"A" * HEAD_FILL), 400, "invalid_request", "cursor"
    ),
    "cursor-of-a-timestamp-that-overflows-in-utc": Costly(
        partner_get(EVENTS + b"?cursor=" + b64url(b"9999-12-31T23:59:59-14:00|" + NO_SUCH_ROW)),
        400,
        "invalid_request",
        "cursor",
    ),
    "cursor-of-a-timestamp-with-thousands-of-fraction-digits": Costly(
        partner_get(
            EVENTS
            + b"?cursor="
            + b64url(b"2030-01-01T00:00:00." + b"9" * 15000 + b"+00:00|" + NO_SUCH_ROW)
        ),
        200,
    ),
    "cursor-of-thousands-of-separators": Costly(
        partner_get(EVENTS + b"?cursor=" + b64url(b"|" * 20000)),
        400,
        "invalid_request",
        "cursor",
    ),
    "cursor-of-bytes-that-are-not-utf-8": Costly(
        partner_get(EVENTS + b"?cursor=" + b64url(b"\xff\xfe" * 10000)),
        400,
        "invalid_request",
        "cursor",
    ),
    "cursor-of-characters-outside-base64": Costly(
        partner_get(EVENTS + b"?cursor=" + b"%21" * 9000), 400, "invalid_request", "cursor"
    ),
    "cursor-at-the-end-of-time": Costly(
        partner_get(ORDERS + b"?cursor=" + b64url(b"9999-12-31T23:59:59+00:00|" + NO_SUCH_ROW)),
        200,
    ),
    "status-filling-the-head": Costly(
        partner_get(ORDERS + b"?status=" + b"P" * HEAD_FILL), 400, "invalid_request", "status"
    ),
    "status-repeated-thousands-of-times": Costly(
        partner_get(ORDERS + b"?" + b"status=PENDING&" * 2000),
        400,
        "invalid_request",
        "status",
    ),
    "event-id-filling-the-head": Costly(
        partner_get(ORDERS + b"?event_id=" + b"a-" * (HEAD_FILL // 2)),
        400,
        "invalid_request",
        "event_id",
    ),
    "timestamp-filter-of-thousands-of-characters": Costly(
        partner_get(ORDERS + b"?completed_from=2030-01-01T00:00:00" + b"0" * 20000),
        400,
        "invalid_request",
        "completed_from",
    ),
    "every-filter-at-once-and-valid": Costly(
        partner_get(
            ORDERS
            + b"?status=COMPLETED&event_id="
            + NO_SUCH_ROW
            + b"&completed_from=2030-01-01T00:00:00%2B00:00"
            + b"&completed_to=2031-01-01T00:00:00%2B00:00&limit=100&"
            + b"x=&" * 9000
        ),
        200,
    ),
    "path-parameter-filling-the-head": Costly(
        partner_get(EVENTS + b"/" + b"a" * HEAD_FILL), 404, "not_found"
    ),
}


@pytest.mark.parametrize("case", QUERIES.values(), ids=QUERIES.keys())
async def test_gq12_partner_api_stays_responsive_under_costly_query_strings(
    caller: Caller, case: Costly
) -> None:
    response = await answered(caller, case)

    if case.status == 200:
        assert response.json()["data"] == []


# -- the Partner API after authentication: reservation bodies ---------------------------------


def nested_reference(depth: int) -> bytes:
    """A reservation whose external_reference is arrays nested `depth` deep."""
    body = json.dumps(valid_reservation(external_reference="@")).encode()
    return body.replace(b'"@"', nested_arrays(depth - 1))


def objects_nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def json_of(value: Any) -> bytes:
    return json.dumps(value).encode()


KEY = (b"idempotency-key", b"cost-probe-key")
BODIES = {
    "arrays-nested-to-orjson-depth-limit-as-lines": Costly(
        reserve(b'{"lines":' + nested_arrays(ORJSON_DEPTH - 1) + b"}"),
        400,
        "invalid_request",
        "event_id",
    ),
    "arrays-nested-to-orjson-depth-limit-with-idempotency-key": Costly(
        reserve(nested_reference(ORJSON_DEPTH), KEY),
        400,
        "invalid_request",
        "external_reference",
    ),
    "arrays-nested-beyond-orjson-depth-limit": Costly(
        reserve(nested_arrays(JSON_LIMIT // 2)), 400, "invalid_request"
    ),
    "objects-nested-to-orjson-depth-limit": Costly(
        reserve(objects_nested(ORJSON_DEPTH), KEY), 400, "invalid_request", "a"
    ),
    "objects-nested-beyond-orjson-depth-limit": Costly(
        reserve(objects_nested(2500)), 400, "invalid_request"
    ),
    "thousands-of-unknown-keys": Costly(
        reserve(json_of({f"k{i:05d}": 0 for i in range(1200)}), KEY),
        400,
        "invalid_request",
        "k00000",
    ),
    "thousands-of-line-items": Costly(
        reserve(
            json_of(
                valid_reservation(
                    lines=[{"product_id": str(uuid4()), "quantity": 1} for _ in range(200)]
                )
            ),
            KEY,
        ),
        400,
        "invalid_request",
        "lines",
    ),
    "the-most-line-items-all-one-product": Costly(
        reserve(
            json_of(
                valid_reservation(lines=[{"product_id": NO_SUCH_ROW.decode(), "quantity": 1}] * 20)
            )
        ),
        400,
        "invalid_request",
        "lines[1].product_id",
    ),
    "customer-name-filling-the-body": Costly(
        reserve(json_of(valid_reservation(customer={"name": "n" * 16000, "email": "a@b.example"}))),
        400,
        "invalid_request",
        "customer.name",
    ),
    "customer-name-of-thousands-of-escapes": Costly(
        reserve(
            json_of(valid_reservation(customer={"name": "\u00e9" * 2600, "email": "a@b.example"}))
        ),
        400,
        "invalid_request",
        "customer.name",
    ),
    "email-of-thousands-of-at-signs": Costly(
        reserve(json_of(valid_reservation(customer={"name": "Ada", "email": "@" * 15000}))),
        400,
        "invalid_request",
        "customer.email",
    ),
    "array-of-thousands-of-numbers": Costly(reserve(json_of([0] * 5000)), 400, "invalid_request"),
    "body-declared-as-a-megabyte": Costly(
        lambda c: (
            http_request(
                "POST",
                RESERVATIONS,
                headers=(JSON, c.bearer, (b"content-length", b"1000000")),
            )
            + b'{"x":"'
            + b"a" * (JSON_LIMIT + 4096)
        ),
        413,
        "payload_too_large",
    ),
    "idempotency-key-filling-the-head": Costly(
        reserve(json_of(valid_reservation()), (b"idempotency-key", b"k" * HEAD_FILL)),
        400,
        "invalid_request",
        "Idempotency-Key",
    ),
    "every-field-at-its-limit": Costly(
        reserve(
            json_of(
                valid_reservation(
                    lines=[{"product_id": str(uuid4()), "quantity": 50} for _ in range(20)],
                    customer={"name": "n" * 200, "email": "a" * 240 + "@b.example"},
                    external_reference="r" * 100,
                )
            ),
            (b"idempotency-key", b"k" * 255),
        ),
        404,
        "not_found",
        "event_id",
    ),
}


@pytest.mark.parametrize("case", BODIES.values(), ids=BODIES.keys())
async def test_gq12_partner_api_stays_responsive_under_costly_reservation_bodies(
    caller: Caller, case: Costly
) -> None:
    await answered(caller, case)


# -- the request head --------------------------------------------------------------------------

HEADS = {
    "bearer-token-of-a-megabyte": Costly(bearer_of(b"a" * 1_000_000), 431, "invalid_request"),
    "header-of-fifty-megabytes": Costly(
        lambda c: http_request("GET", b"/healthz", headers=((b"x-pad", b"a" * 50_000_000),)),
        431,
        "invalid_request",
    ),
    "a-hundred-thousand-headers": Costly(
        lambda c: http_request(
            "GET", b"/partner/v1/me", headers=[(b"x%d" % i, b"v") for i in range(100_000)]
        ),
        431,
        "invalid_request",
    ),
    "query-string-of-a-megabyte": Costly(
        lambda c: http_request("GET", EVENTS + b"?" + b"a=&" * 350_000, headers=(c.bearer,)),
        431,
        "invalid_request",
    ),
    "basic-header-just-over-the-bound": Costly(
        lambda c: token_request(c, GRANT, (b"authorization", b"Basic " + b"A" * HEAD_LIMIT)),
        431,
        "invalid_request",
    ),
}


@pytest.mark.parametrize("case", HEADS.values(), ids=HEADS.keys())
async def test_gq12_request_heads_over_32_kib_are_refused_431_at_once(
    caller: Caller, case: Costly
) -> None:
    """The server holds no more than the bound of a head and answers 431 (RFC 6585 §5) without
    reading the rest, where uvicorn alone gathers any size at a cost quadratic in its pieces."""
    await answered(caller, case)


async def test_gq12_a_head_just_within_the_bound_is_served(caller: Caller) -> None:
    pad = (b"x-pad", b"a" * (HEAD_LIMIT - 200))
    case = Costly(lambda c: http_request("GET", b"/healthz", headers=(pad,)), 200)

    response = await answered(caller, case)

    assert response.json() == {"status": "ok"}


async def test_gq12_an_oversize_head_on_a_kept_alive_connection_is_refused_431(
    caller: Caller,
) -> None:
    """The bound holds for every request of a connection, not only for its first."""
    first = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
    second = http_request("GET", b"/healthz", headers=((b"x-pad", b"a" * 100_000),))
    address = urlsplit(caller.server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        async with asyncio.timeout(HOSTILE_BOUND_SECONDS):
            writer.write(first)
            served = await reader.readuntil(b'{"status":"ok"}')
            writer.write(second)
            refused = await reader.read()
    finally:
        writer.close()

    assert served.startswith(b"HTTP/1.1 200 ")
    assert refused.startswith(b"HTTP/1.1 431 ")
    assert json.loads(refused.partition(b"\r\n\r\n")[2])["error"] == "invalid_request"

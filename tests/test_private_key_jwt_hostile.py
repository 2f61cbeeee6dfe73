"""Hostile client assertions (private_key_jwt, RFC 7523): oversized, not base64url, header or
claims that are not JSON objects or are deeply nested, numbers out of range. Each answers its
RFC 6749 §5.2 error (400 invalid_request for a malformed form, else the uniform 401
invalid_client, PK-03), never a 500, and costs bounded time: everything is refused before any
signature check, by bounded parsing (auth/partners/client_assertions.py). The 10,000-key set
published at a jwks_uri is in tests/test_private_key_jwt_uri.py."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from auth.partners.client_assertions import JWT_BEARER, MAX_ASSERTION_LENGTH
from models.credential import Credential
from tests.helpers import make_admin
from tests.key_clients import KeyPair, assertion, key_pair, make_key_credential
from tests.test_private_key_jwt import assert_uniform_invalid_client

ENDPOINTS = ("/oauth/token", "/oauth/introspect", "/oauth/revoke")
# Generous for a shared 2-core machine; a bounded refusal takes milliseconds, super-linear work
# on a near-8 KiB input would take far longer.
BOUND_SECONDS = 1.0
Build = Callable[[KeyPair, str], str]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def shaped(header: bytes, claims: bytes = b"{}", signature: bytes = b"\x00" * 64) -> str:
    return ".".join((b64url(header), b64url(claims), b64url(signature)))


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def claims_for(client_id: str, extra: bytes) -> bytes:
    now = int(time.time())
    return (
        b'{"iss":"%s","sub":"%s","aud":"http://127.0.0.1:8000/oauth/token","exp":%d,"jti":"j"%s}'
        % (client_id.encode(), client_id.encode(), now + 60, extra)
    )


HEADER = b'{"alg":"ES256"}'
# Each builds an assertion from the partner's real key pair and client ID, so the refusal is
# about the one malformed thing.
INVALID_CLIENT: dict[str, Build] = {
    # As long as the 8 KiB body allows beside the other fields (a longer one is the
    # over_the_body_limit case below).
    "long_junk": lambda pair, cid: "a" * (MAX_ASSERTION_LENGTH - 300) + ".b.c",
    "one_segment": lambda pair, cid: "a" * 100,
    "four_segments": lambda pair, cid: assertion(pair, cid) + ".e30",
    "not_base64url": lambda pair, cid: "!!!.@@@.###",
    "padded_base64": lambda pair, cid: b64url(HEADER) + "==." + b64url(b"{}") + ".AAAA",
    "not_utf8": lambda pair, cid: shaped(b"\xff\xfe\xfd", b"\xc3\x28"),
    "header_not_json": lambda pair, cid: shaped(b"alg=ES256"),
    "header_is_a_list": lambda pair, cid: shaped(b'["alg","ES256"]'),
    "header_is_a_string": lambda pair, cid: shaped(b'"ES256"'),
    "header_deeply_nested": lambda pair, cid: shaped(b'{"alg":"ES256","x":%s}' % nested(2400)),
    "header_nested_object": lambda pair, cid: shaped(b'{"alg":{"alg":{"alg":"ES256"}}}'),
    "header_crit": lambda pair, cid: shaped(b'{"alg":"ES256","crit":["exp"]}'),
    "claims_are_a_list": lambda pair, cid: shaped(HEADER, b"[1,2,3]"),
    "claims_are_a_number": lambda pair, cid: shaped(HEADER, b"12345"),
    "claims_deeply_nested": lambda pair, cid: shaped(
        HEADER, claims_for(cid, b',"x":' + nested(2400))
    ),
    "aud_deeply_nested": lambda pair, cid: shaped(HEADER, b'{"aud":%s}' % nested(2400)),
    "claims_nested_object": lambda pair, cid: shaped(HEADER, claims_for(cid, b',"x":{"y":{}}')),
    "exp_overflows": lambda pair, cid: shaped(HEADER, claims_for(cid, b',"nbf":1e400')),
    "exp_huge_integer": lambda pair, cid: shaped(HEADER, claims_for(cid, b',"iat":' + b"9" * 400)),
    "duplicate_members": lambda pair, cid: shaped(b'{"alg":"none","alg":"ES256"}'),
    "valid_shape_zero_signature": lambda pair, cid: shaped(HEADER, claims_for(cid, b"")),
}
# A malformed form, not a malformed assertion: RFC 6749 §5.2 invalid_request.
INVALID_REQUEST: dict[str, Callable[[KeyPair, str], list[tuple[str, str]]]] = {
    "over_the_body_limit": lambda pair, cid: [
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", "a" * (2 * MAX_ASSERTION_LENGTH)),
    ],
    "empty_assertion": lambda pair, cid: [
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", ""),
    ],
    "type_without_assertion": lambda pair, cid: [("client_assertion_type", JWT_BEARER)],
    "assertion_without_type": lambda pair, cid: [("client_assertion", assertion(pair, cid))],
    "saml_type": lambda pair, cid: [
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        ("client_assertion", assertion(pair, cid)),
    ],
    "repeated_assertion": lambda pair, cid: [
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion(pair, cid)),
        ("client_assertion", assertion(pair, cid)),
    ],
}


@pytest.fixture
async def partner(app: Starlette) -> tuple[KeyPair, Credential]:
    _, organisation, _ = await make_admin()
    pair = key_pair("ES256")
    return pair, await make_key_credential(organisation=organisation, keys=(pair,))


def _client(app: Starlette, index: int) -> httpx.AsyncClient:
    """Each case from an address of its own, so refusals do not add up to the throttle."""
    address = f"198.51.{index // 250}.{index % 250 + 1}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _endpoint_fields(path: str) -> list[tuple[str, str]]:
    if path == "/oauth/token":
        return [("grant_type", "client_credentials")]
    return [("token", "not-a-token")]


async def _send(
    app: Starlette, index: int, path: str, fields: list[tuple[str, str]]
) -> tuple[httpx.Response, float]:
    async with _client(app, index) as client:
        started = time.perf_counter()
        response = await client.post(
            path,
            content=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return response, time.perf_counter() - started


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_pk03_hostile_assertions_are_invalid_client_quickly_never_a_500(
    app: Starlette, partner: tuple[KeyPair, Credential], path: str
) -> None:
    pair, credential = partner
    for index, (name, build) in enumerate(INVALID_CLIENT.items()):
        token = build(pair, credential.client_id)
        assert len(token) <= MAX_ASSERTION_LENGTH, name
        fields = [
            *_endpoint_fields(path),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", token),
        ]
        response, elapsed = await _send(app, index, path, fields)
        assert response.status_code != 500, name
        try:
            assert_uniform_invalid_client(response)
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from None
        assert elapsed < BOUND_SECONDS, (name, elapsed)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_malformed_assertion_forms_are_invalid_request_never_a_500(
    app: Starlette, partner: tuple[KeyPair, Credential], path: str
) -> None:
    pair, credential = partner
    for index, (name, build) in enumerate(INVALID_REQUEST.items()):
        fields = [*_endpoint_fields(path), *build(pair, credential.client_id)]
        response, elapsed = await _send(app, 100 + index, path, fields)
        assert response.status_code == 400, (name, response.status_code, response.text)
        assert response.json()["error"] == "invalid_request", (name, response.text)
        assert response.headers["cache-control"] == "no-store", name
        assert elapsed < BOUND_SECONDS, (name, elapsed)


async def test_the_partner_itself_still_gets_a_token(
    app: Starlette, partner: tuple[KeyPair, Credential]
) -> None:
    """The control: the same key pair and client ID, well formed, succeed."""
    pair, credential = partner
    fields = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion(pair, credential.client_id)),
    ]
    response, _ = await _send(app, 200, "/oauth/token", fields)
    assert response.status_code == 200, response.text

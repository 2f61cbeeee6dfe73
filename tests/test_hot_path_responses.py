"""The hot paths' own JSON responses (partner_api/foundation/json_response.py) write what
Starlette's
JSONResponse wrote before them: the same bytes and the same header list."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.responses import Response

from partner_api.foundation.json_response import JSONResponse, encode_headers

DOCUMENTS: list[Any] = [
    {"status": "ok"},
    {
        "credential": {"id": "0b6f6d5e-1f1e-4c1b-9a55-3c1a2b3c4d5e", "name": "Box office"},
        "organisation": {"id": "x", "name": "Théâtre « Acme » 東京 🎫"},
        "scopes": ["events:read", "orders:read"],
        "token": {"jti": "abc_-", "expires_at": "2026-11-30T11:21:00+00:00"},
    },
    {"error": "invalid_request", "error_description": "Unknown field naïve.", "field": "naïve"},
    {"data": [], "next_cursor": None},
    {"active": True, "exp": 1_893_456_000, "iat": -1, "big": 2**62, "flag": False},
    {
        "quotes": 'a "b" \\ c / d',
        "controls": "\x00\x01\x1f\x7f\t\n\r",
        "separators": "\u2028\u2029",
    },
    [1, [2, [3, {"": None}]]],
    "text",
    0,
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_orjson_body_is_byte_for_byte_starlettes(document: Any) -> None:
    assert JSONResponse(document).body == StarletteJSONResponse(document).body


@pytest.mark.parametrize("status", [200, 201, 204, 304, 400, 401, 429, 500])
@pytest.mark.parametrize(
    "headers",
    [None, {}, {"Cache-Control": "no-store"}, {"Cache-Control": "no-store", "Pragma": "no-cache"}],
)
def test_header_list_is_starlettes_with_and_without_encoded_headers(
    status: int, headers: dict[str, str] | None
) -> None:
    document = {"error": "x"}
    expected = StarletteJSONResponse(document, status_code=status, headers=headers).raw_headers

    assert JSONResponse(document, status_code=status, headers=headers).raw_headers == expected
    if headers is not None:
        encoded = encode_headers(headers)
        assert JSONResponse(document, status_code=status, headers=encoded).raw_headers == expected


def test_a_rendered_body_is_sent_as_it_is_with_the_headers_of_a_plain_json_response() -> None:
    body = '{"access_token":"eyJ.x.y","token_type":"Bearer"}'
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    before = Response(body, media_type="application/json", headers=headers)

    after = JSONResponse(body.encode(), headers=encode_headers(headers), rendered=True)

    assert after.body == before.body
    assert after.raw_headers == before.raw_headers
    assert after.status_code == 200


def test_each_response_gets_its_own_header_list() -> None:
    """The partner endpoint appends RateLimit-* headers in place: never to a shared list."""
    encoded = encode_headers({"Cache-Control": "no-store"})
    first, second = JSONResponse({}, headers=encoded), JSONResponse({}, headers=encoded)

    first.raw_headers.append((b"ratelimit-limit", b"1"))

    assert second.raw_headers == [
        (b"cache-control", b"no-store"),
        (b"content-length", b"2"),
        (b"content-type", b"application/json"),
    ]
    assert encoded == ((b"cache-control", b"no-store"),)


@pytest.mark.parametrize("name", ["Content-Length", "content-type"])
def test_encoded_headers_leave_length_and_type_to_the_response(name: str) -> None:
    with pytest.raises(ValueError, match="set by the response"):
        encode_headers({name: "1"})

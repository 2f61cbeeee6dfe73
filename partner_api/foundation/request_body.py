"""Request bodies with a hard size bound: the declared framing checked up front (`framing_refusal`),
then the body read straight from the ASGI channel (`read_bounded`).

Every endpoint that reads a body applies the same rules and answers a refusal in its own shape
(OAuth `invalid_request`, GraphQL `PAYLOAD_TOO_LARGE`, the Partner API's 413/415/400). A declared
Content-Length is checked before anything is read, but a chunked body declares none, so the reader
counts what arrives and stops at the bound. (Reading from `receive` also skips Starlette's stream
generator, which costs more than the parse on the token endpoint's hot path.)
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from starlette.types import Receive

# A charset parameter that names UTF-8 (RFC 9110 §8.3.1: case-insensitive, optionally quoted).
_UTF8_PARAMETERS = frozenset({"charset=utf-8", 'charset="utf-8"'})
# Digits enough for any 64-bit length; checked before int(), which refuses more than 4,300.
_MAX_LENGTH_DIGITS = 20


class FramingRefusal(Enum):
    """Why a body's declared framing is refused, for the endpoint to answer in its own shape."""

    MEDIA_TYPE = "media_type"
    CHARSET = "charset"
    INVALID_LENGTH = "invalid_length"
    TOO_LARGE = "too_large"


def framing_refusal(
    headers: Mapping[str, str], media_type: str, limit: int, *, utf8: bool = False
) -> FramingRefusal | None:
    """What is wrong with a body's declared framing, or None: a Content-Type other than
    `media_type` (lower case; parameters aside), with `utf8` a charset parameter other than UTF-8,
    a Content-Length that is not a decimal number, or one over `limit` bytes. `headers` are the
    request's, looked up by lower-case name (Starlette's `Headers`, or a dict of them)."""
    media, _, parameters = headers.get("content-type", "").partition(";")
    if media.strip().lower() != media_type:
        return FramingRefusal.MEDIA_TYPE
    if utf8:
        charset = parameters.strip().lower()
        if charset and charset.replace(" ", "") not in _UTF8_PARAMETERS:
            return FramingRefusal.CHARSET
    length = headers.get("content-length")
    if length is not None:
        # isascii(): str.isdigit() also accepts digits such as "²" that int() refuses.
        if not (length.isascii() and length.isdigit() and len(length) <= _MAX_LENGTH_DIGITS):
            return FramingRefusal.INVALID_LENGTH
        if int(length) > limit:
            return FramingRefusal.TOO_LARGE
    return None


async def read_bounded(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it exceeds `limit` bytes. A disconnect ends the body early."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body.extend(message.get("body", b""))
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)

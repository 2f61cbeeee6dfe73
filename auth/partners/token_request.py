"""Reading an OAuth request body strictly (SECURITY.md TE-02, TE-10, TE-12).

Parameters come only from an `application/x-www-form-urlencoded` body of bounded size: anything in
the URL query is refused (credentials there end up in logs), and a parameter given twice is refused
rather than guessed at (RFC 6749 §3.1, §3.2).

The token endpoint is a hot path, so the request is read in one pass over the raw ASGI headers
(no Starlette `Headers`, whose every lookup scans the list again) and the body is split without
`urllib.parse.parse_qsl`'s generic machinery, to the same result (`_parse_form`).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote

from starlette.requests import Request

from auth.partners.oauth_errors import InvalidRequest
from partner_api.foundation.request_body import FramingRefusal, framing_refusal, read_bounded

MAX_BODY_BYTES = 8 * 1024
MAX_FIELDS = 64
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Headers that occur once (RFC 9110 §5.3): with two, which one the framework or a proxy in front
# picks is a guess, like a repeated parameter (TE-12).
SINGLE_HEADERS = frozenset({b"content-type", b"content-length", b"authorization"})
# A Content-Length that is not a number is refused like one too large: either way the body is
# not one this endpoint reads.
_FRAMING_REFUSALS = {
    FramingRefusal.MEDIA_TYPE: "The body must be application/x-www-form-urlencoded.",
    FramingRefusal.CHARSET: "The body must be UTF-8.",
    FramingRefusal.INVALID_LENGTH: "The body is too large.",
    FramingRefusal.TOO_LARGE: "The body is too large.",
}


class OAuthRequest(NamedTuple):
    form: dict[str, str]
    # The SINGLE_HEADERS present, by lower-case name, decoded as Starlette decodes headers
    # (latin-1): what client authentication reads (`Authorization`).
    headers: dict[str, str]


async def read_oauth_request(request: Request) -> OAuthRequest:
    if request.scope.get("query_string"):
        raise InvalidRequest("Parameters in the URL query are not accepted.")
    headers: dict[str, str] = {}
    # ASGI servers lowercase header names, so the raw names compare as they are.
    for raw_name, raw_value in request.scope["headers"]:
        if raw_name in SINGLE_HEADERS:
            name = raw_name.decode("latin-1")
            if name in headers:
                raise InvalidRequest("A header was given more than once.")
            headers[name] = raw_value.decode("latin-1")
    refusal = framing_refusal(headers, FORM_MEDIA_TYPE, MAX_BODY_BYTES, utf8=True)
    if refusal is not None:
        raise InvalidRequest(_FRAMING_REFUSALS[refusal])
    body = await read_bounded(request.receive, MAX_BODY_BYTES)
    if body is None:
        raise InvalidRequest("The body is too large.")
    try:
        pairs = _parse_form(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The body is not valid form data.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequest("A parameter was given more than once.")
        form[name] = value
    return OAuthRequest(form, headers)


def _parse_form(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict",
    max_num_fields=MAX_FIELDS)`, without its per-call argument coercion: empty fields are
    skipped, a field without `=` has an empty value, `+` is a space, percent escapes are UTF-8
    (a bad one raises UnicodeDecodeError), more than MAX_FIELDS fields raise ValueError."""
    if text and text.count("&") >= MAX_FIELDS:
        raise ValueError("Max number of fields exceeded")
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    text = text.replace("+", " ")
    return unquote(text, errors="strict") if "%" in text else text

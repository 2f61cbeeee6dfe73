"""Reading an OAuth request body strictly (SECURITY.md TE-02, TE-10, TE-12).

Parameters come only from an `application/x-www-form-urlencoded` body of bounded size: anything in
the URL query is refused (credentials there end up in logs), and a parameter given twice is refused
rather than guessed at (RFC 6749 §3.1, §3.2).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from auth.oauth_errors import InvalidRequest
from partner_api.request_body import read_bounded

MAX_BODY_BYTES = 8 * 1024
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Headers that occur once (RFC 9110 §5.3): with two, which one the framework or a proxy in front
# picks is a guess, like a repeated parameter (TE-12).
SINGLE_HEADERS = frozenset({b"content-type", b"content-length", b"authorization"})


async def read_form(request: Request) -> dict[str, str]:
    if request.scope.get("query_string"):
        raise InvalidRequest("Parameters in the URL query are not accepted.")
    # ASGI servers lowercase header names, so the raw names compare as they are.
    singles = [name for name, _ in request.scope["headers"] if name in SINGLE_HEADERS]
    if len(singles) != len(set(singles)):
        raise InvalidRequest("A header was given more than once.")
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    if media_type.strip().lower() != FORM_MEDIA_TYPE:
        raise InvalidRequest("The body must be application/x-www-form-urlencoded.")
    charset = parameters.strip().lower()
    if charset and charset.replace(" ", "") not in {"charset=utf-8", 'charset="utf-8"'}:
        raise InvalidRequest("The body must be UTF-8.")
    declared = request.headers.get("content-length")
    # isascii(): str.isdigit() also accepts digits such as "²" that int() refuses.
    if declared is not None and (
        not (declared.isascii() and declared.isdigit()) or int(declared) > MAX_BODY_BYTES
    ):
        raise InvalidRequest("The body is too large.")
    body = await read_bounded(request.receive, MAX_BODY_BYTES)
    if body is None:
        raise InvalidRequest("The body is too large.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=64,
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The body is not valid form data.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequest("A parameter was given more than once.")
        form[name] = value
    return form

"""Parameters, headers and responses shared by the operations of the OpenAPI document.

Partner API errors have one body (`Error`); each response narrows its `error` to the codes that
status can carry, so a client (and the schemathesis run) can rely on them. The OAuth endpoints
answer RFC 6749 §5.2 bodies (`OAuthError`) instead.
"""

from __future__ import annotations

from partner_api.web.openapi_schemas import JSON, ORDER_STATUSES, TIMESTAMP, UUID, ref

INTEGER_HEADER: JSON = {"type": "integer", "minimum": 0}
HEADER_DESCRIPTIONS = {
    "Cache-Control": "`no-store`: never cache a response that carries tenant data or tokens.",
    "Pragma": "`no-cache`, for HTTP/1.0 caches (RFC 6749 §5.1).",
    "RateLimit-Limit": "Requests this credential may make in the current window.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the current window ends.",
    "Retry-After": "Seconds to wait before trying again.",
    "Allow": "The one method the endpoint accepts.",
    "WWW-Authenticate": "The authentication challenge.",
}
RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def header(name: str, *, required: bool, schema: JSON | None = None, text: str = "") -> JSON:
    return {
        "description": text or HEADER_DESCRIPTIONS[name],
        "required": required,
        "schema": schema or INTEGER_HEADER,
    }


NO_STORE = header("Cache-Control", required=True, schema={"type": "string", "pattern": "no-store"})
PRAGMA = header("Pragma", required=True, schema={"type": "string", "pattern": "no-cache"})
PUBLIC_CACHE = header(
    "Cache-Control",
    required=True,
    schema={"type": "string", "pattern": "public"},
    text="Public and cacheable for a few minutes.",
)


def rate_limit_headers(*, required: bool) -> JSON:
    return {name: header(name, required=required) for name in RATE_LIMIT_HEADERS}


# --- parameters -----------------------------------------------------------------------------


def path_id(name: str, what: str) -> JSON:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id. Unknown ids, another organisation's ids and, for a "
        "token limited to events, anything outside them are 404.",
        "schema": UUID,
    }


LIMIT: JSON = {
    "name": "limit",
    "in": "query",
    "required": False,
    "description": "Page size.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
}
CURSOR: JSON = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "The `next_cursor` of the previous page (opaque; anything else is a 400).",
    "schema": {"type": "string", "minLength": 1},
}
ORDER_FILTERS: list[JSON] = [
    {
        "name": "event_id",
        "in": "query",
        "required": False,
        "description": "Only orders of this event.",
        "schema": UUID,
    },
    {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "Only orders in this status.",
        "schema": {"type": "string", "enum": ORDER_STATUSES},
    },
    {
        "name": "completed_from",
        "in": "query",
        "required": False,
        "description": "Only orders completed at or after this instant (inclusive).",
        "schema": TIMESTAMP,
    },
    {
        "name": "completed_to",
        "in": "query",
        "required": False,
        "description": "Only orders completed before this instant (exclusive).",
        "schema": TIMESTAMP,
    },
]
IDEMPOTENCY_KEY: JSON = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "1 to 255 printable ASCII characters, no spaces: one key per operation you "
    "mean to happen once. The same key with the same request answers the first response again; "
    "the same key with another request is a 409 `conflict`.",
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
}


# --- Partner API responses ------------------------------------------------------------------


def _error_content(codes: list[str], *, schema: str, required: list[str] | None = None) -> JSON:
    narrowed: JSON = {"properties": {"error": {"enum": codes}}}
    if required:
        narrowed["required"] = required
    return {"application/json": {"schema": {"allOf": [ref(schema), narrowed]}}}


REPLAYED = header(
    "Idempotent-Replayed",
    required=False,
    schema={"type": "string", "enum": ["true"]},
    text="`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key.",
)


def partner_success(description: str, schema: str, *, idempotent: bool = False) -> JSON:
    headers: JSON = {"Cache-Control": NO_STORE, **rate_limit_headers(required=True)}
    if idempotent:
        headers["Idempotent-Replayed"] = REPLAYED
    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": ref(schema)}},
    }


def partner_error(
    description: str,
    codes: list[str],
    *,
    extra_headers: JSON | None = None,
    rate_limit: bool | None = False,
    required: list[str] | None = None,
) -> JSON:
    """`rate_limit`: True → the RateLimit headers are always sent, None → when the request was
    authenticated, False → never (the request never reached the limiter)."""
    headers: JSON = {"Cache-Control": NO_STORE, **(extra_headers or {})}
    if rate_limit is not False:
        headers.update(rate_limit_headers(required=bool(rate_limit)))
    return {
        "description": description,
        "headers": headers,
        "content": _error_content(codes, schema="Error", required=required),
    }


def bearer_challenge(pattern: str, text: str) -> JSON:
    return {
        "WWW-Authenticate": header(
            "WWW-Authenticate",
            required=True,
            schema={"type": "string", "pattern": pattern},
            text=text,
        )
    }


UNAUTHORIZED = partner_error(
    "No token (`missing_token`), or a malformed, expired, revoked or foreign one "
    "(`invalid_token`).",
    ["missing_token", "invalid_token"],
    extra_headers=bearer_challenge(
        "^Bearer ",
        'RFC 6750 §3: `Bearer realm="partner-api"`, with `error="invalid_token"` '
        "when a token was sent.",
    ),
)
FORBIDDEN = partner_error(
    "The token lacks the scope this endpoint needs; `scope` names it.",
    ["insufficient_scope"],
    extra_headers=bearer_challenge(
        'error="insufficient_scope"',
        'RFC 6750 §3: `Bearer realm="partner-api", error="insufficient_scope", scope="…"`.',
    ),
    required=["scope"],
)
IN_QUERY_REFUSED = (
    "the access token was sent in the URL query (it is only read from the header), or the "
    "Authorization header was sent more than once"
)


def bad_request(problem: str | None) -> JSON:
    """400 `invalid_request`: `problem` is what the endpoint validates, if anything."""
    text = f"{problem}; `field` names it. Or {IN_QUERY_REFUSED}." if problem else IN_QUERY_REFUSED
    return partner_error(text[0].upper() + text[1:], ["invalid_request"], rate_limit=None)


MEDIA_ERRORS: JSON = {
    "413": partner_error("The body is larger than 16 KiB.", ["payload_too_large"], rate_limit=True),
    "415": partner_error(
        "The body is not `application/json`.", ["unsupported_media_type"], rate_limit=True
    ),
}
NOT_FOUND = partner_error(
    "No such resource in your organisation, or none within the events the token is limited to "
    "(malformed and foreign ids included).",
    ["not_found"],
    rate_limit=True,
)
TOO_MANY_REQUESTS = partner_error(
    "The credential's rate limit is spent; retry after `Retry-After` seconds.",
    ["rate_limited"],
    extra_headers={"Retry-After": header("Retry-After", required=True)},
    rate_limit=True,
)
SERVER_ERROR = partner_error("An unexpected fault; nothing more is said.", ["server_error"])


# --- OAuth responses (RFC 6749 §5) ----------------------------------------------------------


def oauth_headers() -> JSON:
    return {"Cache-Control": NO_STORE, "Pragma": PRAGMA}


def oauth_success(description: str, schema: str | None) -> JSON:
    response: JSON = {"description": description, "headers": oauth_headers()}
    if schema is not None:
        response["content"] = {"application/json": {"schema": ref(schema)}}
    return response


def oauth_error(description: str, codes: list[str], *, extra_headers: JSON | None = None) -> JSON:
    return {
        "description": description,
        "headers": {**oauth_headers(), **(extra_headers or {})},
        "content": _error_content(codes, schema="OAuthError"),
    }


def oauth_errors(bad_request_codes: list[str]) -> JSON:
    """The error responses every client-authenticated OAuth endpoint shares."""
    return {
        "400": oauth_error("RFC 6749 §5.2: the request is malformed.", bad_request_codes),
        "401": oauth_error(
            "Client authentication failed: unknown client, wrong secret, revoked or expired "
            "credential, address outside the allowlist, or no authentication. One body for all.",
            ["invalid_client"],
            extra_headers={
                "WWW-Authenticate": header(
                    "WWW-Authenticate",
                    required=True,
                    schema={"type": "string", "pattern": "^Basic "},
                    text='`Basic realm="partner-api", charset="UTF-8"`.',
                )
            },
        ),
        "405": oauth_error(
            "Any method but POST.",
            ["invalid_request"],
            extra_headers={
                "Allow": header("Allow", required=True, schema={"type": "string", "enum": ["POST"]})
            },
        ),
        "429": oauth_error(
            "Too many failed authentications from this address, or the credential's token quota "
            "is spent.",
            ["temporarily_unavailable"],
            extra_headers={"Retry-After": header("Retry-After", required=True)},
        ),
        "500": oauth_error("An unexpected fault; nothing more is said.", ["server_error"]),
    }

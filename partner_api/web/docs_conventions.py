"""The conventions every Partner API endpoint shares, as sections of the developer documentation:
errors, rate limits, pagination and idempotency. Endpoint lists come from the OpenAPI document and
the error codes from its schema, so a new endpoint or code shows up here by itself.
"""

from __future__ import annotations

import json

from partner_api.foundation.settings import Settings
from partner_api.web.docs_html import (
    bullet_list,
    code_block,
    esc,
    inline,
    paragraph,
    section,
    table,
)
from partner_api.web.docs_reference import Reference
from partner_api.web.openapi_schemas import PARTNER_ERROR_CODES

# (status, meaning) of every Partner API error code; a code missing here fails at start.
ERROR_MEANINGS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "A parameter, header or body field is invalid: `field` names it."),
    "missing_token": (401, "No `Authorization: Bearer` header. Get a token and send it."),
    "invalid_token": (
        401,
        "The token is malformed, expired or revoked, or its credential no longer works. "
        "Get a new token; if that fails, ask your administrator.",
    ),
    "insufficient_scope": (
        403,
        "The token lacks the scope the endpoint needs; `scope` names it. Ask your administrator "
        "to grant it, or request it in the token's `scope`.",
    ),
    "insufficient_authorization": (
        403,
        "The token is limited to events and the reservation's `event_id` is not one of them "
        "(`field` is `event_id`); nothing was reserved. See Credentials limited to events.",
    ),
    "not_found": (
        404,
        "Unknown id, malformed id, an id of another organisation, or (for a token limited to "
        "events) of anything outside them.",
    ),
    "method_not_allowed": (405, "The endpoint does not accept this HTTP method."),
    "conflict": (409, "The `Idempotency-Key` was already used with a different request."),
    "sold_out": (409, "Not enough tickets left for a line; `field` names it."),
    "invalid_state": (
        409,
        "The order's status does not allow this, e.g. completing a cancelled one.",
    ),
    "payload_too_large": (413, "The body is larger than 16 KiB."),
    "unsupported_media_type": (415, "The body is not `application/json`."),
    "rate_limited": (429, "The credential's request budget is spent: wait `Retry-After` seconds."),
    "server_error": (500, "An unexpected fault on our side. Retry later; tell us if it persists."),
}
OAUTH_ERRORS = [
    (
        "400",
        "invalid_request",
        "Missing or repeated parameter, a parameter in the URL, a body "
        "that is not form-encoded, or two client authentication methods at once.",
    ),
    ("400", "unsupported_grant_type", "`grant_type` is not `client_credentials`."),
    ("400", "invalid_scope", "A requested scope is unknown or not granted to the credential."),
    (
        "400",
        "invalid_authorization_details",
        "`authorization_details` is malformed, or asks for an event or action the credential "
        "may not have (see Credentials limited to events).",
    ),
    (
        "401",
        "invalid_client",
        "Client authentication failed, whatever the reason (one answer for "
        "all: unknown client, wrong secret, revoked, expired, address not allowed).",
    ),
    ("405", "invalid_request", "Only POST is accepted."),
    ("429", "temporarily_unavailable", "Too many failures or tokens: wait `Retry-After` seconds."),
]


def errors() -> str:
    rows = [
        [esc(ERROR_MEANINGS[code][0]), f"<code>{esc(code)}</code>", inline(ERROR_MEANINGS[code][1])]
        for code in PARTNER_ERROR_CODES
    ]
    oauth_rows = [[esc(s), f"<code>{esc(c)}</code>", inline(text)] for s, c, text in OAUTH_ERRORS]
    example = json.dumps(
        {
            "error": "invalid_request",
            "error_description": "limit must be 1 to 100.",
            "field": "limit",
        },
        indent=2,
    )
    return section(
        "errors",
        "Errors",
        paragraph(
            "Every Partner API error has the same JSON body. Branch on the HTTP status and "
            "`error`; `error_description` is for people and may change. `field` appears on "
            "validation errors and `insufficient_authorization`, `scope` on `insufficient_scope`."
        )
        + code_block(example, label="A 400 response")
        + paragraph(
            '401 and 403 also carry `WWW-Authenticate: Bearer realm="partner-api"` (RFC 6750 '
            "§3), with `error` and, for 403, the needed `scope`."
        )
        + table(["Status", "error", "Meaning"], rows, css="errors")
        + paragraph(
            'The OAuth endpoints answer RFC 6749 §5.2 errors, `{"error", "error_description"}`:'
        )
        + table(["Status", "error", "Meaning"], oauth_rows, css="errors"),
    )


def rate_limits(settings: Settings) -> str:
    headers = [
        ["<code>RateLimit-Limit</code>", "Requests your credential may make per minute."],
        ["<code>RateLimit-Remaining</code>", "Requests left in this window."],
        ["<code>RateLimit-Reset</code>", "Seconds until the window resets."],
    ]
    return section(
        "rate-limits",
        "Rate limits",
        paragraph(
            f"Each credential may make {settings.partner_rate_limit_per_minute} Partner API "
            "requests per minute, unless the organisation that gave it to you set another limit: "
            "an organisation may set a default for all its credentials and a different limit "
            "per credential (up to "
            f"{settings.usage.max_rate_limit_per_minute} a minute), so two of your credentials "
            "may have different limits. Every authenticated response tells you where you stand, "
            "with your credential's own limit:"
        )
        + table(["Header", "Meaning"], headers)
        + paragraph(
            "Over the limit the answer is 429 `rate_limited` with `Retry-After` (seconds). Wait "
            "that long before the next request; spread bulk work over time instead of bursting, "
            "and back off further on repeated 429s. Read the limit from `RateLimit-Limit` rather "
            "than building it into your code: it may change, and takes effect within a second."
        )
        + paragraph(
            "A limit may be set in monitor mode while the organisation tries it out: then "
            "nothing is refused, but the headers already show the limit, and `RateLimit-"
            "Remaining` stays at 0 once you are over it. Treat a remaining of 0 as a 429 to come."
        )
        + paragraph(
            f"The token endpoint has a quota of its own: {settings.token_quota_per_minute} tokens "
            "per credential and minute, or what the organisation set for your credential "
            "(likewise in monitor mode or not). Over it, the token endpoint answers 429 "
            "`temporarily_unavailable` with `Retry-After`; reuse a token until it expires "
            "instead of asking for one per request."
        ),
    )


def pagination(settings: Settings, reference: Reference) -> str:
    lists = [
        f"<code>{esc(method.upper())} {esc(path)}</code>"
        for method, path, operation in reference.operations()
        if any(parameter["name"] == "cursor" for parameter in operation.get("parameters", []))
    ]
    loop = f"""
def all_orders(session, **filters):
    params = {{"limit": 100, **filters}}
    while True:
        response = session.get("{settings.issuer}/partner/v1/orders", params=params, timeout=10)
        response.raise_for_status()
        page = response.json()
        yield from page["data"]
        if page["next_cursor"] is None:
            return
        params["cursor"] = page["next_cursor"]
"""
    return section(
        "pagination",
        "Pagination",
        paragraph("These lists are paginated with cursors:")
        + bullet_list(lists)
        + paragraph(
            'Pass `limit` (1 to 100, default 20). The body is `{"data": [...], '
            '"next_cursor": "..."}`; while `next_cursor` is not null, request the next page with '
            "`cursor=<next_cursor>` and the same filters. Cursors are opaque: do not build or "
            "change them. Pages are cut at a row, not at an offset, so rows added while you page "
            "never make you see a row twice or miss one that was there when you started (new "
            "orders appear at the start of the list). An event's products and an order's "
            "barcodes come in one response."
        )
        + code_block(loop, label="Python: every order, page by page"),
    )


def idempotency(settings: Settings, reference: Reference) -> str:
    posts = [
        f"<code>{esc(method.upper())} {esc(path)}</code>"
        for method, path, operation in reference.operations()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    example = f"""
curl -s -X POST {settings.issuer}/partner/v1/reservations \\
     -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
     -H "Idempotency-Key: $(uuidgen)" \\
     -d '{{"event_id": "…", "lines": [{{"product_id": "…", "quantity": 2}}],
          "customer": {{"name": "Ada Lovelace", "email": "ada@example.com"}}}}'
"""
    return section(
        "idempotency",
        "Idempotency",
        paragraph("Send an `Idempotency-Key` header on these requests:")
        + bullet_list(posts)
        + paragraph(
            "Use a new random key (e.g. a UUID) for each operation you mean to happen once, and "
            "the same key when you retry it after a timeout or a lost connection. The same key "
            "with the same request answers the first response again (with "
            "`Idempotent-Replayed: true`) and makes no second order; the same key with a "
            "different request is a 409 `conflict`. Keys are 1 to 255 printable ASCII "
            "characters without spaces. Completing a completed order or cancelling a cancelled "
            "one returns the order unchanged anyway."
        )
        + code_block(example, label="Shell: a retry-safe reservation"),
    )

"""Credentials limited to events (RFC 9396 Rich Authorization Requests) in the OpenAPI document:
the `ticketing_events` authorization detail a token carries and a token request may send, the
reservation's 403 for an event outside the token's events, and the short explanation the
document's `info` gives. The guide's section is partner_api/web/docs_restrictions.py.
"""

from __future__ import annotations

from auth.partners.authorization_details import MAX_EVENT_IDS, TYPE
from partner_api.foundation.scopes import CATALOGUE
from partner_api.web.openapi_responses import bearer_challenge, partner_error
from partner_api.web.openapi_schemas import JSON, UUID, object_schema, ref

RESTRICTIONS = (
    "An administrator may limit a credential to chosen events; its tokens then carry "
    f"`authorization_details` (RFC 9396, type `{TYPE}`) naming them, and a token request may "
    "narrow them further with the `authorization_details` parameter. Such a token reaches only "
    "those events, their products, their orders and those orders' barcodes: any other id answers "
    "404 `not_found`, exactly like another organisation's, and a reservation for another event "
    "answers 403 `insufficient_authorization` and holds nothing. `GET /partner/v1/me` shows the "
    "token's `event_ids`."
)


def _scope_names() -> JSON:
    return {"type": "string", "enum": [scope.name for scope in CATALOGUE]}


def _event_ids(description: str) -> JSON:
    return {
        "type": "array",
        "items": UUID,
        "minItems": 1,
        "maxItems": MAX_EVENT_IDS,
        "uniqueItems": True,
        "description": description,
    }


def authorization_detail_schemas() -> JSON:
    """The granted detail (token response, introspection) and the requested one (token form)."""
    kind: JSON = {"type": "string", "enum": [TYPE]}
    return {
        "AuthorizationDetail": object_schema(
            {
                "type": kind,
                "actions": {
                    "type": "array",
                    "items": _scope_names(),
                    "description": "The token's scopes.",
                },
                "event_ids": {
                    "type": "array",
                    "items": UUID,
                    "description": "The events the token may reach.",
                },
            }
        ),
        "AuthorizationDetailInput": object_schema(
            {
                "type": kind,
                "event_ids": _event_ids(
                    "Events the credential may reach: its chosen events, or any of your "
                    "organisation's when it is not limited."
                ),
                "actions": {
                    "type": "array",
                    "items": _scope_names(),
                    "minItems": 1,
                    "uniqueItems": True,
                    "description": "Optional: scopes of the token to keep; omit it to keep them "
                    "all.",
                },
            },
            required=["type", "event_ids"],
            closed=True,
        ),
    }


TOKEN_REQUEST_PARAMETER: JSON = {
    "type": "string",
    "minLength": 1,
    "contentMediaType": "application/json",
    "contentSchema": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": ref("AuthorizationDetailInput"),
    },
    "description": f'RFC 9396, as JSON text: `[{{"type": "{TYPE}", "event_ids": ["…"], '
    '"actions": ["…"]}]`, exactly one `AuthorizationDetailInput`. Narrows the token to these '
    f"events (1 to {MAX_EVENT_IDS}) and, with `actions`, to these of its scopes; it can never "
    "widen. Anything else, or an event the credential may not reach, is 400 "
    "`invalid_authorization_details`.",
}
TOKEN_RESPONSE_MEMBER: JSON = {
    "type": "array",
    "items": ref("AuthorizationDetail"),
    "description": "Only for a token limited to events (RFC 9396 §7): the one "
    f"`{TYPE}` entry it was granted. Absent: every event of your organisation.",
}
INTROSPECTION_MEMBER: JSON = {
    "type": "array",
    "items": ref("AuthorizationDetail"),
    "description": "Only for a token limited to events: what it may reach now (its events the "
    "credential still holds, its current scopes).",
}
METADATA_MEMBER: JSON = {
    "type": "array",
    "items": {"type": "string"},
    "description": f"RFC 9396: `{TYPE}`.",
}


def reservation_forbidden() -> JSON:
    """403 on POST /reservations: the route's scope, or (decided from the token alone) the
    event. Only `insufficient_scope` carries the Bearer challenge."""
    response = partner_error(
        "`insufficient_scope`: the token lacks the scope; `scope` names it. "
        "`insufficient_authorization`: the token is limited to events and `event_id` is not one "
        "of them (another organisation's and unknown events alike); `field` is `event_id` and "
        "nothing is reserved.",
        ["insufficient_scope", "insufficient_authorization"],
        extra_headers=bearer_challenge(
            'error="insufficient_scope"',
            '`insufficient_scope` only: `Bearer realm="partner-api", error="insufficient_scope", '
            'scope="…"` (RFC 6750 §3).',
        ),
        rate_limit=True,
    )
    response["headers"]["WWW-Authenticate"]["required"] = False
    response["content"]["application/json"]["schema"]["allOf"].append(
        {
            "if": {"properties": {"error": {"const": "insufficient_scope"}}},
            "then": {"required": ["scope"]},
            "else": {"required": ["field"], "properties": {"field": {"const": "event_id"}}},
        }
    )
    return response

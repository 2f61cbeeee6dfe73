"""The OpenAPI 3.1 document of everything a partner calls: the OAuth 2.0 endpoints and the Partner
API under `/partner/v1`. Served at `/openapi.json` and rendered into the `/docs` reference.

Scopes are read from the catalogue (`partner_api.foundation.scopes.CATALOGUE`), never spelled out
here, so a scope
added there appears in the security scheme, the token request's `scope` pattern and `/me`.
"""

from __future__ import annotations

from typing import Any

from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.openapi_oauth import (
    BASIC_SCHEME,
    documentation_paths,
    oauth_paths,
    oauth_schemas,
)
from partner_api.web.openapi_responses import (
    CURSOR,
    FORBIDDEN,
    IDEMPOTENCY_KEY,
    LIMIT,
    MEDIA_ERRORS,
    NOT_FOUND,
    ORDER_FILTERS,
    SERVER_ERROR,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    bad_request,
    partner_error,
    partner_success,
    path_id,
)
from partner_api.web.openapi_restrictions import RESTRICTIONS, reservation_forbidden
from partner_api.web.openapi_schemas import JSON, ref, schemas

OAUTH_SCHEME = "partnerOAuth"
PARTNER_PREFIX = "/partner/v1"
EVENT_ID = path_id("event_id", "event")
ORDER_ID = path_id("order_id", "order")
TAGS = [
    {"name": "OAuth 2.0", "description": "Get, inspect and revoke access tokens."},
    {"name": "Identity", "description": "Who the token belongs to."},
    {"name": "Events", "description": "Events and their products (ticket types)."},
    {"name": "Orders", "description": "Orders and their barcodes."},
    {"name": "Reservations", "description": "Reserve tickets, then complete or cancel."},
    {"name": "Documentation", "description": "This document and the developer guide."},
]


def _partner_operation(
    operation_id: str,
    tag: str,
    summary: str,
    description: str,
    *,
    scope: str | None,
    success: tuple[str, str, str],
    parameters: list[JSON] | None = None,
    body: str | None = None,
    validates: str | None = None,
    not_found: JSON | None = None,
    forbidden: JSON = FORBIDDEN,
    conflicts: dict[str, str] | None = None,
) -> JSON:
    """One `/partner/v1` operation. `validates` says what a 400 names; `forbidden` is the 403
    when there is a scope; `conflicts` maps each 409 code to its meaning."""
    status, success_text, schema = success
    idempotent = IDEMPOTENCY_KEY in (parameters or [])
    responses: JSON = {
        status: partner_success(success_text, schema, idempotent=idempotent),
        "400": bad_request(validates),
        "401": UNAUTHORIZED,
    }
    if scope is not None:
        responses["403"] = forbidden
    if not_found is not None:
        responses["404"] = not_found
    if conflicts:
        text = "; ".join(f"`{code}`: {meaning}" for code, meaning in conflicts.items())
        responses["409"] = partner_error(text + ".", list(conflicts), rate_limit=True)
    if body is not None:
        responses.update(MEDIA_ERRORS)
    responses["429"] = TOO_MANY_REQUESTS
    responses["500"] = SERVER_ERROR
    operation: JSON = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": description,
        "security": [{OAUTH_SCHEME: [] if scope is None else [scope]}],
        "parameters": parameters or [],
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


def _reservation_action(operation_id: str, summary: str, description: str, conflict: str) -> JSON:
    return _partner_operation(
        operation_id,
        "Reservations",
        summary,
        description,
        scope="orders:write",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        success=("200", "The order.", "Order"),
        validates="the Idempotency-Key is malformed",
        not_found=NOT_FOUND,
        conflicts={
            "invalid_state": conflict,
            "conflict": "the Idempotency-Key was used with another request",
        },
    )


def _partner_paths() -> JSON:
    p = PARTNER_PREFIX
    return {
        f"{p}/me": {
            "get": _partner_operation(
                "getMe",
                "Identity",
                "Who am I",
                "The credential, organisation, scopes and events of the token. Any valid token.",
                scope=None,
                success=("200", "The caller.", "Me"),
            )
        },
        f"{p}/events": {
            "get": _partner_operation(
                "listEvents",
                "Events",
                "List events",
                "Your organisation's events (only the token's, if it is limited to events), "
                "ordered by `starts_at`, then `id`.",
                scope="events:read",
                parameters=[LIMIT, CURSOR],
                success=("200", "A page of events.", "EventPage"),
                validates="`limit` or `cursor` is invalid or repeated",
            )
        },
        f"{p}/events/{{event_id}}": {
            "get": _partner_operation(
                "getEvent",
                "Events",
                "Get an event",
                "One event.",
                scope="events:read",
                parameters=[EVENT_ID],
                success=("200", "The event.", "Event"),
                not_found=NOT_FOUND,
            )
        },
        f"{p}/events/{{event_id}}/products": {
            "get": _partner_operation(
                "listEventProducts",
                "Events",
                "List an event's products",
                "Every product (ticket type) of the event, with price and availability. "
                "Not paginated.",
                scope="events:read",
                parameters=[EVENT_ID],
                success=("200", "All products of the event.", "ProductList"),
                not_found=NOT_FOUND,
            )
        },
        f"{p}/orders": {
            "get": _partner_operation(
                "listOrders",
                "Orders",
                "List orders",
                "Your organisation's orders (only of the token's events, if it is limited), "
                "newest first (`created_at`, then `id`, descending).",
                scope="orders:read",
                parameters=[LIMIT, CURSOR, *ORDER_FILTERS],
                success=("200", "A page of orders.", "OrderPage"),
                validates="`limit`, `cursor` or a filter is invalid or repeated",
            )
        },
        f"{p}/orders/{{order_id}}": {
            "get": _partner_operation(
                "getOrder",
                "Orders",
                "Get an order",
                "One order with its lines and totals.",
                scope="orders:read",
                parameters=[ORDER_ID],
                success=("200", "The order.", "Order"),
                not_found=NOT_FOUND,
            )
        },
        f"{p}/orders/{{order_id}}/barcodes": {
            "get": _partner_operation(
                "listOrderBarcodes",
                "Orders",
                "List an order's barcodes",
                "One barcode per ticket; empty unless the order is COMPLETED. Not paginated.",
                scope="barcodes:read",
                parameters=[ORDER_ID],
                success=("200", "The order's barcodes.", "BarcodeList"),
                not_found=NOT_FOUND,
            )
        },
        f"{p}/reservations": {
            "post": _partner_operation(
                "createReservation",
                "Reservations",
                "Reserve tickets",
                "Creates a PENDING order that holds the tickets until it is completed or "
                "cancelled. Every product must belong to the event, each at most once. A token "
                "limited to events may reserve only for those (403 `insufficient_authorization`).",
                scope="orders:write",
                parameters=[IDEMPOTENCY_KEY],
                body="ReservationRequest",
                success=("201", "The PENDING order.", "Order"),
                validates="a body field is invalid, a product is not of the event or is given "
                "twice, or the Idempotency-Key is malformed",
                forbidden=reservation_forbidden(),
                not_found=partner_error(
                    "The event does not exist in your organisation (`field` is `event_id`).",
                    ["not_found"],
                    rate_limit=True,
                ),
                conflicts={
                    "sold_out": "not enough tickets left; `field` names the line's quantity",
                    "conflict": "the Idempotency-Key was used with another body",
                },
            )
        },
        f"{p}/reservations/{{order_id}}/complete": {
            "post": _reservation_action(
                "completeReservation",
                "Complete a reservation",
                "PENDING → COMPLETED, creating one barcode per ticket. Completing a COMPLETED "
                "order answers it unchanged.",
                "the order is CANCELLED",
            )
        },
        f"{p}/reservations/{{order_id}}/cancel": {
            "post": _reservation_action(
                "cancelReservation",
                "Cancel a reservation",
                "PENDING → CANCELLED, releasing the held tickets. Cancelling a CANCELLED order "
                "answers it unchanged.",
                "the order is COMPLETED",
            )
        },
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The whole document; `servers` is the configured issuer, so examples point at this host."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Partner API",
            "version": "1.0.0",
            "summary": "Read events and orders, and reserve tickets, for your organisation.",
            "description": "Get an access token from the token endpoint with your client ID and "
            "secret, then call `/partner/v1` with `Authorization: Bearer <token>`.\n\n"
            + RESTRICTIONS,
        },
        "externalDocs": {"description": "Developer guide", "url": settings.documentation_url},
        "servers": [{"url": settings.issuer}],
        "tags": TAGS,
        "paths": {**oauth_paths(settings), **_partner_paths(), **documentation_paths()},
        "components": {
            "schemas": {**schemas(), **oauth_schemas()},
            "securitySchemes": {
                OAUTH_SCHEME: {
                    "type": "oauth2",
                    "description": "An access token from the client credentials grant, sent as "
                    "`Authorization: Bearer <token>` (never in the URL).",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": settings.token_endpoint,
                            "scopes": {scope.name: scope.description for scope in CATALOGUE},
                        }
                    },
                },
                BASIC_SCHEME: {
                    "type": "http",
                    "scheme": "basic",
                    "description": "`client_secret_basic`: client ID and secret, each "
                    "form-urlencoded, as the Basic user name and password (RFC 6749 §2.3.1).",
                },
            },
        },
    }

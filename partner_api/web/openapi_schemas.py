"""The Partner API's `components/schemas`: every resource, the request bodies and the one error
body (the OAuth 2.0 messages are in partner_api/web/openapi_oauth.py).

Response schemas list their required fields but stay open to new fields (clients must ignore
what they do not know); request bodies are closed (`additionalProperties: false`), as the
Partner API refuses unknown fields.
"""

from __future__ import annotations

from typing import Any

from partner_api.foundation.scopes import CATALOGUE

JSON = dict[str, Any]

UUID: JSON = {"type": "string", "format": "uuid"}
TIMESTAMP: JSON = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601, UTC, with an offset.",
}
NULLABLE_TIMESTAMP: JSON = {**TIMESTAMP, "type": ["string", "null"]}
# Text is trimmed before its length is checked, so it needs one character that is not a space.
NOT_BLANK: JSON = {"type": "string", "pattern": "\\S"}
ORDER_STATUSES = ["PENDING", "COMPLETED", "CANCELLED"]
PARTNER_ERROR_CODES = [
    "invalid_request",
    "missing_token",
    "invalid_token",
    "insufficient_scope",
    "insufficient_authorization",
    "not_found",
    "method_not_allowed",
    "conflict",
    "sold_out",
    "invalid_state",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "server_error",
]


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def object_schema(
    properties: JSON, *, required: list[str] | None = None, closed: bool = False
) -> JSON:
    schema: JSON = {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _page(item: str, *, paginated: bool) -> JSON:
    properties: JSON = {"data": {"type": "array", "items": ref(item)}}
    if paginated:
        properties["next_cursor"] = {
            "type": ["string", "null"],
            "description": "Pass as `cursor` for the next page; null on the last page.",
        }
    return object_schema(properties)


def _resources() -> JSON:
    money = object_schema(
        {
            "amount": {"type": "integer", "description": "In minor units (cents)."},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["EUR"]},
        }
    )
    return {
        "Money": money,
        "Event": object_schema(
            {
                "id": UUID,
                "name": {"type": "string"},
                "venue": {"type": "string"},
                "starts_at": TIMESTAMP,
                "ends_at": TIMESTAMP,
            }
        ),
        "Product": object_schema(
            {
                "id": UUID,
                "event_id": UUID,
                "name": {"type": "string"},
                "price": ref("Money"),
                "capacity": {"type": "integer", "minimum": 0},
                "available": {"type": "integer", "minimum": 0, "description": "Tickets left."},
            }
        ),
        "Customer": object_schema({"name": {"type": "string"}, "email": {"type": "string"}}),
        "OrderLine": object_schema(
            {
                "product_id": UUID,
                "quantity": {"type": "integer", "minimum": 1},
                "unit_price": ref("Money"),
            }
        ),
        "Order": object_schema(
            {
                "id": UUID,
                "event_id": UUID,
                "status": {"type": "string", "enum": ORDER_STATUSES},
                "customer": ref("Customer"),
                "external_reference": {"type": ["string", "null"]},
                "lines": {"type": "array", "items": ref("OrderLine")},
                "total": ref("Money"),
                "created_at": TIMESTAMP,
                "completed_at": NULLABLE_TIMESTAMP,
                "cancelled_at": NULLABLE_TIMESTAMP,
            }
        ),
        "Barcode": object_schema(
            {"code": {"type": "string"}, "product_id": UUID, "order_id": UUID},
        ),
        "EventPage": _page("Event", paginated=True),
        "OrderPage": _page("Order", paginated=True),
        "ProductList": _page("Product", paginated=False),
        "BarcodeList": _page("Barcode", paginated=False),
        "Me": object_schema(
            {
                "credential": object_schema(
                    {"id": UUID, "name": {"type": "string"}, "client_id": {"type": "string"}}
                ),
                "organisation": object_schema({"id": UUID, "name": {"type": "string"}}),
                "scopes": {
                    "type": "array",
                    "items": {"type": "string", "enum": [scope.name for scope in CATALOGUE]},
                    "description": "The scopes granted to the token used for this call.",
                },
                "event_ids": {
                    "type": ["array", "null"],
                    "items": UUID,
                    "description": "The events the token may reach now; null when it reaches "
                    "every event of your organisation (its credential is not limited to events "
                    "and it was not narrowed with `authorization_details`).",
                },
                "token": object_schema({"jti": {"type": "string"}, "expires_at": TIMESTAMP}),
            }
        ),
    }


def _requests() -> JSON:
    return {
        "ReservationLineInput": object_schema(
            {
                "product_id": {**UUID, "description": "A product of the reserved event."},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            closed=True,
        ),
        "CustomerInput": object_schema(
            {
                "name": {
                    **NOT_BLANK,
                    "minLength": 1,
                    "maxLength": 200,
                    "description": "The customer's name; not blank.",
                },
                "email": {
                    "type": "string",
                    "format": "email",
                    "maxLength": 254,
                    "pattern": "^[^@\\s]+@[^@\\s.]+(\\.[^@\\s.]+)+$",
                    "description": "The customer's e-mail address.",
                },
            },
            closed=True,
        ),
        "ReservationRequest": object_schema(
            {
                "event_id": UUID,
                "lines": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 20,
                    "items": ref("ReservationLineInput"),
                    "description": "One line per product; each product at most once.",
                },
                "customer": ref("CustomerInput"),
                "external_reference": {
                    **NOT_BLANK,
                    "type": ["string", "null"],
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "Your own reference for the order, not blank; omit it or "
                    "send null for none.",
                },
            },
            required=["event_id", "lines", "customer"],
            closed=True,
        ),
    }


def _errors() -> JSON:
    return {
        "Error": object_schema(
            {
                "error": {"type": "string", "enum": PARTNER_ERROR_CODES},
                "error_description": {"type": "string", "description": "For humans; may change."},
                "field": {
                    "type": "string",
                    "description": "Validation errors and `insufficient_authorization` only: "
                    "the JSON field or query parameter.",
                },
                "scope": {
                    "type": "string",
                    "description": "`insufficient_scope` only: the scope the endpoint needs.",
                },
            },
            required=["error", "error_description"],
        ),
    }


def schemas() -> JSON:
    return {**_resources(), **_requests(), **_errors()}

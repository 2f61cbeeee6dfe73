"""What a Partner API request may carry: query parameters (each at most once; page `limit` and
`cursor`, ISO 8601 timestamps), JSON bodies and the reservation body. Each refusal is an
`ApiError` 400 naming its field, or 413/415 for a body that is too large or not JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from starlette.requests import Request

from models.tenancy import parse_id
from partner_api.foundation.cursors import InvalidCursor, decode_cursor
from partner_api.foundation.request_body import FramingRefusal, framing_refusal, read_bounded
from partner_api.foundation.validation import EMAIL_MAX_LENGTH, InvalidInput, clean_email
from partner_api.ticketing.api_error import ApiError
from partner_api.ticketing.reservations import ReservationLine, ReservationRequest

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_BODY_BYTES = 16 * 1024
MAX_LINES = 20
MAX_QUANTITY = 50


def query_value(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ApiError(400, "invalid_request", f"Give {name} once.", name)
    return values[0] if values else None


def page_limit(request: Request) -> int:
    raw = query_value(request, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    # The length first: int() refuses more than 4,300 digits with a ValueError.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, "invalid_request", f"limit must be 1 to {MAX_LIMIT}.", "limit")
    return int(raw)


def page_cursor(request: Request) -> tuple[datetime, UUID] | None:
    raw = query_value(request, "cursor")
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except InvalidCursor:
        raise ApiError(
            400, "invalid_request", "Unknown cursor: use next_cursor.", "cursor"
        ) from None


def timestamp_value(request: Request, name: str) -> datetime | None:
    raw = query_value(request, name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("no offset")
        # Compared in UTC: SQLite compares timestamps as text.
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(
            400, "invalid_request", f"{name} must be ISO 8601 with a UTC offset.", name
        ) from None


def uuid_value(value: Any, field: str) -> UUID:
    parsed = parse_id(value) if isinstance(value, str) else None
    if parsed is None:
        raise ApiError(400, "invalid_request", f"{field} must be a UUID.", field)
    return parsed


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.")


async def json_body(request: Request) -> dict[str, Any]:
    refusal = framing_refusal(request.headers, "application/json", MAX_BODY_BYTES)
    if refusal is FramingRefusal.MEDIA_TYPE:
        raise ApiError(415, "unsupported_media_type", "Send a JSON body (application/json).")
    if refusal is FramingRefusal.INVALID_LENGTH:
        raise ApiError(
            400, "invalid_request", "Content-Length must be a number of bytes.", "Content-Length"
        )
    if refusal is FramingRefusal.TOO_LARGE:
        raise _too_large()
    body = await read_bounded(request.receive, MAX_BODY_BYTES)
    if body is None:
        raise _too_large()
    try:
        # orjson is strict where `json.loads` is lenient: it refuses NaN/Infinity and lone
        # surrogates (`"\ud800"`), which would otherwise fail later, as a 500, when the value is
        # encoded to UTF-8 (for the idempotency fingerprint or the database).
        parsed = orjson.loads(body)
    except ValueError:  # orjson.JSONDecodeError, including bytes that are not UTF-8
        raise ApiError(400, "invalid_request", "The body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return parsed


def _text(
    data: dict[str, Any], name: str, field: str, *, maximum: int, required: bool
) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= maximum:
        raise ApiError(400, "invalid_request", f"{field} must be 1 to {maximum} characters.", field)
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ApiError(
            400, "invalid_request", f"{field} must not contain control characters.", field
        )
    return value.strip()


def reservation_request(data: dict[str, Any]) -> ReservationRequest:
    unknown = set(data) - {"event_id", "lines", "customer", "external_reference"}
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, "invalid_request", f"Unknown field {name}.", name)
    event_id = uuid_value(data.get("event_id"), "event_id")
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not 1 <= len(raw_lines) <= MAX_LINES:
        raise ApiError(400, "invalid_request", f"lines must hold 1 to {MAX_LINES} items.", "lines")
    lines: list[ReservationLine] = []
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict) or set(raw) - {"product_id", "quantity"}:
            raise ApiError(
                400, "invalid_request", "Each line is {product_id, quantity}.", f"lines[{index}]"
            )
        product_id = uuid_value(raw.get("product_id"), f"lines[{index}].product_id")
        quantity = raw.get("quantity")
        if type(quantity) is float and quantity.is_integer():
            quantity = int(quantity)  # 38.0 is an integer to JSON Schema 2020-12
        if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
            raise ApiError(
                400,
                "invalid_request",
                f"quantity must be a whole number from 1 to {MAX_QUANTITY}.",
                f"lines[{index}].quantity",
            )
        if any(line.product_id == product_id for line in lines):
            raise ApiError(
                400,
                "invalid_request",
                "Each product once per reservation.",
                f"lines[{index}].product_id",
            )
        lines.append(ReservationLine(product_id=product_id, quantity=quantity))
    customer = data.get("customer")
    if not isinstance(customer, dict) or set(customer) - {"name", "email"}:
        raise ApiError(400, "invalid_request", "customer is {name, email}.", "customer")
    customer_name = _text(customer, "name", "customer.name", maximum=200, required=True)
    raw_email = _text(customer, "email", "customer.email", maximum=EMAIL_MAX_LENGTH, required=True)
    try:
        email = clean_email(raw_email or "")
    except InvalidInput:
        raise ApiError(
            400, "invalid_request", "customer.email must be an e-mail address.", "customer.email"
        ) from None
    reference = _text(data, "external_reference", "external_reference", maximum=100, required=False)
    return ReservationRequest(
        event_id=event_id,
        lines=lines,
        customer_name=customer_name or "",
        customer_email=email,
        external_reference=reference,
    )

"""The Partner API (`/partner/v1`): the resource server partners call with their access tokens.

Every handler receives the verified `Partner` (auth/resource_server.py) and reaches data only
through a `TenantScope` built from the token's organisation (RS-09): another organisation's ids
answer 404 exactly like unknown ones. Every 4xx has one body shape,
`{"error", "error_description", "field"?}`; every authenticated answer carries `RateLimit-*`
headers from the per-credential limit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from auth.resource_server import BearerError, Partner, ResourceServer, bearer_error_response
from auth.throttle import Usage, WindowCounter
from models.tenancy import TenantScope, parse_id
from models.ticketing import (
    Barcode,
    Event,
    IdempotentResponse,
    Order,
    OrderLine,
    OrderStatus,
    Product,
)
from partner_api.api_error import ApiError
from partner_api.clock import utcnow
from partner_api.cursors import InvalidCursor, decode_cursor, encode_cursor
from partner_api.database_unavailable import is_database_unavailable
from partner_api.json_response import JSONResponse, encode_headers
from partner_api.observability.metrics import ACCESS_TOKEN_VALID, count_access_token_refusal
from partner_api.request_body import read_bounded
from partner_api.reservations import (
    ReservationLine,
    ReservationRequest,
    cancel_reservation,
    complete_reservation,
    create_reservation,
)
from partner_api.validation import EMAIL_MAX_LENGTH, InvalidInput, clean_email

logger = logging.getLogger("partner_api.partner")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_BODY_BYTES = 16 * 1024
MAX_LINES = 20
MAX_QUANTITY = 50
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
NO_STORE = {"Cache-Control": "no-store"}
_NO_STORE = encode_headers(NO_STORE)

Handler = Callable[[Request, Partner], Awaitable[Response]]


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = {"error": code, "error_description": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=_NO_STORE)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "No such resource in your organisation.")


# -- serialisation -----------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "name": event.name,
        "venue": event.venue,
        "starts_at": _time(event.starts_at),
        "ends_at": _time(event.ends_at),
    }


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": str(product.id),
        "event_id": str(product.event_id),  # type: ignore[attr-defined]
        "name": product.name,
        "price": _money(product.price, product.currency),
        "capacity": product.capacity,
        "available": max(0, product.capacity - product.sold),
    }


async def orders_json(orders: list[Order]) -> list[dict[str, Any]]:
    """Orders with their lines, in two queries for the whole page."""
    lines: dict[UUID, list[OrderLine]] = {order.id: [] for order in orders}
    currencies: dict[UUID, str] = {}
    if orders:
        for line in await OrderLine.filter(order_id__in=list(lines)).order_by("id"):
            lines[line.order_id].append(line)  # type: ignore[attr-defined]
        product_ids = {line.product_id for group in lines.values() for line in group}  # type: ignore[attr-defined]
        for product in await Product.filter(id__in=list(product_ids)).only("id", "currency"):
            currencies[product.id] = product.currency
    result = []
    for order in orders:
        order_lines = lines[order.id]
        currency = currencies.get(order_lines[0].product_id, "EUR") if order_lines else "EUR"  # type: ignore[attr-defined]
        result.append(
            {
                "id": str(order.id),
                "event_id": str(order.event_id),  # type: ignore[attr-defined]
                "status": order.status.value,
                "customer": {"name": order.customer_name, "email": order.customer_email},
                "external_reference": order.external_reference,
                "lines": [
                    {
                        "product_id": str(line.product_id),  # type: ignore[attr-defined]
                        "quantity": line.quantity,
                        "unit_price": _money(line.unit_price, currency),
                    }
                    for line in order_lines
                ],
                "total": _money(
                    sum(line.quantity * line.unit_price for line in order_lines), currency
                ),
                "created_at": _time(order.created_at),
                "completed_at": _time(order.completed_at),
                "cancelled_at": _time(order.cancelled_at),
            }
        )
    return result


# -- request parsing ---------------------------------------------------------------------------


def _query(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ApiError(400, "invalid_request", f"Give {name} once.", name)
    return values[0] if values else None


def _limit(request: Request) -> int:
    raw = _query(request, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    # The length first: int() refuses more than 4,300 digits with a ValueError.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, "invalid_request", f"limit must be 1 to {MAX_LIMIT}.", "limit")
    return int(raw)


def _cursor(request: Request) -> tuple[datetime, UUID] | None:
    raw = _query(request, "cursor")
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except InvalidCursor:
        raise ApiError(
            400, "invalid_request", "Unknown cursor: use next_cursor.", "cursor"
        ) from None


def _timestamp(request: Request, name: str) -> datetime | None:
    raw = _query(request, name)
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


async def _json_body(request: Request) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send a JSON body (application/json).")
    body = await read_bounded(request.receive, MAX_BODY_BYTES)
    if body is None:
        raise ApiError(413, "payload_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.")
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


def _uuid(value: Any, field: str) -> UUID:
    parsed = parse_id(value) if isinstance(value, str) else None
    if parsed is None:
        raise ApiError(400, "invalid_request", f"{field} must be a UUID.", field)
    return parsed


def reservation_request(data: dict[str, Any]) -> ReservationRequest:
    unknown = set(data) - {"event_id", "lines", "customer", "external_reference"}
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, "invalid_request", f"Unknown field {name}.", name)
    event_id = _uuid(data.get("event_id"), "event_id")
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not 1 <= len(raw_lines) <= MAX_LINES:
        raise ApiError(400, "invalid_request", f"lines must hold 1 to {MAX_LINES} items.", "lines")
    lines: list[ReservationLine] = []
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict) or set(raw) - {"product_id", "quantity"}:
            raise ApiError(
                400, "invalid_request", "Each line is {product_id, quantity}.", f"lines[{index}]"
            )
        product_id = _uuid(raw.get("product_id"), f"lines[{index}].product_id")
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


# -- the API -----------------------------------------------------------------------------------


def _with_limits(response: Response, usage: Usage) -> Response:
    # Appended as raw headers: MutableHeaders' per-item assignment costs more than the rest.
    response.raw_headers.extend(
        (
            (b"ratelimit-limit", b"%d" % usage.limit),
            (b"ratelimit-remaining", b"%d" % max(0, usage.remaining)),
            (b"ratelimit-reset", b"%d" % usage.reset_seconds),
        )
    )
    return response


@lru_cache(maxsize=4096)
def _expiry_text(expires_at: int) -> str:
    """A token's `exp` as ISO 8601; the many calls with one token format it once."""
    return datetime.fromtimestamp(expires_at, UTC).isoformat()


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_NO_STORE)


class _Endpoint:
    """One Partner API route as a plain ASGI app rather than a Starlette function endpoint, whose
    wrapper adds a second exception-handling layer (and a send wrapper) to every request. That
    layer is not needed: expected refusals become responses here, and what escapes (a database
    outage) reaches the app's ExceptionMiddleware, which holds the same handlers."""

    __slots__ = ("_handler", "_rate_limit", "_required_scope", "_resource_server")

    def __init__(
        self,
        resource_server: ResourceServer,
        rate_limit: WindowCounter,
        required_scope: str | None,
        handler: Handler,
    ) -> None:
        self._resource_server = resource_server
        self._rate_limit = rate_limit
        self._required_scope = required_scope
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._respond(Request(scope, receive, send))
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            partner = await self._resource_server.authenticate(request)
        except BearerError as error:
            count_access_token_refusal(error.error)
            return bearer_error_response(error)
        ACCESS_TOKEN_VALID.inc()
        # Counted before the scope check: every authenticated answer carries the limits.
        usage = await self._rate_limit.hit(partner.credential.client_id)
        response: Response
        if usage.exceeded:
            response = error_response(429, "rate_limited", "Too many requests; slow down.")
            response.headers["Retry-After"] = str(usage.reset_seconds)
            return _with_limits(response, usage)
        if self._required_scope is not None:
            try:
                ResourceServer.require_scope(partner, self._required_scope)
            except BearerError as error:
                return _with_limits(bearer_error_response(error), usage)
        try:
            response = await self._handler(request, partner)
        except ApiError as error:
            response = error_response(error.status, error.code, error.message, error.field)
        except Exception as error:
            if is_database_unavailable(error):
                raise  # answered 503 by partner_api.database_unavailable
            logger.exception("unexpected fault in the Partner API")
            response = error_response(
                500, "server_error", "The server could not handle the request."
            )
        return _with_limits(response, usage)


class PartnerApi:
    def __init__(self, resource_server: ResourceServer, rate_limit: WindowCounter) -> None:
        self._resource_server = resource_server
        self._rate_limit = rate_limit

    def routes(self) -> list[Route]:
        def route(path: str, scope: str | None, handler: Handler, method: str = "GET") -> Route:
            endpoint = _Endpoint(self._resource_server, self._rate_limit, scope, handler)
            # Named as the function endpoints were named before (Starlette names a route after
            # its endpoint); the method list must be given, an ASGI endpoint would take any.
            return Route(f"/partner/v1{path}", endpoint, methods=[method], name="endpoint")

        return [
            route("/me", None, self.me),
            route("/events", "events:read", self.list_events),
            route("/events/{event_id}", "events:read", self.get_event),
            route("/events/{event_id}/products", "events:read", self.event_products),
            route("/orders", "orders:read", self.list_orders),
            route("/orders/{order_id}", "orders:read", self.get_order),
            route("/orders/{order_id}/barcodes", "barcodes:read", self.order_barcodes),
            route("/reservations", "orders:write", self.reserve, "POST"),
            route("/reservations/{order_id}/complete", "orders:write", self.complete, "POST"),
            route("/reservations/{order_id}/cancel", "orders:write", self.cancel, "POST"),
        ]

    @staticmethod
    def _scope(partner: Partner) -> TenantScope:
        return TenantScope(partner.organisation_id)

    async def me(self, request: Request, partner: Partner) -> Response:
        credential = partner.credential
        scopes = [name for name in credential.allowed_scopes() if name in partner.scopes]
        body = {
            "credential": {
                "id": credential.id_text,
                "name": credential.name,
                "client_id": credential.client_id,
            },
            "organisation": {
                "id": credential.organisation_id_text,
                "name": credential.organisation_name,
            },
            "scopes": scopes,
            "token": {
                "jti": partner.claims.jti,
                "expires_at": _expiry_text(partner.claims.expires_at),
            },
        }
        return _json(body)

    async def list_events(self, request: Request, partner: Partner) -> Response:
        limit, after = _limit(request), _cursor(request)
        query = self._scope(partner).events()
        if after is not None:
            moment, row_id = after
            query = query.filter(Q(starts_at__gt=moment) | Q(starts_at=moment, id__gt=row_id))
        rows = await query.order_by("starts_at", "id").limit(limit + 1)
        return _page([event_json(row) for row in rows[:limit]], rows, limit, "starts_at")

    async def get_event(self, request: Request, partner: Partner) -> Response:
        event = await self._scope(partner).event(request.path_params["event_id"])
        if event is None:
            raise _not_found()
        return _json(event_json(event))

    async def event_products(self, request: Request, partner: Partner) -> Response:
        scope = self._scope(partner)
        event = await scope.event(request.path_params["event_id"])
        if event is None:
            raise _not_found()
        products = await scope.products().filter(event_id=event.id).order_by("created_at", "id")
        return _json({"data": [product_json(product) for product in products]})

    async def list_orders(self, request: Request, partner: Partner) -> Response:
        limit, after = _limit(request), _cursor(request)
        query: QuerySet[Order] = self._scope(partner).orders()
        event_id = _query(request, "event_id")
        if event_id is not None:
            query = query.filter(event_id=_uuid(event_id, "event_id"))
        status = _query(request, "status")
        if status is not None:
            if status not in OrderStatus.__members__:
                raise ApiError(
                    400, "invalid_request", "status is PENDING, COMPLETED or CANCELLED.", "status"
                )
            query = query.filter(status=OrderStatus(status))
        completed_from = _timestamp(request, "completed_from")
        if completed_from is not None:
            query = query.filter(completed_at__gte=completed_from)
        completed_to = _timestamp(request, "completed_to")
        if completed_to is not None:
            query = query.filter(completed_at__lt=completed_to)
        if after is not None:
            moment, row_id = after
            query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=row_id))
        rows = await query.order_by("-created_at", "-id").limit(limit + 1)
        return _page(await orders_json(list(rows[:limit])), rows, limit, "created_at")

    async def get_order(self, request: Request, partner: Partner) -> Response:
        order = await self._scope(partner).order(request.path_params["order_id"])
        if order is None:
            raise _not_found()
        return _json((await orders_json([order]))[0])

    async def order_barcodes(self, request: Request, partner: Partner) -> Response:
        order = await self._scope(partner).order(request.path_params["order_id"])
        if order is None:
            raise _not_found()
        barcodes = await Barcode.filter(order_id=order.id).order_by("created_at", "code")
        return _json(
            {
                "data": [
                    {
                        "code": barcode.code,
                        "product_id": str(barcode.product_id),  # type: ignore[attr-defined]
                        "order_id": str(order.id),
                    }
                    for barcode in barcodes
                ]
            }
        )

    async def reserve(self, request: Request, partner: Partner) -> Response:
        data = await _json_body(request)
        # Checked before the Idempotency-Key fingerprint encodes it: a valid body is three levels
        # deep, while orjson accepts nesting (1024 levels) deeper than json.dumps can encode.
        parsed = reservation_request(data)

        async def work() -> tuple[int, Any]:
            order = await create_reservation(self._scope(partner), partner.credential.id, parsed)
            return 201, (await orders_json([order]))[0]

        return await _idempotent(request, partner, data, work)

    async def complete(self, request: Request, partner: Partner) -> Response:
        order_id = request.path_params["order_id"]

        async def work() -> tuple[int, Any]:
            order = await complete_reservation(self._scope(partner), order_id, now=utcnow())
            return 200, (await orders_json([order]))[0]

        return await _idempotent(request, partner, None, work)

    async def cancel(self, request: Request, partner: Partner) -> Response:
        order_id = request.path_params["order_id"]

        async def work() -> tuple[int, Any]:
            order = await cancel_reservation(self._scope(partner), order_id, now=utcnow())
            return 200, (await orders_json([order]))[0]

        return await _idempotent(request, partner, None, work)


def _page(items: list[dict[str, Any]], rows: Any, limit: int, time_field: str) -> Response:
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(getattr(last, time_field), last.id)
    return _json({"data": items, "next_cursor": next_cursor})


async def _idempotent(
    request: Request,
    partner: Partner,
    data: dict[str, Any] | None,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    """`Idempotency-Key`: the same key and request replay the stored answer; the same key with
    another request is a 409. The answer is stored in the same transaction as the change, so a
    retry after a lost response never repeats the change."""
    key = request.headers.get("idempotency-key")
    if key is None:
        status, body = await work()
        return _json(body, status)
    if _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise ApiError(
            400,
            "invalid_request",
            "Idempotency-Key is 1 to 255 printable characters.",
            "Idempotency-Key",
        )
    fingerprint = hashlib.sha256(
        json.dumps([request.method, request.url.path, data], sort_keys=True).encode()
    ).hexdigest()
    credential_id = partner.credential.id
    stored = await IdempotentResponse.get_or_none(credential_id=credential_id, key=key)
    if stored is None:
        try:
            async with in_transaction():
                status, body = await work()
                response = _json(body, status)
                # The rendered bytes are stored, so a replay is byte-identical to the original.
                await IdempotentResponse.create(
                    credential_id=credential_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status,
                    body=bytes(response.body).decode("utf-8"),
                )
            return response
        except IntegrityError:
            # A concurrent request with the same key won; answer as it did.
            stored = await IdempotentResponse.get_or_none(credential_id=credential_id, key=key)
            if stored is None:
                raise
    if stored.request_hash != fingerprint:
        raise ApiError(409, "conflict", "This Idempotency-Key was used for another request.")
    return Response(
        stored.body,
        status_code=stored.status_code,
        media_type="application/json",
        headers={**NO_STORE, "Idempotent-Replayed": "true"},
    )

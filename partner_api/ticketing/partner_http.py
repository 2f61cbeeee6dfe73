"""The Partner API (`/partner/v1`): the resource server partners call with their access tokens.

Every handler receives the verified `Partner` (auth/partners/resource_server.py) and reaches data
only
through a `TenantScope` built from the token's organisation and events (RS-09, ER-01): another
organisation's ids, and for a token limited to some events every other event's, answer 404
exactly like unknown ones. Each route is a `PartnerEndpoint` (token, rate limit, scope;
partner_endpoint.py); requests are read by partner_requests.py, answers written by
partner_responses.py, and writes made idempotent by idempotency.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.queryset import QuerySet

from auth.partners.access_tokens import effective_event_ids
from auth.partners.resource_server import Partner, ResourceServer
from auth.partners.usage_counts import UsageCounts
from models.driver_rows import CompiledRows, RowsQuery, driver_rows
from models.keyset import keyset_page
from models.tenancy import TenantScope
from models.ticketing import Barcode, Event, Order, OrderStatus
from partner_api.foundation.client_address import Network
from partner_api.foundation.clock import utcnow
from partner_api.foundation.throttle import WindowCounter
from partner_api.ticketing.api_error import ApiError
from partner_api.ticketing.idempotency import idempotent
from partner_api.ticketing.partner_endpoint import Handler, PartnerEndpoint
from partner_api.ticketing.partner_requests import (
    json_body,
    page_cursor,
    page_limit,
    query_value,
    reservation_request,
    timestamp_value,
    uuid_value,
)
from partner_api.ticketing.partner_responses import (
    EVENT_AT,
    EVENT_FIELDS,
    ORDER_AT,
    ORDER_FIELDS,
    event_json,
    event_row_json,
    expiry_text,
    json_answer,
    new_order_json,
    next_key,
    order_rows_json,
    orders_json,
    page,
    product_json,
)
from partner_api.ticketing.reservations import (
    cancel_reservation,
    complete_reservation,
    create_reservation,
)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "No such resource in your organisation.")


def _event_page(
    organisation_id: UUID,
    event_ids: tuple[str, ...] | None,
    at: datetime | None,
    _at_again: datetime | None,
    after_id: UUID | None,
    limit: int,
) -> RowsQuery:
    """A page of the events a partner may reach (TenantScope: its organisation, and its events
    when it is limited to some), after the cursor (`at`, `after_id`) when there is one. The
    cursor's time bound lets the index start at the cursor (models/keyset.py): without it
    PostgreSQL filtered every row before it (200,000 rows: ≈ 95 ms a page, not 0.1 ms)."""
    after = None if at is None or after_id is None else (at, after_id)
    query = TenantScope(organisation_id, event_ids).events()
    return (
        keyset_page(query, time_field="starts_at", after=after, oldest_first=True)
        .limit(limit)
        .values_list(*EVENT_FIELDS)
    )


_EVENT_PAGE = CompiledRows(Event, _event_page)


class PartnerApi:
    def __init__(
        self,
        resource_server: ResourceServer,
        rate_limit: WindowCounter,
        counts: UsageCounts,
        *,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self._resource_server = resource_server
        self._rate_limit = rate_limit
        self._counts = counts
        self._trusted_proxies = trusted_proxies

    def routes(self) -> list[Route]:
        def route(path: str, scope: str | None, handler: Handler, method: str = "GET") -> Route:
            endpoint = PartnerEndpoint(
                self._resource_server,
                self._rate_limit,
                scope,
                handler,
                # Usage is counted by route template, never by the concrete path.
                operation=f"{method} /partner/v1{path}",
                counts=self._counts,
                trusted_proxies=self._trusted_proxies,
            )
            # Named `endpoint`, as Starlette names a route whose endpoint is a function of that
            # name, not after the class; the method list must be given, an ASGI endpoint would
            # take any.
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
        return TenantScope(partner.organisation_id, partner.event_ids)

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
            # null: every event of the organisation.
            "event_ids": effective_event_ids(partner.claims),
            "token": {
                "jti": partner.claims.jti,
                "expires_at": expiry_text(partner.claims.expires_at),
            },
        }
        return json_answer(body)

    async def list_events(self, request: Request, partner: Partner) -> Response:
        limit, after = page_limit(request), page_cursor(request)
        event_ids = partner.event_ids
        at, after_id = (None, None) if after is None else after
        # In the order of the SQL's parameters (`_event_page`): the cursor's time twice.
        rows = await _EVENT_PAGE.fetch(
            partner.organisation_id,
            None if event_ids is None else tuple(event_ids),
            at,
            at,
            after_id,
            limit + 1,
        )
        items = [event_row_json(row) for row in rows[:limit]]
        return page(items, next_key(rows, limit, EVENT_AT))

    async def get_event(self, request: Request, partner: Partner) -> Response:
        event = await self._scope(partner).event(request.path_params["event_id"])
        if event is None:
            raise _not_found()
        return json_answer(event_json(event))

    async def event_products(self, request: Request, partner: Partner) -> Response:
        scope = self._scope(partner)
        event = await scope.event(request.path_params["event_id"])
        if event is None:
            raise _not_found()
        products = await scope.products().filter(event_id=event.id).order_by("created_at", "id")
        return json_answer({"data": [product_json(product) for product in products]})

    async def list_orders(self, request: Request, partner: Partner) -> Response:
        limit, after = page_limit(request), page_cursor(request)
        query: QuerySet[Order] = self._scope(partner).orders()
        event_id = query_value(request, "event_id")
        if event_id is not None:
            query = query.filter(event_id=uuid_value(event_id, "event_id"))
        status = query_value(request, "status")
        if status is not None:
            if status not in OrderStatus.__members__:
                raise ApiError(
                    400, "invalid_request", "status is PENDING, COMPLETED or CANCELLED.", "status"
                )
            query = query.filter(status=OrderStatus(status))
        completed_from = timestamp_value(request, "completed_from")
        if completed_from is not None:
            query = query.filter(completed_at__gte=completed_from)
        completed_to = timestamp_value(request, "completed_to")
        if completed_to is not None:
            query = query.filter(completed_at__lt=completed_to)
        rows = await driver_rows(
            keyset_page(query, time_field="created_at", after=after)
            .limit(limit + 1)
            .values_list(*ORDER_FIELDS)
        )
        items = await order_rows_json(rows[:limit])
        return page(items, next_key(rows, limit, ORDER_AT))

    async def get_order(self, request: Request, partner: Partner) -> Response:
        order = await self._scope(partner).order(request.path_params["order_id"])
        if order is None:
            raise _not_found()
        return json_answer((await orders_json([order]))[0])

    async def order_barcodes(self, request: Request, partner: Partner) -> Response:
        order = await self._scope(partner).order(request.path_params["order_id"])
        if order is None:
            raise _not_found()
        barcodes = await Barcode.filter(order_id=order.id).order_by("created_at", "code")
        return json_answer(
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
        data = await json_body(request)
        # Checked before the Idempotency-Key fingerprint encodes it: a valid body is three levels
        # deep, while orjson accepts nesting (1024 levels) deeper than json.dumps can encode.
        parsed = reservation_request(data)
        allowed = partner.event_ids
        if allowed is not None and str(parsed.event_id) not in allowed:
            # Decided from the token alone, before any read or write: the same answer for an
            # event of the organisation outside the token's events, another organisation's
            # event and an unknown id, and no stock is touched.
            raise ApiError(
                403,
                "insufficient_authorization",
                "This token is not authorised for that event.",
                "event_id",
            )

        async def work() -> tuple[int, Any]:
            order, lines = await create_reservation(
                self._scope(partner), partner.credential.id, parsed
            )
            return 201, new_order_json(order, lines)

        return await idempotent(request, partner, data, work)

    async def complete(self, request: Request, partner: Partner) -> Response:
        order_id = request.path_params["order_id"]

        async def work() -> tuple[int, Any]:
            order = await complete_reservation(self._scope(partner), order_id, now=utcnow())
            return 200, (await orders_json([order]))[0]

        return await idempotent(request, partner, None, work)

    async def cancel(self, request: Request, partner: Partner) -> Response:
        order_id = request.path_params["order_id"]

        async def work() -> tuple[int, Any]:
            order = await cancel_reservation(self._scope(partner), order_id, now=utcnow())
            return 200, (await orders_json([order]))[0]

        return await idempotent(request, partner, None, work)

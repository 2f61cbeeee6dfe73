"""One Partner API route as an ASGI app: the bearer token verified (RFC 6750 §3 refusals), the
credential's rate limit counted, the route's scope required, then the handler. Every
authenticated answer carries `RateLimit-*` headers, refusals and faults included."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from auth.partners.resource_server import (
    BearerError,
    Partner,
    ResourceServer,
    bearer_error_response,
)
from partner_api.foundation.asgi_endpoint import AsgiEndpoint
from partner_api.foundation.metrics import ACCESS_TOKEN_VALID, count_access_token_refusal
from partner_api.foundation.throttle import Usage, WindowCounter
from partner_api.ticketing.api_error import ApiError
from partner_api.ticketing.partner_responses import error_response

logger = logging.getLogger("partner_api.partner")

Handler = Callable[[Request, Partner], Awaitable[Response]]


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


class PartnerEndpoint(AsgiEndpoint):
    __slots__ = ("_handler", "_rate_limit", "_required_scope", "_resource_server")

    logger = logger
    fault_message = "unexpected fault in the Partner API"

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

    async def respond(self, request: Request) -> Response:
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
            response = self.fault(error)
        return _with_limits(response, usage)

    def fault_response(self) -> Response:
        return error_response(500, "server_error", "The server could not handle the request.")

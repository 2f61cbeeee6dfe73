"""One Partner API route as an ASGI app: the bearer token verified (RFC 6750 §3 refusals), the
credential's rate limit counted, the route's scope required, then the handler. Every
authenticated answer carries `RateLimit-*` headers, refusals and faults included.

The rate limit is the credential's own (auth/partners/credential_limits.py). Over it, a credential
in ENFORCE mode is refused with 429; one in MONITOR mode is answered as usual, its headers showing
the limit and nothing remaining, and the call counted as WOULD_LIMIT. Every authenticated answer
is counted for the credential's usage under the route's template (auth/partners/usage_counts.py),
once its status is known: a few dict operations, no await."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response

from auth.partners.credential_directory import CredentialState
from auth.partners.resource_server import (
    BearerError,
    Partner,
    ResourceServer,
    bearer_error_response,
)
from auth.partners.usage_counts import UsageCounts
from models.usage import UsageMetric
from partner_api.foundation.asgi_endpoint import AsgiEndpoint
from partner_api.foundation.client_address import Network, client_address
from partner_api.foundation.database_unavailable import is_database_unavailable
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
    __slots__ = (
        "_counts",
        "_handler",
        "_operation",
        "_rate_limit",
        "_required_scope",
        "_resource_server",
        "_trusted_proxies",
    )

    logger = logger
    fault_message = "unexpected fault in the Partner API"

    def __init__(
        self,
        resource_server: ResourceServer,
        rate_limit: WindowCounter,
        required_scope: str | None,
        handler: Handler,
        *,
        operation: str,
        counts: UsageCounts,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        """`operation`: the route template calls are counted under ("GET /partner/v1/orders/
        {order_id}"), never the concrete path."""
        self._resource_server = resource_server
        self._rate_limit = rate_limit
        self._required_scope = required_scope
        self._handler = handler
        self._operation = operation
        self._counts = counts
        self._trusted_proxies = trusted_proxies

    def _count(
        self, request: Request, credential: CredentialState, status: int, code: str | None
    ) -> None:
        counts = self._counts
        if counts.enabled:
            address = client_address(request, self._trusted_proxies)
            counts.call(credential, self._operation, status, address, code)

    async def respond(self, request: Request) -> Response:
        try:
            partner = await self._resource_server.authenticate(request)
        except BearerError as error:
            count_access_token_refusal(error.error)
            return bearer_error_response(error)
        ACCESS_TOKEN_VALID.inc()
        credential = partner.credential
        # Counted before the scope check: every authenticated answer carries the limits.
        usage = await self._rate_limit.hit(credential.client_id, credential.rate_limit_per_minute)
        response: Response
        if usage.exceeded:
            if credential.monitor_only:
                self._counts.event(credential, UsageMetric.WOULD_LIMIT, operation=self._operation)
            else:
                self._counts.event(credential, UsageMetric.RATE_LIMITED, operation=self._operation)
                self._count(request, credential, 429, "rate_limited")
                response = error_response(429, "rate_limited", "Too many requests; slow down.")
                response.headers["Retry-After"] = str(usage.reset_seconds)
                return _with_limits(response, usage)
        if self._required_scope is not None:
            try:
                ResourceServer.require_scope(partner, self._required_scope)
            except BearerError as error:
                response = bearer_error_response(error)
                self._count(request, credential, response.status_code, error.error)
                return _with_limits(response, usage)
        code: str | None = None
        try:
            response = await self._handler(request, partner)
        except ApiError as error:
            response = error_response(error.status, error.code, error.message, error.field)
            code = error.code
        except Exception as error:
            if is_database_unavailable(error):
                self._count(request, credential, 503, "temporarily_unavailable")
            response = self.fault(error)
            code = "server_error"
        self._count(request, credential, response.status_code, code)
        return _with_limits(response, usage)

    def fault_response(self) -> Response:
        return error_response(500, "server_error", "The server could not handle the request.")

"""The request middleware: request id, security headers, latency histogram, access log line.

A pure ASGI callable (no `BaseHTTPMiddleware`, which costs a task and a stream per request):
it takes or makes the request id, sets it for the logs, and when the response starts gives it
one new header list: the app's headers, the security headers they lack
(partner_api/web/security_headers.py) and `X-Request-Id`. One layer and one list per response, so
the partners' hot paths do not pay a send wrapper per concern. When the response is done it
observes the latency under the matched route's *template* (`/partner/v1/orders/{order_id}`, or
`unmatched`) and writes one access line; an app that raises before answering counts as 500.

Access lines: a request answered below 400 is logged at DEBUG, a 4xx at INFO, a 5xx at
WARNING. At the default INFO level the hot paths (token issued, Partner API call answered) pay
nothing for logging; refusals, which an operator investigates, are always there. A line holds the
method, route template, path (never the query string, which a client may misuse for a secret),
status, duration and client address — never headers or bodies (SECURITY.md LG-02).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from time import perf_counter

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partner_api.foundation.client_address import Network, client_address
from partner_api.foundation.instruments import Timing
from partner_api.foundation.metrics import REQUEST_DURATION
from partner_api.web.observability.request_id import HEADER, current_request_id, request_id_from
from partner_api.web.security_headers import SecurityHeaderPolicy

access_logger = logging.getLogger("partner_api.access")

UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUS_CLASSES = ("1xx", "1xx", "2xx", "3xx", "4xx", "5xx")
MAX_LOGGED_PATH = 256


def _status_class(status: int) -> str:
    index = status // 100
    return STATUS_CLASSES[index] if 0 < index < len(STATUS_CLASSES) else "5xx"


def _access_level(status: int) -> int:
    if status >= 500:
        return logging.WARNING
    return logging.INFO if status >= 400 else logging.DEBUG


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        security_headers: SecurityHeaderPolicy,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.app = app
        self._with_security_headers = security_headers.with_security_headers
        self._trusted_proxies = trusted_proxies
        # (route template, method, status // 100) -> histogram child; the set is bounded by the
        # routes, the known methods and the status classes.
        self._durations: dict[tuple[str, str, int], Timing] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        id_header = (HEADER, request_id.encode("ascii"))
        with_security_headers = self._with_security_headers
        status = 500  # what the client gets when the app raises before answering

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_security_headers(message.get("headers", ()), id_header)
            await send(message)

        context = current_request_id.set(request_id)
        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            if method not in KNOWN_METHODS:
                method = "OTHER"
            child = self._durations.get((route, method, status // 100))
            if child is None:
                child = self._new_duration(route, method, status)
            child.observe(elapsed)
            level = _access_level(status)
            if access_logger.isEnabledFor(level):
                self._log_access(scope, level, route, method, status, elapsed)
            current_request_id.reset(context)

    def _new_duration(self, route: str, method: str, status: int) -> Timing:
        child = self._durations[(route, method, status // 100)] = REQUEST_DURATION.labels(
            route, method, _status_class(status)
        )
        return child

    def _log_access(
        self, scope: Scope, level: int, route: str, method: str, status: int, elapsed: float
    ) -> None:
        path = scope.get("path", "")[:MAX_LOGGED_PATH]
        access_logger.log(
            level,
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "client": client_address(HTTPConnection(scope), self._trusted_proxies),
            },
        )

"""The partners' endpoints (OAuth and Partner API) as plain ASGI apps.

A Starlette function endpoint is wrapped in `request_response`, which adds a second
exception-handling layer (and a send wrapper) to every request. These endpoints do without it:
expected refusals become responses in `respond`, and what escapes (a database outage) reaches the
app's ExceptionMiddleware, which holds the same handlers. One rule for unexpected faults
(`fault`) keeps them answering alike: a database outage propagates, to be answered 503 by
partner_api.foundation.database_unavailable; anything else is logged with its traceback, never
sent, and
answered with the endpoint's generic 500 body (LG-03).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from partner_api.foundation.database_unavailable import is_database_unavailable


class AsgiEndpoint:
    """One route's endpoint: `respond` answers the request, built once per call. Subclasses name
    their `logger` and `fault_message`, and give `fault_response`, the generic 500."""

    __slots__ = ()

    logger: ClassVar[logging.Logger]
    fault_message: ClassVar[str]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive, send))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        raise NotImplementedError

    def fault(self, error: Exception) -> Response:
        """The answer to an unexpected exception, for `respond`'s `except Exception`."""
        if is_database_unavailable(error):
            self.database_unavailable()
            raise error
        self.logger.exception(self.fault_message)
        return self.fault_response()

    def database_unavailable(self) -> None:
        """Called before a database outage propagates (to be counted, say)."""

    def fault_response(self) -> Response:
        raise NotImplementedError

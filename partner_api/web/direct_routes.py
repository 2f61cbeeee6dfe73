"""The partners' hot paths answered without Starlette's router and exception middleware.

Every request below the app's own middleware goes through ExceptionMiddleware (a Request, a
send wrapper and a handler closure per request) and the Router (each route's regular expression
tried in turn, a child scope built for the match). For `POST /oauth/token` and
`GET /partner/v1/me` that is about a tenth of what the request costs in-process. `DirectRoutes`
sits where ExceptionMiddleware would be entered and answers a request for one of the given
routes itself, when its path is one of theirs exactly (no path parameters, no `root_path`) and
its method is one the route takes; anything else goes on to the router unchanged, so a wrong
method still gets the router's 405.

What the skipped layers did is kept: the scope carries `route`, `endpoint` and `path_params` as
the router sets them (the latency histogram reads the route's template), and an exception the
endpoint raises is answered by the app's handler for its type, looked up through the
exception's class hierarchy as ExceptionMiddleware does, unless the response has started (then,
as there, it propagates). An exception with no handler propagates to ServerErrorMiddleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


class DirectRoutes:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[Route],
        exception_handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.app = app
        for route in routes:
            if route.param_convertors:
                raise ValueError(f"{route.path} has path parameters: leave it to the router")
        self._routes = {route.path: route for route in routes}
        self._handlers = {
            kind: handler
            for kind, handler in exception_handlers.items()
            if isinstance(kind, type) and issubclass(kind, Exception)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self._routes.get(scope["path"])
            if route is not None and (route.methods is None or scope["method"] in route.methods):
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = {}
                await self._answer(route.app, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive, sender)
        except Exception as error:
            handler = self._handler_for(error)
            if handler is None:
                raise
            if started:
                raise RuntimeError(
                    "Caught handled exception, but response already started."
                ) from error
            response = await handler(Request(scope, receive), error)
            await response(scope, receive, send)

    def _handler_for(self, error: Exception) -> ExceptionHandler | None:
        for kind in type(error).__mro__:
            handler = self._handlers.get(kind)
            if handler is not None:
                return handler
        return None

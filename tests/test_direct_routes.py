"""partner_api/web/direct_routes.py answers the hot paths as the router and the exception
middleware would have: same scope, same handlers, and everything else left to the router."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from partner_api.web.direct_routes import DirectRoutes


class Unavailable(Exception):
    pass


class Unreachable(Unavailable):
    pass


class Seen:
    """An ASGI app (a class instance, as the service's endpoints are: Starlette wraps a function
    in request/response) that records the scopes it is called with."""

    def __init__(self, endpoint: object) -> None:
        self.scopes: list[Scope] = []
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await self._endpoint(scope, receive, send)  # type: ignore[operator]


async def answer_503(request: Request, error: Exception) -> Response:
    return PlainTextResponse(f"503 for {type(error).__name__}", status_code=503)


def build(endpoint: object, *, methods: list[str] | None = None) -> tuple[Starlette, Seen]:
    seen = Seen(endpoint)
    hot = [Route("/hot", seen, methods=methods)]
    handlers = {Unavailable: answer_503}
    return (
        Starlette(
            routes=[*hot, Route("/other/{name}", seen)],
            exception_handlers=handlers,
            middleware=[Middleware(DirectRoutes, routes=hot, exception_handlers=handlers)],
        ),
        seen,
    )


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("ok")(scope, receive, send)


async def call(app: Starlette, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


async def test_a_hot_path_gets_the_scope_the_router_would_give() -> None:
    app, seen = build(ok, methods=["GET"])

    response = await call(app, "GET", "/hot")

    assert response.text == "ok"
    (scope,) = seen.scopes
    assert scope["route"].path == "/hot"
    assert scope["path_params"] == {}
    assert "router" not in scope, "answered before the router"


async def test_a_method_the_route_does_not_take_is_the_routers_405() -> None:
    app, seen = build(ok, methods=["GET"])

    response = await call(app, "POST", "/hot")

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert seen.scopes == []


async def test_an_exception_is_answered_by_the_handler_for_its_class_or_a_base() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise Unreachable

    app, _ = build(failing)

    response = await call(app, "GET", "/hot")

    assert (response.status_code, response.text) == (503, "503 for Unreachable")


async def test_an_exception_without_a_handler_is_the_apps_500() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("boom")

    app, _ = build(failing)

    assert (await call(app, "GET", "/hot")).status_code == 500


async def test_an_exception_after_the_response_started_is_not_answered_twice() -> None:
    async def half(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise Unavailable

    hot = Route("/hot", Seen(half))

    with pytest.raises(RuntimeError, match="response already started"):
        await DirectRoutes(ok, routes=[hot], exception_handlers={Unavailable: answer_503})(
            {"type": "http", "path": "/hot", "method": "GET", "headers": []},
            _no_body,
            _discard,
        )


async def test_other_paths_and_a_root_path_go_to_the_router() -> None:
    app, seen = build(ok)

    assert (await call(app, "GET", "/other/x")).text == "ok"
    assert seen.scopes[-1]["path_params"] == {"name": "x"}
    assert "router" in seen.scopes[-1]


def test_a_route_with_path_parameters_is_refused() -> None:
    with pytest.raises(ValueError, match="path parameters"):
        DirectRoutes(ok, routes=[Route("/orders/{id}", Seen(ok))], exception_handlers={})


async def test_under_a_root_path_the_router_decides() -> None:
    app, seen = build(ok)
    sent: list[dict[str, object]] = []

    async def keep(message: dict[str, object]) -> None:
        sent.append(message)

    await app(
        {
            "type": "http",
            "path": "/hot",
            "root_path": "/mounted",
            "method": "GET",
            "headers": [],
            "query_string": b"",
        },
        _no_body,
        keep,  # type: ignore[arg-type]
    )

    assert seen.scopes
    assert all("router" in scope for scope in seen.scopes)


async def _no_body() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: object) -> None:
    return None

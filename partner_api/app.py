"""`create_app(settings)`: the one place the Starlette application is assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from auth.keyed_hash import KeyedHasher
from auth.sessions import SessionAuthenticator
from auth.throttle import InMemoryFailureCounter
from partner_api import log_redaction
from partner_api.database import database_is_reachable, ensure_sqlite_directory, tortoise_config
from partner_api.graphql_endpoint import AdminGraphQL
from partner_api.services import Services
from partner_api.settings import Settings
from schema.root import build_schema


def build_services(settings: Settings) -> Services:
    window = settings.login_throttle_window_seconds
    return Services(
        settings=settings,
        hasher=KeyedHasher(settings.secret_peppers),
        authenticator=SessionAuthenticator(),
        login_failures_by_account=InMemoryFailureCounter(
            limit=settings.login_max_failures_per_account, window_seconds=window
        ),
        login_failures_by_address=InMemoryFailureCounter(
            limit=settings.login_max_failures_per_address, window_seconds=window
        ),
    )


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The process can reach its database."""
    if await database_is_reachable():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


def create_app(settings: Settings, *, manage_database: bool = True) -> Starlette:
    """Build the app. With `manage_database=False` the caller owns the Tortoise context (tests)."""
    log_redaction.install()
    services = build_services(settings)
    schema = build_schema(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        introspection=settings.introspection,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        ensure_sqlite_directory(settings.database_url)
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            yield

    app = Starlette(
        routes=[
            Route("/graphql", AdminGraphQL(schema, services), methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app

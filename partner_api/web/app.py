"""`create_app(settings)`: the one place the Starlette application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from auth.admins.login_throttle import login_throttle
from auth.admins.platform_identity import admin_authenticator
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.key_fingerprints import verify_key_material
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.resource_server import ResourceServer
from partner_api.foundation import database_unavailable
from partner_api.foundation.database import ensure_sqlite_directory, schema_lock, tortoise_config
from partner_api.foundation.error_body import error_body
from partner_api.foundation.json_response import JSONResponse
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import counter_factory
from partner_api.operations.notification_worker import run_notification_work
from partner_api.operations.services import Services
from partner_api.ticketing.partner_http import PartnerApi
from partner_api.web import log_redaction
from partner_api.web.admin_page import admin_page_routes
from partner_api.web.direct_routes import DirectRoutes
from partner_api.web.docs_page import documentation_routes
from partner_api.web.graphiql_page import GraphiQLPage
from partner_api.web.graphql_endpoint import AdminGraphQL
from partner_api.web.oauth_http import OAuthEndpoints
from partner_api.web.observability.metrics_endpoint import MetricsListener, metrics_routes
from partner_api.web.observability.middleware import ObservabilityMiddleware
from partner_api.web.observability.readiness import Readiness
from partner_api.web.secret_scanning import secret_scanning_routes
from partner_api.web.security_headers import SecurityHeaderPolicy
from schema.root import build_schema

HOUSEKEEPING_INTERVAL_SECONDS = 5.0
HOT_PATHS = frozenset({"/partner/v1/me", "/oauth/token"})
logger = logging.getLogger("partner_api")


def build_services(settings: Settings) -> Services:
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    counters = counter_factory(redis)
    hasher = KeyedHasher(settings.secret_peppers)
    return Services(
        settings=settings,
        hasher=hasher,
        authenticator=admin_authenticator(settings),
        login_throttle=login_throttle(settings, counters, redis),
        authorization_server=AuthorizationServer(settings, hasher, counters, redis=redis),
        partner_rate_limit=counters(
            name="partner-api-rate",
            limit=settings.partner_rate_limit_per_minute,
            window_seconds=60,
        ),
        redis=redis,
    )


async def _housekeeping(server: AuthorizationServer) -> None:
    """Flush usage/audit aggregates, apply the change feed, prune, keep the JWKS current."""
    while True:
        await asyncio.sleep(HOUSEKEEPING_INTERVAL_SECONDS)
        try:
            await server.feed.sync()
            await server.housekeeping()
        except Exception:
            logger.exception("housekeeping failed; retrying")


async def _count_usage(server: AuthorizationServer, interval_seconds: float) -> None:
    """Add the usage counted in this process to the database every `interval_seconds`
    (settings.usage.flush_seconds), and sweep old usage; a last flush runs on shutdown."""
    while True:
        await asyncio.sleep(interval_seconds)
        await server.counts.housekeeping()


async def http_error(request: Request, error: Exception) -> Response:
    """Unknown paths and wrong methods answer in the one JSON error shape, not plain text."""
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "invalid_request")
    return JSONResponse(
        error_body(code, error.detail),
        status_code=error.status_code,
        headers={**(error.headers or {}), "Cache-Control": "no-store"},
    )


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, manage_database: bool = True) -> Starlette:
    """Build the app. With `manage_database=False` the caller owns the Tortoise context (tests)."""
    log_redaction.install()
    services = build_services(settings)
    schema = build_schema(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_cost=settings.graphql_max_cost,
        page_size_max=settings.page_size_max,
        introspection=settings.introspection,
    )

    server = services.authorization_server
    # Off (production's default): no IDE page on GET /graphql and no route to its files.
    graphiql = GraphiQLPage() if settings.graphiql else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        ensure_sqlite_directory(settings.database_url)
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            # `partner-api serve` has checked already; this holds for an app started any other
            # way (`uvicorn partner_api.web.asgi:app`), so no process serves with foreign keys.
            async with schema_lock(settings.database_url):
                await verify_key_material(settings)
            await server.ensure_started()
            # Everything built at start (schema, models, keys) lives as long as the process:
            # keep it out of the garbage collector's full passes, which otherwise stall requests.
            gc.collect()
            gc.freeze()
            listener = None
            if settings.metrics_port is not None:
                listener = MetricsListener(settings.metrics_host, settings.metrics_port)
                listener.start()
            task = asyncio.create_task(_housekeeping(server))
            counting = asyncio.create_task(
                _count_usage(server, float(settings.usage.flush_seconds))
            )
            # Webhooks go out (and time-based notifications are recorded) from every serving
            # process unless separate `partner-api worker` processes do it; on shutdown the
            # attempts in flight finish first.
            stop_delivering = asyncio.Event()
            delivering = (
                asyncio.create_task(run_notification_work(settings, stop_delivering))
                if settings.webhooks.embedded
                else None
            )
            try:
                yield
            finally:
                if listener is not None:
                    listener.stop()
                stop_delivering.set()
                if delivering is not None:
                    await delivering
                for periodic in (task, counting):
                    periodic.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await periodic
                await server.housekeeping(force=True)
                await server.counts.flush()
                if services.redis is not None:
                    await services.redis.aclose()

    partner_routes = [
        *PartnerApi(
            ResourceServer(server, trusted_proxies=settings.trusted_proxies),
            services.partner_rate_limit,
            server.counts,
            trusted_proxies=settings.trusted_proxies,
        ).routes(),
        *OAuthEndpoints(server, settings).routes(),
    ]
    hot_routes = [route for route in partner_routes if route.path in HOT_PATHS]
    # An unreachable database answers 503, not 500 (docs/faults.md).
    exception_handlers = {HTTPException: http_error, **database_unavailable.exception_handlers()}
    app = Starlette(
        # The partners' hot paths first, then the rest of their API: Starlette tries routes in
        # order, a regular expression each (no two of these paths overlap, so order is speed only).
        # DirectRoutes answers the hot paths before the router; the router still holds them for
        # what it leaves (a method they do not take).
        routes=[
            *hot_routes,
            *(route for route in partner_routes if route.path not in HOT_PATHS),
            Route(
                "/graphql",
                AdminGraphQL(schema, services, graphiql=graphiql),
                methods=["GET", "POST"],
            ),
            *(graphiql.routes() if graphiql is not None else []),
            *secret_scanning_routes(services),
            *documentation_routes(settings),
            *admin_page_routes(settings),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", Readiness(redis=services.redis).endpoint, methods=["GET"]),
            *metrics_routes(settings),
        ],
        lifespan=lifespan,
        exception_handlers=exception_handlers,
        middleware=[
            # Outermost: the request id covers, and the latency includes, everything below. The
            # same layer adds the security headers, in its one pass over each response's headers.
            Middleware(
                ObservabilityMiddleware,
                security_headers=SecurityHeaderPolicy(
                    hsts_seconds=settings.hsts_seconds if settings.production else 0
                ),
                trusted_proxies=settings.trusted_proxies,
            ),
            Middleware(DirectRoutes, routes=hot_routes, exception_handlers=exception_handlers),
        ],
    )
    app.state.services = services
    return app

"""Where Prometheus reads the metrics, and who may.

- Main port, `GET /metrics`: in development always there, behind `PARTNER_API_METRICS_TOKEN` when
  one is set; in production only when a token is set — without one the path answers 404 like any
  unknown path, so an exposed port reveals nothing.
- Internal listener, `PARTNER_API_METRICS_PORT` on `PARTNER_API_METRICS_HOST` (default
  127.0.0.1): no token, for a scraper on the host or the private network. It is a small threaded
  HTTP server (prometheus_client's) inside the serving process, so it binds once per process:
  `partner-api serve --workers N` refuses it for N > 1.
"""

from __future__ import annotations

import hmac
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CONTENT_TYPE_LATEST, start_http_server
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from partner_api.foundation.error_body import error_body
from partner_api.foundation.metrics import REGISTRY, exposition
from partner_api.foundation.settings import Settings

CHALLENGE = 'Bearer realm="metrics"'
NO_STORE = {"Cache-Control": "no-store"}


class MetricsEndpoint:
    """`GET /metrics`, with the bearer token compared in constant time when one is configured."""

    def __init__(self, token: str | None) -> None:
        self._expected = None if token is None else f"Bearer {token}".encode()

    async def endpoint(self, request: Request) -> Response:
        if self._expected is not None:
            presented = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(presented, self._expected):
                return JSONResponse(
                    error_body("invalid_token", "A valid metrics token is required."),
                    status_code=401,
                    headers={**NO_STORE, "WWW-Authenticate": CHALLENGE},
                )
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)


def metrics_routes(settings: Settings) -> list[Route]:
    if settings.production and settings.metrics_token is None:
        return []
    return [Route("/metrics", MetricsEndpoint(settings.metrics_token).endpoint, methods=["GET"])]


class MetricsListener:
    """The internal listener: started with the app (lifespan), stopped with it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind and serve in a daemon thread; returns the bound port (useful with port 0)."""
        self._server, self._thread = start_http_server(self.port, addr=self.host, registry=REGISTRY)
        return int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

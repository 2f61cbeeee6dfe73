"""The admin GraphQL endpoint (`POST /graphql`; GraphiQL on `GET /graphql` outside production).

Requests are refused before reaching GraphQL unless they are a JSON POST (CSRF: a cross-site form
cannot send `application/json` without a preflight, and the session cookie is SameSite=Strict) or,
when GraphiQL is enabled, a browser's GET for the IDE page: our own page
(partner_api/web/graphiql_page.py), which loads nothing from another origin, not Strawberry's.
Queries and mutations are never run via GET. A request with more than one Authorization header is
refused (400) before anyone is authenticated.
"""

from __future__ import annotations

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from partner_api.foundation.client_address import client_address
from partner_api.foundation.request_body import FramingRefusal, framing_refusal, read_bounded
from partner_api.foundation.request_headers import RepeatedHeader, single_header
from partner_api.operations.services import Services
from partner_api.web.graphiql_page import GraphiQLPage
from schema.context import Context

MAX_BODY_BYTES = 64 * 1024


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


class AdminGraphQL(GraphQL[Context, None]):
    """`graphiql` is the IDE page answered to a browser's GET, or None where it is off."""

    def __init__(
        self, schema: strawberry.Schema, services: Services, *, graphiql: GraphiQLPage | None
    ) -> None:
        super().__init__(
            schema, graphql_ide=None, allow_queries_via_get=False, multipart_uploads_enabled=False
        )
        self.services = services
        self.graphiql = graphiql

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        # Answers can carry a client secret (create, regenerate) or a session token (login), and
        # every answer is one admin's view of their organisation: no cache may keep any (TE-17).
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        identity = await self.services.authenticator.authenticate(request)
        return Context(
            request=request,
            response=response,
            services=self.services,
            identity=identity,
            client_ip=client_address(request, self.services.settings.trusted_proxies),
        )

    # orjson rather than the standard library: a page of 20 credentials is ~16 KB of JSON, which
    # `json.dumps` took ~0.3 ms to write. Its decode error subclasses `json.JSONDecodeError`, so a
    # malformed body is still Strawberry's 400. It writes UTF-8 rather than \u escapes.
    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            refusal = _refuse(request, graphiql=self.graphiql is not None)
            if refusal is None and request.method == "GET" and self.graphiql is not None:
                await self.graphiql.response()(scope, receive, send)
                return
            if refusal is None and request.method == "POST":
                body = await read_bounded(receive, MAX_BODY_BYTES)
                if body is None:
                    refusal = _too_large()
                else:
                    receive = _replay(body)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _too_large() -> JSONResponse:
    return _refusal(413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {MAX_BODY_BYTES} bytes.")


def _refuse(request: Request, *, graphiql: bool) -> Response | None:
    try:
        single_header(request.scope["headers"], b"authorization")
    except RepeatedHeader:
        # RS-11: which of two credentials "the" caller is would be a guess.
        return _refusal(400, "BAD_REQUEST", "Send one Authorization header, not several.")
    if request.method == "GET":
        # The IDE page for a browser; a GET that carries an operation is refused, page or not.
        wants_page = "text/html" in request.headers.get("accept", "")
        if graphiql and wants_page and "query" not in request.query_params:
            return None
        return _refusal(405, "METHOD_NOT_ALLOWED", "Send GraphQL operations as a JSON POST.")
    if request.method != "POST":
        return _refusal(405, "METHOD_NOT_ALLOWED", "Send GraphQL operations as a JSON POST.")
    refusal = framing_refusal(request.headers, "application/json", MAX_BODY_BYTES)
    if refusal is FramingRefusal.MEDIA_TYPE:
        return _refusal(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json.")
    # A Content-Length that is not a number is no body this endpoint reads, like one too large.
    if refusal is not None:
        return _too_large()
    return None

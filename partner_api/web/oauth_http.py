"""HTTP framing of the partner OAuth endpoints (PRODUCT.md §3.2): token, introspection,
revocation, server metadata, JWKS. The logic lives in auth/partners/authorization_server.py; errors
become
responses in exactly one place (auth/oauth_errors.error_response).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.partners.authorization_details import TYPE as AUTHORIZATION_DETAILS_TYPE
from auth.partners.authorization_server import AuthenticatedClient, AuthorizationServer
from auth.partners.client_auth import (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    PRIVATE_KEY_JWT,
)
from auth.partners.client_credentials import GRANT_TYPE
from auth.partners.client_keys import ALLOWED_ALGORITHMS
from auth.partners.oauth_errors import (
    NO_STORE_HEADERS,
    InvalidRequest,
    MethodNotAllowed,
    OAuth2Error,
    ServerError,
    error_response,
)
from auth.partners.token_request import OAuthRequest, read_oauth_request
from partner_api.foundation.asgi_endpoint import AsgiEndpoint
from partner_api.foundation.client_address import client_address
from partner_api.foundation.json_response import JSONResponse, encode_headers
from partner_api.foundation.metrics import TOKEN_ISSUED, count_token_refusal
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings

logger = logging.getLogger("partner_api.oauth")
AUTH_METHODS = [CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, PRIVATE_KEY_JWT]
# RFC 8414 §2: the algorithms private_key_jwt assertions may be signed with.
AUTH_SIGNING_ALGORITHMS = list(ALLOWED_ALGORITHMS)
Handler = Callable[[Request], Awaitable[Response]]
_NO_STORE = encode_headers(NO_STORE_HEADERS)


class _EveryMethod(AsgiEndpoint):
    """An OAuth endpoint for every HTTP method, TRACE and made-up ones included, so each is
    refused with the same RFC 6749 §5.2 answer (TE-01): Starlette routes all methods to an ASGI
    app given as an instance, while a function endpoint only gets the methods listed. POST only;
    every OAuth2Error becomes its §5.2 response. With `counts_tokens`, refusals are counted by
    reason (partner_api_token_requests_total)."""

    __slots__ = ("_counts_tokens", "_work")

    logger = logger
    fault_message = "unexpected fault in an OAuth endpoint"

    def __init__(self, work: Handler, *, counts_tokens: bool = False) -> None:
        self._work = work
        self._counts_tokens = counts_tokens

    async def respond(self, request: Request) -> Response:
        try:
            if request.method != "POST":
                raise MethodNotAllowed
            return await self._work(request)
        except OAuth2Error as error:
            if self._counts_tokens:
                count_token_refusal(error.error, error.status_code)
            return error_response(error)
        except Exception as error:
            return self.fault(error)

    def database_unavailable(self) -> None:
        if self._counts_tokens:
            count_token_refusal("temporarily_unavailable", 503)

    def fault_response(self) -> Response:
        if self._counts_tokens:
            count_token_refusal(ServerError.error, ServerError.status_code)
        return error_response(ServerError())


class OAuthEndpoints:
    def __init__(self, server: AuthorizationServer, settings: Settings) -> None:
        self.server = server
        self.settings = settings

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", _EveryMethod(self.token, counts_tokens=True)),
            Route("/oauth/introspect", _EveryMethod(self.introspect)),
            Route("/oauth/revoke", _EveryMethod(self.revoke)),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    def _client_ip(self, request: Request) -> str | None:
        return client_address(request, self.settings.trusted_proxies)

    async def _authenticate(
        self, request: Request, oauth_request: OAuthRequest
    ) -> tuple[AuthenticatedClient, str | None]:
        client_ip = self._client_ip(request)
        client = await self.server.authenticate_client(oauth_request, client_ip=client_ip)
        return client, client_ip

    async def token(self, request: Request) -> Response:
        """RFC 6749 §4: the grant the request names (auth/partners/grants.py) issues the token."""
        oauth_request = await read_oauth_request(request)
        grant = self.server.grant_for(oauth_request.form)
        issued = await grant.create_token(oauth_request, client_ip=self._client_ip(request))
        # RFC 6749 §5.1. Formatted directly: the token is base64url and dots, and scope names
        # are scope-tokens from the catalogue, so nothing needs JSON escaping; the authorization
        # details granted (RFC 9396 §7) are JSON already.
        details = issued.authorization_details
        granted = "" if details is None else f',"authorization_details":{details}'
        body = (
            f'{{"access_token":"{issued.token}","token_type":"Bearer",'
            f'"expires_in":{issued.expires_in},"scope":"{issued.scope}"{granted}}}'
        )
        TOKEN_ISSUED.inc()
        return JSONResponse(body.encode(), headers=_NO_STORE, rendered=True)

    async def introspect(self, request: Request) -> Response:
        """RFC 7662: only for an authenticated client, and only about its own tokens."""
        oauth_request = await read_oauth_request(request)
        token = oauth_request.form.get("token")
        client, _ = await self._authenticate(request, oauth_request)
        if not token:
            raise InvalidRequest("token is required.")
        return JSONResponse(await self.server.introspect(token, client), headers=_NO_STORE)

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: 200 whether or not the token was known (§2.2)."""
        oauth_request = await read_oauth_request(request)
        token = oauth_request.form.get("token")
        client, client_ip = await self._authenticate(request, oauth_request)
        if not token:
            raise InvalidRequest("token is required.")
        await self.server.revoke(token, client, client_ip=client_ip)
        return Response(status_code=200, headers=NO_STORE_HEADERS)

    async def metadata(self, request: Request) -> Response:
        """RFC 8414 §2 (MD-01..04)."""
        settings = self.settings
        return JSONResponse(
            {
                "issuer": settings.issuer,
                "token_endpoint": settings.token_endpoint,
                "jwks_uri": settings.jwks_uri,
                "introspection_endpoint": settings.introspection_endpoint,
                "revocation_endpoint": settings.revocation_endpoint,
                "grant_types_supported": [GRANT_TYPE],
                "response_types_supported": [],
                "token_endpoint_auth_methods_supported": AUTH_METHODS,
                "token_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGORITHMS,
                "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
                "introspection_endpoint_auth_signing_alg_values_supported": (
                    AUTH_SIGNING_ALGORITHMS
                ),
                "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
                "revocation_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGORITHMS,
                "scopes_supported": [scope.name for scope in CATALOGUE],
                "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
                "service_documentation": settings.documentation_url,
            },
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def jwks(self, request: Request) -> Response:
        """RFC 7517: public members only (MD-05), of every key whose tokens may still be valid."""
        await self.server.refresh()
        return JSONResponse(
            self.server.key_ring.jwks(), headers={"Cache-Control": "public, max-age=60"}
        )

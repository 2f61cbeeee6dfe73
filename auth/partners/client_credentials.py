"""The one grant this server supports: client credentials (RFC 6749 §4.4).

The client authenticates with its own credentials and receives an access token for itself; there
is no resource owner, no authorization endpoint and no refresh token (§4.4.3).
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from auth.partners.access_tokens import IssuedToken
from auth.partners.client_secrets import AuthenticatedClient
from auth.partners.token_request import OAuthRequest

GRANT_TYPE = "client_credentials"


class TokenServer(Protocol):
    """What the grant needs of the authorization server."""

    async def authenticate_client(
        self, request: OAuthRequest, *, client_ip: str | None
    ) -> AuthenticatedClient: ...

    async def issue_token(
        self,
        client: AuthenticatedClient,
        *,
        requested_scope: str | None,
        requested_details: str | None,
        client_ip: str | None,
    ) -> IssuedToken: ...


class ClientCredentialsGrant:
    GRANT_TYPE: ClassVar[str] = GRANT_TYPE

    __slots__ = ("_server",)

    def __init__(self, server: TokenServer) -> None:
        self._server = server

    async def create_token(self, request: OAuthRequest, *, client_ip: str | None) -> IssuedToken:
        """§4.4.2: the client authenticates (§3.2.1), then gets a token for the `scope` (§3.3) and
        the `authorization_details` (RFC 9396 §3) it asks for, or for everything it holds."""
        form = request.form
        server = self._server
        client = await server.authenticate_client(request, client_ip=client_ip)
        return await server.issue_token(
            client,
            requested_scope=form.get("scope"),
            requested_details=form.get("authorization_details"),
            client_ip=client_ip,
        )

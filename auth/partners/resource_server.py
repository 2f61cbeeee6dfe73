"""Resource-server verification for the Partner API, as one piece any Starlette service of the
platform can reuse: `await resource_server.authenticate(request)` gives the verified caller or
raises a `BearerError` that `bearer_error_response` turns into the RFC 6750 §3 answer.

- The token only from `Authorization: Bearer` (RS-08); a token in the query string is refused, and
  so is a repeated Authorization header (RS-11: 400 invalid_request, never "first wins").
- Signature against our own key ring only, algorithm allowlist, `typ`, exact `iss`, `aud`, `exp`
  with small leeway (RS-01..05; auth/partners/access_tokens.py), memoised per token so a partner
  re-using
  its token does not pay for the signature on every call.
- Revocation, credential state, the secret's life and re-scoping checked on every call, in memory
  (RS-10; AuthorizationServer.active_token).
- The credential's IP allowlist (TE-22) and, per endpoint, the scope (RS-06).
- The events the call may reach (`Partner.event_ids`, ER-01), for the data access to apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, NamedTuple
from uuid import UUID

from starlette.requests import Request

from auth.partners.access_tokens import AccessTokenClaims
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.credential_directory import CredentialState
from partner_api.foundation.client_address import Network, client_address
from partner_api.foundation.error_body import error_body
from partner_api.foundation.json_response import JSONResponse
from partner_api.foundation.request_headers import RepeatedHeader, single_header

REALM = "partner-api"


class BearerError(Exception):
    status_code: ClassVar[int] = 401
    error: ClassVar[str] = "invalid_token"

    def __init__(self, description: str, *, scope: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.scope = scope

    def challenge(self) -> str:
        parts = [f'Bearer realm="{REALM}"', f'error="{self.error}"']
        parts.append(f'error_description="{self.description}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return ", ".join(parts)


class MissingToken(BearerError):
    """RFC 6750 §3.1: a request without any credentials gets a challenge without error code."""

    error = "missing_token"

    def challenge(self) -> str:
        return f'Bearer realm="{REALM}"'


class InvalidToken(BearerError):
    error = "invalid_token"


class InsufficientScope(BearerError):
    status_code = 403
    error = "insufficient_scope"


class InvalidBearerRequest(BearerError):
    status_code = 400
    error = "invalid_request"


def bearer_error_response(error: BearerError) -> JSONResponse:
    return JSONResponse(
        error_body(error.error, error.description, scope=error.scope or None),
        status_code=error.status_code,
        headers={"WWW-Authenticate": error.challenge(), "Cache-Control": "no-store"},
    )


class Partner(NamedTuple):
    """The verified caller of a Partner API request (immutable; a NamedTuple because one is built
    per request, at half the cost of a frozen dataclass)."""

    claims: AccessTokenClaims
    credential: CredentialState

    @property
    def organisation_id(self) -> UUID:
        return self.credential.organisation_id

    @property
    def scopes(self) -> frozenset[str]:
        return self.claims.scopes

    @property
    def event_ids(self) -> frozenset[str] | None:
        """The events this call may reach (token ∩ credential, ER-01/03); None: all events."""
        return self.claims.event_ids


class ResourceServer:
    def __init__(
        self, authorization_server: AuthorizationServer, *, trusted_proxies: Sequence[Network]
    ) -> None:
        self._server = authorization_server
        self._trusted_proxies = trusted_proxies

    async def authenticate(self, request: Request, *, scope: str | None = None) -> Partner:
        connection = request.scope
        if b"access_token=" in connection.get("query_string", b""):
            raise InvalidBearerRequest("Send the access token in the Authorization header only.")
        try:
            raw = single_header(connection["headers"], b"authorization")
        except RepeatedHeader:
            raise InvalidBearerRequest("Send one Authorization header, not several.") from None
        if raw is None:
            raise MissingToken("An access token is required.")
        scheme, _, token = raw.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("Send the access token as: Authorization: Bearer <token>.")
        active = await self._server.active_token(token)
        if active is None:
            raise InvalidToken("The access token is invalid, expired or revoked.")
        credential = active.credential
        if credential.ip_allowlist and not credential.admits_address(
            client_address(request, self._trusted_proxies)
        ):
            raise InvalidToken("The access token is invalid, expired or revoked.")
        partner = Partner(active.claims, credential)
        if scope is not None:
            self.require_scope(partner, scope)
        return partner

    @staticmethod
    def require_scope(partner: Partner, scope: str | None) -> None:
        """RS-06: 403 insufficient_scope naming the scope the call needs."""
        if scope is not None and scope not in partner.scopes:
            raise InsufficientScope(f"This call needs the {scope} scope.", scope=scope)

"""The grant types the token endpoint serves, as a registry from `grant_type` to grant (RFC 6749
§4, §5.2): the endpoint reads the request, asks for its grant, and the grant does the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from auth.partners.access_tokens import IssuedToken
from auth.partners.oauth_errors import InvalidRequest, UnsupportedGrantType
from auth.partners.token_request import OAuthRequest


class Grant(Protocol):
    GRANT_TYPE: ClassVar[str]

    async def create_token(
        self, request: OAuthRequest, *, client_ip: str | None
    ) -> IssuedToken: ...


def grant_for(grants: Mapping[str, Grant], form: Mapping[str, str]) -> Grant:
    """The grant the request names; 400 `invalid_request` without one, `unsupported_grant_type`
    for one not in `grants`."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required.")
    grant = grants.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"Only {' and '.join(grants)} is supported.")
    return grant

"""Platform sign-in: admin JWTs from the platform's identity provider, behind the admin seam.

Off unless `PARTNER_API_PLATFORM_ISSUER` is set; built-in logins stay the default and are always
tried first (`admin_authenticator`). A platform token is `Authorization: Bearer <JWT>` (never the
cookie, which carries our own sessions). It is verified with PyJWT against the configured keys
only (auth/admins/platform_keys.py): an allowlisted asymmetric algorithm, the exact issuer, our
audience
among `aud`, a required `exp`, `nbf`/`iat` with 30 s of leeway. Its claims name the person,
organisation and role (auth/admins/platform_claims.py), which become rows just in time
(auth/admins/platform_provisioning.py). Every refusal is anonymous for GraphQL and one INFO log line
with the reason; the token itself is never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt.exceptions import PyJWTError
from starlette.requests import HTTPConnection

from auth.admins.api_tokens import ApiTokenAuthenticator
from auth.admins.identity import AdminAuthenticator, AdminIdentity
from auth.admins.platform_claims import ClaimsRefused, read_claims
from auth.admins.platform_keys import KeySource, key_source
from auth.admins.platform_provisioning import current_membership, find_organisation, provision
from auth.admins.sessions import SessionAuthenticator
from auth.tokens import SESSION_TOKEN_PREFIX
from partner_api.foundation.settings import PlatformSignIn, Settings

logger = logging.getLogger("partner_api.platform_sign_in")

LEEWAY_SECONDS = 30
# Far above any real ID/access token; refuses megabyte headers before any parsing.
MAX_TOKEN_LENGTH = 16 * 1024


def presented_platform_token(connection: HTTPConnection) -> str | None:
    """A JWT-shaped bearer token that is not one of our `pas_…` session tokens (nor, having no
    dots, a `pat_…` API token)."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or value.startswith(SESSION_TOKEN_PREFIX):
        return None
    return value if value.count(".") == 2 else None


def _refused(reason: str) -> None:
    logger.info("platform sign-in refused: %s", reason)


class PlatformAuthenticator:
    """Resolves a platform identity provider's JWT to an admin identity (no session: `logout`
    does nothing for it; the token's own expiry ends it)."""

    def __init__(
        self,
        config: PlatformSignIn,
        *,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.keys: KeySource = key_source(
            jwks_url=config.jwks_url,
            public_key=config.public_key,
            allowed=config.algorithms,
            cache_seconds=config.jwks_cache_seconds,
            clock=clock,
            transport=transport,
        )

    async def authenticate(self, connection: HTTPConnection) -> AdminIdentity | None:
        token = presented_platform_token(connection)
        if token is None:
            return None
        payload = await self.verified_claims(token)
        if payload is None:
            return None
        claims = read_claims(payload, self.config)
        if isinstance(claims, ClaimsRefused):
            _refused(claims.reason)
            return None
        match = self.config.organisation_match
        membership = await current_membership(claims, match)
        if membership is None:
            organisation = await find_organisation(claims.organisation, match)
            if organisation is None:
                _refused(f"unknown organisation {claims.organisation!r} (by {match})")
                return None
            membership = await provision(claims, organisation)
            if membership is None:
                return None
        return AdminIdentity.of(membership)

    async def verified_claims(self, token: str) -> dict[str, Any] | None:
        """The payload of a token that passes every check, or None (reason logged)."""
        if len(token) > MAX_TOKEN_LENGTH:
            _refused("token too long")
            return None
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as error:
            _refused(f"malformed token header ({type(error).__name__})")
            return None
        key = await self.keys.key_for(header)
        if key is None:
            return None  # the key source logged why
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(key.algorithms),
                issuer=self.config.issuer,
                audience=self.config.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except PyJWTError as error:
            # PyJWT's messages name the failed check, never the token.
            _refused(f"{type(error).__name__}: {error}")
            return None
        return payload


class FirstOfAuthenticators:
    """Asks each authenticator in order; the first identity wins."""

    def __init__(self, *authenticators: AdminAuthenticator) -> None:
        self.authenticators = authenticators

    async def authenticate(self, connection: HTTPConnection) -> AdminIdentity | None:
        for authenticator in self.authenticators:
            identity = await authenticator.authenticate(connection)
            if identity is not None:
                return identity
        return None


def admin_authenticator(settings: Settings) -> AdminAuthenticator:
    """Built-in sessions, then admin API tokens, then (when configured) platform sign-in.

    Each recognises its own kind of value (`pas_…` or the session cookie, `pat_…`, a JWT) before
    doing any work, so the order only decides who looks first."""
    api_tokens = ApiTokenAuthenticator(trusted_proxies=settings.trusted_proxies)
    if settings.platform is None:
        return FirstOfAuthenticators(SessionAuthenticator(), api_tokens)
    return FirstOfAuthenticators(
        SessionAuthenticator(), api_tokens, PlatformAuthenticator(settings.platform)
    )

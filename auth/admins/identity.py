"""Who is calling the admin API: the one seam between admin authentication and everything else.

Resolvers see only an `AdminIdentity`. Built-in logins (`auth.admins.sessions`) are one
implementation of
`AdminAuthenticator`; a platform identity provider can be plugged in as another without touching
resolvers or the tenancy layer, and so are admin API tokens (`auth.admins.api_tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from starlette.requests import HTTPConnection

from models.admin import Membership
from models.enums import Role

SESSION_COOKIE = "partner_api_session"


@dataclass(frozen=True)
class AdminIdentity:
    user_id: UUID
    email: str
    organisation_id: UUID
    organisation_name: str
    role: Role
    # The built-in session this identity came from, so `logout` can end it; None for other sources.
    session_id: UUID | None = None
    # The admin API token this identity acts through (its creator is `user_id`/`email`), so
    # resolvers can refuse what a token may not do and the audit trail names the token; None for
    # sessions and platform sign-in.
    api_token_id: UUID | None = None
    api_token_name: str | None = None

    @classmethod
    def of(cls, membership: Membership, *, session_id: UUID | None = None) -> AdminIdentity:
        """The identity a membership (loaded with its user and organisation) grants."""
        return cls(
            user_id=membership.user.id,
            email=membership.user.email,
            organisation_id=membership.organisation.id,
            organisation_name=membership.organisation.name,
            role=membership.role,
            session_id=session_id,
        )


class AdminAuthenticator(Protocol):
    async def authenticate(self, connection: HTTPConnection) -> AdminIdentity | None:
        """The caller's identity, or None when the request carries no valid credentials."""
        ...


def presented_session_token(connection: HTTPConnection) -> str | None:
    """The admin token from `Authorization: Bearer` or, for the browser page, the session cookie."""
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return connection.cookies.get(SESSION_COOKIE) or None


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where (for the audit trail)."""

    identity: AdminIdentity | None
    ip_address: str | None
    user_agent: str | None

    @property
    def label(self) -> str:
        identity = self.identity
        if identity is None:
            return "system"
        if identity.api_token_name is not None:
            # The audit trail's snapshot column holds 254 characters; the name comes first.
            return f"{identity.api_token_name} (API token of {identity.email})"[:254]
        return identity.email

"""Reading a verified platform token's claims: who (e-mail), for which organisation, as what role.

Claim names are configured and read as top-level names (Auth0-style namespaced names such as
`https://platform.example/org` work as they are; nested claims are not followed). Anything
missing, malformed or unknown is a refusal with a reason for the log, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auth.admins.login import normalise_email
from models.enums import Role
from partner_api.foundation.settings import PlatformSignIn
from partner_api.foundation.validation import InvalidInput, clean_email

ORGANISATION_CLAIM_MAX_LENGTH = 200
# When a role claim lists several roles (Keycloak, Okta groups), the strongest one we know wins.
ROLE_STRENGTH = (Role.VIEWER, Role.DEVELOPER, Role.ADMIN, Role.OWNER)


@dataclass(frozen=True)
class PlatformClaims:
    email: str
    # Our organisation's name or id (as text), depending on `organisation_match`.
    organisation: str
    role: Role


@dataclass(frozen=True)
class ClaimsRefused:
    reason: str


def read_claims(
    claims: Mapping[str, Any], config: PlatformSignIn
) -> PlatformClaims | ClaimsRefused:
    email = _email(claims, config.email_claim)
    if email is None:
        return ClaimsRefused(f"claim {config.email_claim!r} is missing or not an e-mail address")
    # OpenID Connect Core §5.1: an address the provider has not verified does not prove anyone.
    if "email_verified" in claims and claims["email_verified"] is not True:
        return ClaimsRefused("email_verified is not true")
    organisation = _organisation(claims.get(config.organisation_claim))
    if organisation is None:
        return ClaimsRefused(
            f"claim {config.organisation_claim!r} is missing or does not name one organisation"
        )
    role = _role(claims.get(config.role_claim), dict(config.role_map))
    if role is None:
        return ClaimsRefused(f"claim {config.role_claim!r} names no role we know")
    return PlatformClaims(email=email, organisation=organisation, role=role)


def _email(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str):
        return None
    try:
        return normalise_email(clean_email(value))
    except InvalidInput:
        return None


def _organisation(value: object) -> str | None:
    """A string, or a list holding exactly one (several organisations would be ambiguous)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not 1 <= len(value) <= ORGANISATION_CLAIM_MAX_LENGTH:
        return None
    return value


def _one_role(value: object, role_map: Mapping[str, str]) -> Role | None:
    if not isinstance(value, str):
        return None
    if value in role_map:
        return Role(role_map[value])
    try:
        return Role(value.strip().upper())
    except ValueError:
        return None


def _role(value: object, role_map: Mapping[str, str]) -> Role | None:
    """One role, or the strongest known role of a list; roles we do not know are ignored in a
    list (providers add their own, such as `offline_access`) and refused on their own."""
    candidates = value if isinstance(value, list) else [value]
    known = [role for role in (_one_role(item, role_map) for item in candidates) if role]
    if not known:
        return None
    return max(known, key=ROLE_STRENGTH.index)

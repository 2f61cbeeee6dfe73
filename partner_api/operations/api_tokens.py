"""Admin API tokens: create (shown once), list, revoke. Who may call these is the resolvers'
concern (resolvers/api_tokens.py); what a token may then do is auth/admins/api_tokens.py's.

Like the credential lifecycle, create and revoke are each one transaction that also writes its
audit event, and expected refusals are exceptions the resolvers turn into union members. Every
read and write is scoped to the caller's organisation: an id that is malformed, unknown or
another organisation's is the same `ApiTokenNotFound` (CR-07).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import new_api_token
from models.admin import Membership
from models.api_token import MAX_API_TOKEN_ROLE, ApiToken, ApiTokenStatus, role_within
from models.enums import AuditAction, Role
from models.tenancy import TenantScope, parse_id
from partner_api.foundation.validation import InvalidInput, clean_expiry, clean_name
from partner_api.operations import audit

# GitHub's bar for fine-grained personal access tokens: an expiry is required, at most a year
# (366 days, so "same date next year" always fits). A token that never expires is a standing
# risk nobody reviews; a year is long enough that rotating it is a yearly chore, not a weekly one.
MAX_LIFETIME_DAYS = 366


class ApiTokenNotFound(Exception):
    pass


class NotACreator(Exception):
    """The caller cannot create tokens: an API token (tokens never mint tokens, PT-02), or a
    person whose membership was removed while their session was live."""


@dataclass(frozen=True)
class ApiTokenDraft:
    name: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class IssuedApiToken:
    """A token value that exists only here: returned once to the caller, never stored or logged."""

    api_token: ApiToken
    value: str


def _clean_role(role: Role, creator_role: Role) -> Role:
    if not role_within(role, MAX_API_TOKEN_ROLE):
        raise InvalidInput(
            "role",
            f"An API token's role is at most {MAX_API_TOKEN_ROLE.value}; owners act in person.",
        )
    if not role_within(role, creator_role):
        raise InvalidInput(
            "role", f"An API token's role is at most your own ({creator_role.value})."
        )
    return role


def _clean_expiry(value: datetime, now: datetime) -> datetime:
    cleaned = clean_expiry(value, now=now)
    assert cleaned is not None  # the input field is required
    if cleaned > now + timedelta(days=MAX_LIFETIME_DAYS):
        raise InvalidInput(
            "expiresAt", f"An API token expires at most {MAX_LIFETIME_DAYS} days from now."
        )
    return cleaned


def _snapshot(token: ApiToken) -> dict[str, object]:
    """The audited, non-secret view of a token (never its value, hash or lookup part)."""
    return {
        "apiTokenId": str(token.id),
        "name": token.name,
        "role": token.role.value,
        "expiresAt": token.expires_at.isoformat(),
        "hint": token.hint,
    }


async def create_api_token(
    scope: TenantScope,
    actor: Actor,
    draft: ApiTokenDraft,
    *,
    hasher: KeyedHasher,
    now: datetime,
) -> IssuedApiToken:
    """A token for the acting admin (`actor.identity`), who must be a member of `scope`'s
    organisation; its role is at most ADMIN and at most the creator's current role."""
    identity = actor.identity
    if identity is None or identity.api_token_id is not None:
        raise NotACreator
    name = clean_name(draft.name)
    async with in_transaction():
        creator = (
            await Membership.filter(user_id=identity.user_id, organisation_id=scope.organisation_id)
            .select_related("user")
            .first()
        )
        if creator is None:
            raise NotACreator
        role = _clean_role(draft.role, creator.role)
        expires_at = _clean_expiry(draft.expires_at, now)
        new = new_api_token()
        token = await ApiToken.create(
            organisation_id=scope.organisation_id,
            name=name,
            role=role,
            lookup_id=new.lookup_id,
            token_hash=hasher.hash(new.value),
            hint=new.hint,
            created_by=creator,
            created_by_email=creator.user.email,
            expires_at=expires_at,
        )
        await audit.record(
            AuditAction.API_TOKEN_CREATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            after=_snapshot(token),
        )
    return IssuedApiToken(api_token=token, value=new.value)


def api_tokens(
    scope: TenantScope, status: ApiTokenStatus | None, *, now: datetime
) -> QuerySet[ApiToken]:
    """The organisation's tokens (with their creators' memberships), optionally of one status."""
    query = ApiToken.filter(organisation_id=scope.organisation_id).select_related("created_by")
    if status is ApiTokenStatus.REVOKED:
        return query.filter(revoked_at__isnull=False)
    if status is ApiTokenStatus.EXPIRED:
        return query.filter(revoked_at__isnull=True, expires_at__lte=now)
    if status is ApiTokenStatus.ACTIVE:
        return query.filter(revoked_at__isnull=True, expires_at__gt=now)
    return query


async def revoke_api_token(
    scope: TenantScope, actor: Actor, token_id: str, *, now: datetime
) -> ApiToken:
    """Revoke for good; it stops on the next request in every process (nothing caches it).
    Revoking a revoked token changes nothing, writes no audit event, and is not an error."""
    parsed = parse_id(token_id)
    if parsed is None:
        raise ApiTokenNotFound
    async with in_transaction():
        # No join here: PostgreSQL cannot lock the nullable side of an outer join.
        token = (
            await ApiToken.filter(id=parsed, organisation_id=scope.organisation_id)
            .select_for_update()
            .first()
        )
        if token is None:
            raise ApiTokenNotFound
        await token.fetch_related("created_by")
        if token.revoked_at is not None:
            return token
        token.revoked_at = now
        token.revoked_by_id = actor.identity.user_id if actor.identity else None
        await token.save(update_fields=["revoked_at", "revoked_by_id"])
        await audit.record(
            AuditAction.API_TOKEN_REVOKED,
            organisation_id=scope.organisation_id,
            actor=actor,
            after=_snapshot(token),
        )
    return token

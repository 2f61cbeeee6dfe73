"""GraphQL object types of the admin API. No field ever returns a secret or a hash of one."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from models.admin import AdminUser
from models.credential import Credential as CredentialModel
from models.credential import CredentialSecret as CredentialSecretModel
from models.ticketing import Event as EventModel
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import effective_scopes
from partner_api.operations.usage_report import UsageRange
from schema.context import Context
from schema.enums import AccessLevel, ClientAuthMethod, CredentialStatus, LimitMode, Role
from schema.key_types import CredentialKey
from schema.policy_types import CredentialPolicy
from schema.usage_types import OrganisationUsage, Usage, usage_parts

LAST_USED_LAG = (
    "Usage is recorded when the secret obtains an access token, and reaches the database up to "
    "one last-used write interval (60 s by default) late."
)


@strawberry.type
class User:
    email: str

    @classmethod
    def from_model(cls, user: AdminUser) -> User:
        return cls(email=user.email)


async def _organisation_usage(
    info: strawberry.Info[Context, None], range: UsageRange
) -> OrganisationUsage:
    # Imported here: it builds Credential nodes, so it imports this module.
    from schema.credential_nodes import organisation_usage

    return await organisation_usage(info.context, range, usage_parts(info.selected_fields))


@strawberry.type
class Organisation:
    id: strawberry.ID
    name: str

    @strawberry.field
    async def credential_policy(self, info: strawberry.Info[Context, None]) -> CredentialPolicy:
        context = info.context
        policy = await context.organisation_policy(UUID(str(self.id)))
        return CredentialPolicy.from_policy(policy, context.services.settings)

    usage: OrganisationUsage = strawberry.field(
        resolver=_organisation_usage,
        description="Every credential's usage summed, and the busiest credentials.",
    )


@strawberry.type
class Viewer:
    user: User
    organisation: Organisation
    role: Role


@strawberry.type
class Scope:
    name: str
    description: str


@strawberry.type
class PartnerApiInfo:
    documentation_url: str
    issuer: str
    token_endpoint: str
    jwks_uri: str
    scopes: list[Scope]
    expires_soon_days: int = strawberry.field(
        description="A credential `expiresSoon` when it expires within this many days."
    )
    stale_after_days: int = strawberry.field(
        description="A credential is `stale` when unused for at least this many days."
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> PartnerApiInfo:
        return cls(
            documentation_url=settings.documentation_url,
            issuer=settings.issuer,
            token_endpoint=settings.token_endpoint,
            jwks_uri=settings.jwks_uri,
            scopes=[Scope(name=scope.name, description=scope.description) for scope in CATALOGUE],
            expires_soon_days=settings.expires_soon_days,
            stale_after_days=settings.stale_after_days,
        )


@strawberry.type(
    description="A live client secret: the current one, or the previous one in its grace period."
)
class CredentialSecret:
    id: strawberry.ID
    hint: str = strawberry.field(description="The secret's last four characters.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    safe_to_end: bool | None = strawberry.field(
        description=(
            "Null for the current secret. For the previous one: true when it has not been used "
            "since the rotation and the rotation is at least one access-token lifetime plus one "
            "last-used write interval old, so ending it now (`endPreviousSecret`) should break "
            "nothing. " + LAST_USED_LAG
        )
    )

    @classmethod
    def from_model(
        cls, secret: CredentialSecretModel, *, safe_to_end: bool | None = None
    ) -> CredentialSecret:
        return cls(
            id=strawberry.ID(str(secret.id)),
            hint=secret.hint,
            created_at=secret.created_at,
            expires_at=secret.expires_at,
            last_used_at=secret.last_used_at,
            safe_to_end=safe_to_end,
        )


async def _credential_usage(
    root: Credential, info: strawberry.Info[Context, None], range: UsageRange
) -> Usage:
    # Batched: the page's credentials asking for the same range are read together.
    parts = usage_parts(info.selected_fields)
    return Usage.from_report(await info.context.credential_usage(UUID(root.id), range, parts))


@strawberry.type
class Credential:
    """Built by `schema.credential_nodes`, which loads a page's secrets, creators and policy at
    once: every field but `usage` is a plain value, so a page completes without per-credential
    awaits; `usage`, when selected, is read for the whole page at once (`Context.
    credential_usage`)."""

    id: strawberry.ID
    name: str
    contact_email: str
    client_id: str
    status: CredentialStatus
    access_level: AccessLevel
    scopes: list[str] = strawberry.field(
        description="Scopes the credential may be granted; for FULL, the whole current catalogue."
    )
    created_at: datetime
    created_by: User | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    ip_allowlist: list[str]
    expires_soon: bool = strawberry.field(
        description="Active, and expires within `partnerApi.expiresSoonDays` days (or sooner)."
    )
    stale: bool = strawberry.field(
        description=(
            "Active, and not used for at least `partnerApi.staleAfterDays` days (counted from "
            "creation when never used). " + LAST_USED_LAG
        )
    )
    exceeds_policy: bool = strawberry.field(
        description=(
            "Active, and its expiry (or lack of one) is later than the organisation's credential "
            "policy would allow if it were set today; such credentials are not cut short."
        )
    )
    secrets: list[CredentialSecret] = strawberry.field(
        description=(
            "Live secrets, newest first: the current one and at most one in its grace period."
        )
    )
    auth_method: ClientAuthMethod
    jwks_uri: str | None = strawberry.field(description="PRIVATE_KEY_JWT: where its keys are.")
    keys: list[CredentialKey] = strawberry.field(description="PRIVATE_KEY_JWT: its keys, by kid.")
    events: list[Event] | None = strawberry.field(
        description=(
            "The events the credential is limited to that still exist, soonest first; null: all "
            "events of the organisation."
        )
    )
    restriction_lapsed: bool = strawberry.field(
        description=(
            "Limited to events, and every one of them has ended or was deleted: the credential "
            "reaches nothing upcoming."
        )
    )
    rate_limit_per_minute: int | None = strawberry.field(
        description="The credential's own rate limit; null: the organisation's default."
    )
    token_quota_per_minute: int | None = strawberry.field(
        description="The credential's own token quota; null: the organisation's default."
    )
    limit_mode: LimitMode = strawberry.field(
        description="ENFORCE refuses calls over the limits (429); MONITOR only counts them."
    )
    effective_rate_limit_per_minute: int = strawberry.field(
        description=(
            "The rate limit in force: the credential's, else the organisation's default, else "
            "the service setting, at most the service maximum."
        )
    )
    effective_token_quota_per_minute: int = strawberry.field(
        description="The token quota in force, resolved like effectiveRateLimitPerMinute."
    )

    usage: Usage = strawberry.field(
        resolver=_credential_usage,
        description="Calls, errors and tokens over a range (VIEWER and up).",
    )

    @classmethod
    def from_model(
        cls,
        credential: CredentialModel,
        *,
        now: datetime,
        created_by: User | None,
        secrets: list[CredentialSecret],
        keys: list[CredentialKey],
        expires_soon: bool,
        stale: bool,
        exceeds_policy: bool,
        events: list[Event] | None,
        limits: tuple[int, int],
    ) -> Credential:
        """`limits`: the effective rate limit and token quota."""
        return cls(
            id=strawberry.ID(str(credential.id)),
            name=credential.name,
            contact_email=credential.contact_email,
            client_id=credential.client_id,
            status=credential.status_at(now),
            access_level=credential.access_level,
            scopes=effective_scopes(credential),
            created_at=credential.created_at,
            created_by=created_by,
            last_used_at=credential.last_used_at,
            expires_at=credential.expires_at,
            revoked_at=credential.revoked_at,
            revocation_reason=credential.revocation_reason,
            ip_allowlist=list(credential.ip_allowlist),
            expires_soon=expires_soon,
            stale=stale,
            exceeds_policy=exceeds_policy,
            secrets=secrets,
            auth_method=credential.auth_method,
            jwks_uri=credential.jwks_uri,
            keys=keys,
            events=events,
            restriction_lapsed=events is not None and all(event.ends_at <= now for event in events),
            rate_limit_per_minute=credential.rate_limit_per_minute,
            token_quota_per_minute=credential.token_quota_per_minute,
            limit_mode=credential.limit_mode,
            effective_rate_limit_per_minute=limits[0],
            effective_token_quota_per_minute=limits[1],
        )


@strawberry.type(description="One of your organisation's events (the Partner API serves them).")
class Event:
    id: strawberry.ID
    name: str
    venue: str
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def from_model(cls, event: EventModel) -> Event:
        return cls(
            id=strawberry.ID(str(event.id)),
            name=event.name,
            venue=event.venue,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
        )

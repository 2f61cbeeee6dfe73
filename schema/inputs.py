"""GraphQL input types of the admin mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.enums import AccessLevel, ClientAuthMethod, LimitMode

JWKS_DESCRIPTION = (
    "PRIVATE_KEY_JWT only: the public JWK Set (RFC 7517) the client signs its assertions with, "
    "1 to 10 keys, each with a kid; ES256, EdDSA, RS256 (2048 bits or more) or PS256. A private "
    "member (d, p, q...) is refused."
)
JWKS_URI_DESCRIPTION = (
    "PRIVATE_KEY_JWT only: where the token endpoint fetches the client's public JWK Set "
    "(https to a public address in production)."
)


@strawberry.input
class CreateCredentialInput:
    name: str
    contact_email: str
    access_level: AccessLevel
    scopes: list[str] | None = strawberry.field(
        default=None, description="Required, non-empty, for FINE_GRAINED; omit for FULL."
    )
    expires_at: datetime | None = strawberry.field(
        default=None,
        description=(
            "Omitted: no expiry, or the longest one the organisation's credential policy allows."
        ),
    )
    ip_allowlist: list[str] | None = strawberry.field(
        default=None, description="IP addresses or CIDR networks; empty or omitted: any address."
    )
    event_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=(
            "Only these events of the organisation (1 to 100); omitted or null: all events."
        ),
    )
    auth_method: ClientAuthMethod = strawberry.field(
        default=ClientAuthMethod.CLIENT_SECRET,
        description="PRIVATE_KEY_JWT takes exactly one of jwks and jwksUri; no secret is made.",
    )
    jwks: JSON | None = strawberry.field(default=None, description=JWKS_DESCRIPTION)
    jwks_uri: str | None = strawberry.field(default=None, description=JWKS_URI_DESCRIPTION)


@strawberry.input
class RegenerateCredentialSecretInput:
    id: strawberry.ID
    grace_period_minutes: int | None = strawberry.field(
        default=None,
        description=(
            "How long the previous secret keeps working; 0 ends it at once. "
            "Omitted: the configured default."
        ),
    )


@strawberry.input
class RevokeCredentialInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input(description="Fields left out are unchanged; `null` clears expiresAt/ipAllowlist.")
class UpdateCredentialInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    contact_email: str | None = strawberry.UNSET
    access_level: AccessLevel | None = strawberry.UNSET
    scopes: list[str] | None = strawberry.UNSET
    expires_at: datetime | None = strawberry.UNSET
    ip_allowlist: list[str] | None = strawberry.UNSET
    event_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Limit the credential to these events (1 to 100); omitted or null: unchanged.",
    )
    all_events: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="`true` lifts the event restriction: every event of the organisation again.",
    )
    rate_limit_per_minute: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Partner API calls per minute, 1 to `credentialPolicy.maxRateLimitPerMinute`; "
            "omitted or null: unchanged."
        ),
    )
    token_quota_per_minute: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Access tokens per minute, 1 to `credentialPolicy.maxTokenQuotaPerMinute`; omitted "
            "or null: unchanged."
        ),
    )
    limit_mode: LimitMode | None = strawberry.field(
        default=strawberry.UNSET, description="Omitted or null: unchanged."
    )
    use_organisation_rate_limit: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="`true`: the organisation's default rate limit again.",
    )
    use_organisation_token_quota: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="`true`: the organisation's default token quota again.",
    )
    jwks: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Replace a key credential's key set (rotation: add the new key, later remove the "
            "old one). " + JWKS_DESCRIPTION
        ),
    )
    jwks_uri: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replace a key credential's key source with this URI. " + JWKS_URI_DESCRIPTION,
    )


@strawberry.input
class EndPreviousSecretInput:
    id: strawberry.ID = strawberry.field(description="The credential.")
    secret_id: strawberry.ID = strawberry.field(
        description="The previous secret (in its grace period) to end now."
    )


@strawberry.input
class UpdateCredentialPolicyInput:
    max_credential_lifetime_days: int | None = strawberry.field(
        default=None, description="1 to 3650 days; null or omitted: no limit."
    )
    default_rate_limit_per_minute: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "1 to `maxRateLimitPerMinute`; null: the service setting; omitted: unchanged."
        ),
    )
    default_token_quota_per_minute: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "1 to `maxTokenQuotaPerMinute`; null: the service setting; omitted: unchanged."
        ),
    )

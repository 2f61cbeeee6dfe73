"""The organisation's credential policy as GraphQL shows it: its own rules, and the service
settings and maxima they are chosen within."""

from __future__ import annotations

import strawberry

from partner_api.foundation.settings import Settings
from partner_api.operations.credential_policy import OrganisationPolicy


@strawberry.type(description="The organisation's rules for its credentials.")
class CredentialPolicy:
    max_credential_lifetime_days: int | None = strawberry.field(
        description=(
            "The furthest expiry, in days from the moment of creation or change, that a "
            "credential may be given; null: no limit. Creating a credential without an expiry "
            "gives it this maximum. Existing credentials are not cut short when it changes."
        )
    )
    default_rate_limit_per_minute: int | None = strawberry.field(
        description=(
            "Partner API calls per minute for credentials that set no limit of their own; "
            "null: the service setting."
        )
    )
    default_token_quota_per_minute: int | None = strawberry.field(
        description=(
            "Access tokens per minute for credentials that set no quota of their own; null: "
            "the service setting."
        )
    )
    service_rate_limit_per_minute: int = strawberry.field(
        description="The service setting (PARTNER_API_RATE_LIMIT_PER_MINUTE)."
    )
    service_token_quota_per_minute: int = strawberry.field(
        description="The service setting (PARTNER_API_TOKEN_QUOTA_PER_MINUTE)."
    )
    max_rate_limit_per_minute: int = strawberry.field(
        description="The most any rate limit may be set to (PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE)."
    )
    max_token_quota_per_minute: int = strawberry.field(
        description=(
            "The most any token quota may be set to (PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE)."
        )
    )

    @classmethod
    def from_policy(cls, policy: OrganisationPolicy, settings: Settings) -> CredentialPolicy:
        return cls(
            max_credential_lifetime_days=policy.max_credential_lifetime_days,
            default_rate_limit_per_minute=policy.default_rate_limit_per_minute,
            default_token_quota_per_minute=policy.default_token_quota_per_minute,
            service_rate_limit_per_minute=settings.partner_rate_limit_per_minute,
            service_token_quota_per_minute=settings.token_quota_per_minute,
            max_rate_limit_per_minute=settings.usage.max_rate_limit_per_minute,
            max_token_quota_per_minute=settings.usage.max_token_quota_per_minute,
        )

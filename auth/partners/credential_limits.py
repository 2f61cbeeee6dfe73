"""The limits a credential works under: its own, else its organisation's default, else the
service setting, and never above the service maximum (`settings.usage.max_*`).

The effective values are worked out when a credential is loaded into `CredentialState`
(auth/partners/credential_directory.py), so the hot paths read no database. A change of a
credential's limits is published on the change feed like any credential change; a change of an
organisation's defaults is published for every credential of that organisation
(`organisation_limits_changed`), so each process drops those cached states and the new limits
hold everywhere within the feed's bound (1 second).

In MONITOR mode a credential over its limit is answered as if it were under it: the limit is
still reported (`RateLimit-*` headers) and the excess counted (`UsageMetric.WOULD_LIMIT`), so an
organisation can try a limit before it refuses anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from auth.partners import change_feed
from models.credential import Credential
from partner_api.foundation.settings import Settings

# The operation under which the token endpoint's quota is counted (RATE_LIMITED, WOULD_LIMIT),
# beside the Partner API's route templates.
TOKEN_OPERATION = "POST /oauth/token"  # noqa: S105 (a route, not a secret)


@dataclass(frozen=True, kw_only=True)
class ServiceLimits:
    """The service's own limits (used when neither credential nor organisation set one) and the
    maxima any limit is capped at."""

    rate_limit_per_minute: int
    token_quota_per_minute: int
    max_rate_limit_per_minute: int
    max_token_quota_per_minute: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceLimits:
        return cls(
            rate_limit_per_minute=settings.partner_rate_limit_per_minute,
            token_quota_per_minute=settings.token_quota_per_minute,
            max_rate_limit_per_minute=settings.usage.max_rate_limit_per_minute,
            max_token_quota_per_minute=settings.usage.max_token_quota_per_minute,
        )

    def rate_limit(self, own: int | None, organisation_default: int | None) -> int:
        return effective_limit(
            own, organisation_default, self.rate_limit_per_minute, self.max_rate_limit_per_minute
        )

    def token_quota(self, own: int | None, organisation_default: int | None) -> int:
        return effective_limit(
            own, organisation_default, self.token_quota_per_minute, self.max_token_quota_per_minute
        )


def effective_limit(
    own: int | None, organisation_default: int | None, service: int, maximum: int
) -> int:
    """credential ?? organisation default ?? service setting, between 1 and `maximum` (a
    maximum lowered after a limit was set caps it at once)."""
    if own is not None:
        chosen = own
    elif organisation_default is not None:
        chosen = organisation_default
    else:
        chosen = service
    return max(1, min(chosen, maximum))


async def organisation_limits_changed(organisation_id: UUID) -> None:
    """Make every process reload the credentials of `organisation_id` (its default limits
    changed); call inside the transaction that changes them. Revoked credentials are left out:
    nothing they could still do depends on a limit."""
    credential_ids = await Credential.filter(
        organisation_id=organisation_id, revoked_at__isnull=True
    ).values_list("id", flat=True)
    await change_feed.publish_credentials_changed([UUID(str(one)) for one in credential_ids])

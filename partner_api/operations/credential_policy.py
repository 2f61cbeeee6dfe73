"""The organisation's credential policy: the maximum lifetime of a credential, in days, and the
default per-minute limits of its credentials.

The lifetime is enforced when an expiry is set (partner_api/operations/credentials.py, through
`validation.clean_policy_expiry`): creating a credential with no expiry gives it the longest one
allowed, and an expiry further away is refused at `expiresAt`. Changing the policy does not cut
existing credentials short; `Credential.exceedsPolicy` finds them.

The default limits apply to every credential of the organisation that sets none of its own; null
is the service setting (auth/partners/credential_limits.py resolves them). A change is published
for each of the organisation's credentials, so it holds on every process within the change
feed's bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.partners.credential_limits import organisation_limits_changed
from models.compiled_select import CompiledSelect
from models.enums import AuditAction
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.validation import KEEP, Keep, clean_policy_lifetime
from partner_api.operations import audit

# Read on every page of credentials (for `exceedsPolicy` and the effective limits) and every
# create or update.
_ORGANISATION = CompiledSelect(
    Organisation, lambda organisation_id: Organisation.filter(id=organisation_id)
)


@dataclass(frozen=True)
class OrganisationPolicy:
    max_credential_lifetime_days: int | None = None
    default_rate_limit_per_minute: int | None = None
    default_token_quota_per_minute: int | None = None

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationPolicy:
        return cls(
            max_credential_lifetime_days=organisation.max_credential_lifetime_days,
            default_rate_limit_per_minute=organisation.default_rate_limit_per_minute,
            default_token_quota_per_minute=organisation.default_token_quota_per_minute,
        )


@dataclass(frozen=True)
class PolicyChanges:
    """KEEP: unchanged. The limits are already within the service maximum
    (`validation.clean_limit`); None is the service setting."""

    max_credential_lifetime_days: int | Keep | None = KEEP
    default_rate_limit_per_minute: int | Keep | None = KEEP
    default_token_quota_per_minute: int | Keep | None = KEEP


# Field of Organisation -> its name in GraphQL and the audit trail.
_AUDITED = {
    "max_credential_lifetime_days": "maxCredentialLifetimeDays",
    "default_rate_limit_per_minute": "defaultRateLimitPerMinute",
    "default_token_quota_per_minute": "defaultTokenQuotaPerMinute",
}
_LIMITS = {"default_rate_limit_per_minute", "default_token_quota_per_minute"}


async def organisation_policy(organisation_id: UUID) -> OrganisationPolicy:
    """The organisation's policy; all null (no limit, the service's limits) if it is gone."""
    found = await _ORGANISATION.fetch(organisation_id)
    return OrganisationPolicy.of(found[0]) if found else OrganisationPolicy()


async def max_lifetime_days(organisation_id: UUID) -> int | None:
    """The organisation's maximum credential lifetime in days, or None for no limit."""
    return (await organisation_policy(organisation_id)).max_credential_lifetime_days


async def update_policy(
    scope: TenantScope, actor: Actor, changes: PolicyChanges
) -> OrganisationPolicy:
    """Apply `changes`; audited with the values that changed (before and after), and a no-op
    when nothing changes."""
    wanted: dict[str, Any] = {
        name: getattr(changes, name)
        for name in _AUDITED
        if not isinstance(getattr(changes, name), Keep)
    }
    if "max_credential_lifetime_days" in wanted:
        wanted["max_credential_lifetime_days"] = clean_policy_lifetime(
            wanted["max_credential_lifetime_days"]
        )
    async with in_transaction():
        # The row lock orders concurrent changes, so each audit event's `before` is exact.
        organisation = (
            await Organisation.filter(id=scope.organisation_id).select_for_update().first()
        )
        if organisation is None:  # the session outlived its organisation: nothing to change
            return OrganisationPolicy()
        changed = [name for name, value in wanted.items() if getattr(organisation, name) != value]
        if not changed:
            return OrganisationPolicy.of(organisation)
        before = {_AUDITED[name]: getattr(organisation, name) for name in changed}
        for name in changed:
            setattr(organisation, name, wanted[name])
        await organisation.save(update_fields=changed)
        if _LIMITS.intersection(changed):
            await organisation_limits_changed(scope.organisation_id)
        await audit.record(
            AuditAction.CREDENTIAL_POLICY_UPDATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            before=before,
            after={_AUDITED[name]: wanted[name] for name in changed},
        )
    return OrganisationPolicy.of(organisation)

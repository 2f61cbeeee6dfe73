"""The organisation's credential policy: the maximum lifetime of a credential, in days.

Enforced when an expiry is set (partner_api/operations/credentials.py, through
`validation.clean_policy_expiry`): creating a credential with no expiry gives it the longest one
allowed, and an expiry further away is refused at `expiresAt`. Changing the policy does not cut
existing credentials short; `Credential.exceedsPolicy` finds them.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.compiled_select import CompiledSelect
from models.enums import AuditAction
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.validation import clean_policy_lifetime
from partner_api.operations import audit

# Read on every page of credentials (for `exceedsPolicy`) and every create or update.
_ORGANISATION = CompiledSelect(
    Organisation, lambda organisation_id: Organisation.filter(id=organisation_id)
)


async def max_lifetime_days(organisation_id: UUID) -> int | None:
    """The organisation's maximum credential lifetime in days, or None for no limit."""
    found = await _ORGANISATION.fetch(organisation_id)
    return found[0].max_credential_lifetime_days if found else None


async def update_policy(scope: TenantScope, actor: Actor, max_days: int | None) -> int | None:
    """Set (or with None, lift) the maximum lifetime; audited when it changes, else a no-op."""
    cleaned = clean_policy_lifetime(max_days)
    async with in_transaction():
        # The row lock orders concurrent changes, so each audit event's `before` is exact.
        organisation = (
            await Organisation.filter(id=scope.organisation_id).select_for_update().first()
        )
        if organisation is None:  # the session outlived its organisation: nothing to change
            return None
        before = organisation.max_credential_lifetime_days
        if before == cleaned:
            return cleaned
        organisation.max_credential_lifetime_days = cleaned
        await organisation.save(update_fields=["max_credential_lifetime_days"])
        await audit.record(
            AuditAction.CREDENTIAL_POLICY_UPDATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            before={"maxCredentialLifetimeDays": before},
            after={"maxCredentialLifetimeDays": cleaned},
        )
    return cleaned

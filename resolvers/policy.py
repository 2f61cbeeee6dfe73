"""The organisation's credential policy (maximum credential lifetime, default limits): changed by
owners and admins only (CR-09), always for the caller's own organisation (CR-07)."""

from __future__ import annotations

import strawberry

from partner_api.foundation.validation import InvalidInput, Keep, clean_limit
from partner_api.operations import credential_policy
from partner_api.operations.credential_policy import PolicyChanges
from resolvers.mutation_inputs import given, may_manage
from schema.context import Context
from schema.inputs import UpdateCredentialPolicyInput
from schema.policy_types import CredentialPolicy
from schema.results import (
    POLICY_PERMISSION_DENIED,
    CredentialPolicyUpdated,
    PermissionDenied,
    UpdateCredentialPolicyResult,
    ValidationError,
)


def _default_limit(value: int | None, field: str, maximum: int) -> int | Keep | None:
    """Omitted: unchanged; null: the service setting; else 1 to `maximum`."""
    chosen = given(value)
    return chosen if isinstance(chosen, Keep) else clean_limit(chosen, field=field, maximum=maximum)


async def update_credential_policy(
    info: strawberry.Info[Context, None], input: UpdateCredentialPolicyInput
) -> UpdateCredentialPolicyResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=POLICY_PERMISSION_DENIED)
    scope = context.tenant
    settings = context.services.settings
    try:
        changes = PolicyChanges(
            max_credential_lifetime_days=input.max_credential_lifetime_days,
            default_rate_limit_per_minute=_default_limit(
                input.default_rate_limit_per_minute,
                "defaultRateLimitPerMinute",
                settings.usage.max_rate_limit_per_minute,
            ),
            default_token_quota_per_minute=_default_limit(
                input.default_token_quota_per_minute,
                "defaultTokenQuotaPerMinute",
                settings.usage.max_token_quota_per_minute,
            ),
        )
        policy = await credential_policy.update_policy(scope, context.actor, changes)
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    context.policy_changed(scope.organisation_id, policy)
    return CredentialPolicyUpdated(policy=CredentialPolicy.from_policy(policy, settings))

"""The organisation's credential policy (maximum credential lifetime): changed by owners and
admins only (CR-09), always for the caller's own organisation (CR-07)."""

from __future__ import annotations

import strawberry

from partner_api.foundation.validation import InvalidInput
from partner_api.operations import credential_policy
from resolvers.mutation_inputs import may_manage
from schema.context import Context
from schema.inputs import UpdateCredentialPolicyInput
from schema.results import (
    POLICY_PERMISSION_DENIED,
    CredentialPolicyUpdated,
    PermissionDenied,
    UpdateCredentialPolicyResult,
    ValidationError,
)
from schema.types import CredentialPolicy


async def update_credential_policy(
    info: strawberry.Info[Context, None], input: UpdateCredentialPolicyInput
) -> UpdateCredentialPolicyResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=POLICY_PERMISSION_DENIED)
    scope = context.tenant
    try:
        days = await credential_policy.update_policy(
            scope, context.actor, input.max_credential_lifetime_days
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    context.policy_changed(scope.organisation_id, days)
    return CredentialPolicyUpdated(policy=CredentialPolicy(max_credential_lifetime_days=days))

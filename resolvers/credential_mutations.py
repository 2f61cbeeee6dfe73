"""Admin mutations: create, regenerate the secret, end a previous secret, revoke, and update
(manage access).

Each resolver checks the role, calls the lifecycle function (which owns the transaction and the
audit event), and turns expected refusals into union members.
"""

from __future__ import annotations

from typing import TypeVar

import strawberry

from partner_api.foundation.clock import utcnow
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.validation import InvalidInput, clean_limit
from partner_api.operations import credential_changes, previous_secrets
from partner_api.operations import credentials as lifecycle
from partner_api.operations.client_key_registration import (
    KeyRegistration,
    clean_registration,
    clean_replacement,
)
from partner_api.operations.credentials import KEEP, CredentialChanges, CredentialDraft, Keep
from partner_api.operations.lifecycle import LifecycleWindows
from resolvers.mutation_inputs import given, may_manage, required
from schema.context import Context
from schema.credential_nodes import credential_node
from schema.inputs import (
    CreateCredentialInput,
    EndPreviousSecretInput,
    RegenerateCredentialSecretInput,
    RevokeCredentialInput,
    UpdateCredentialInput,
)
from schema.results import (
    NOT_FOUND,
    PERMISSION_DENIED,
    SECRET_NOT_FOUND,
    USES_KEYS,
    CreateCredentialResult,
    CredentialCreated,
    CredentialNotActive,
    CredentialRevoked,
    CredentialSecretRegenerated,
    CredentialUpdated,
    CredentialUsesKeys,
    EndPreviousSecretResult,
    KeyCredentialCreated,
    NotFound,
    PermissionDenied,
    PreviousSecretEnded,
    RegenerateCredentialSecretResult,
    RevokeCredentialResult,
    UpdateCredentialResult,
    ValidationError,
)

T = TypeVar("T")


def _not_active(error: lifecycle.CredentialNotActive) -> CredentialNotActive:
    return CredentialNotActive(
        message=f"The credential is {error.status.value.lower()}; it can no longer be changed.",
        status=error.status,
    )


def _event_restriction(input: UpdateCredentialInput) -> list[str] | Keep | None:
    """`eventIds` restricts; `allEvents: true` lifts the restriction (None); neither keeps it.
    Asking for both is refused rather than one of them silently winning."""
    event_ids = input.event_ids
    given = event_ids is not strawberry.UNSET and event_ids is not None
    if input.all_events is True:
        if given:
            raise InvalidInput(
                "eventIds", "Choose either all events or a list of events, not both."
            )
        return None
    if not given:
        return KEEP
    return [str(value) for value in event_ids or ()]


def _outbound_policy(context: Context) -> OutboundPolicy:
    return OutboundPolicy(production=context.services.settings.production)


def _key_replacement(context: Context, input: UpdateCredentialInput) -> KeyRegistration | Keep:
    """`jwks` or `jwksUri` replaces a key credential's key source; neither keeps it."""
    jwks = None if input.jwks is strawberry.UNSET else input.jwks
    jwks_uri = None if input.jwks_uri is strawberry.UNSET else input.jwks_uri
    if jwks is None and jwks_uri is None:
        return KEEP
    return clean_replacement(jwks, jwks_uri, _outbound_policy(context))


def _limit(
    value: int | None, use_organisation: bool | None, field: str, maximum: int
) -> int | Keep | None:
    """The credential's own limit (1 to `maximum`); `use_organisation` returns it to the
    organisation's default (None); omitted or null keeps it. Both at once is refused."""
    if use_organisation is True:
        if value is not strawberry.UNSET and value is not None:
            raise InvalidInput(
                field, "Choose either a limit of its own or the organisation's default, not both."
            )
        return None
    if value is strawberry.UNSET or value is None:
        return KEEP
    return clean_limit(value, field=field, maximum=maximum)


async def create_credential(
    info: strawberry.Info[Context, None], input: CreateCredentialInput
) -> CreateCredentialResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=PERMISSION_DENIED)
    draft = CredentialDraft(
        name=input.name,
        contact_email=input.contact_email,
        access_level=input.access_level,
        scopes=input.scopes,
        expires_at=input.expires_at,
        ip_allowlist=input.ip_allowlist,
        event_ids=None if input.event_ids is None else [str(value) for value in input.event_ids],
    )
    try:
        keys = clean_registration(
            input.auth_method,
            input.jwks,
            input.jwks_uri,
            _outbound_policy(context),
        )
        if keys is not None:
            created = await lifecycle.create_key_credential(
                context.tenant, context.actor, draft, keys, now=utcnow()
            )
            return KeyCredentialCreated(credential=await credential_node(context, created))
        issued = await lifecycle.create_credential(
            context.tenant, context.actor, draft, hasher=context.services.hasher, now=utcnow()
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    return CredentialCreated(
        credential=await credential_node(context, issued.credential),
        client_secret=issued.secret_value,
    )


async def regenerate_credential_secret(
    info: strawberry.Info[Context, None], input: RegenerateCredentialSecretInput
) -> RegenerateCredentialSecretResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=PERMISSION_DENIED)
    settings = context.services.settings
    try:
        grace = lifecycle.grace_period(
            input.grace_period_minutes,
            default=settings.rotation_grace_default_minutes,
            maximum=settings.rotation_grace_max_minutes,
        )
        issued = await lifecycle.regenerate_secret(
            context.tenant,
            context.actor,
            str(input.id),
            grace,
            hasher=context.services.hasher,
            now=utcnow(),
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    except lifecycle.CredentialNotFound:
        return NotFound(message=NOT_FOUND)
    except lifecycle.CredentialNotActive as error:
        return _not_active(error)
    except lifecycle.CredentialUsesKeys:
        return CredentialUsesKeys(message=USES_KEYS)
    return CredentialSecretRegenerated(
        credential=await credential_node(context, issued.credential),
        client_secret=issued.secret_value,
    )


async def end_previous_secret(
    info: strawberry.Info[Context, None], input: EndPreviousSecretInput
) -> EndPreviousSecretResult:
    """End a previous secret before its grace period runs out (see `CredentialSecret.safeToEnd`).

    Ending one that already ended or expired returns the credential unchanged."""
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=PERMISSION_DENIED)
    windows = LifecycleWindows.from_settings(context.services.settings)
    try:
        credential = await previous_secrets.end_previous_secret(
            context.tenant,
            context.actor,
            str(input.id),
            str(input.secret_id),
            now=utcnow(),
            settle=windows.settle,
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    except lifecycle.CredentialNotFound:
        return NotFound(message=NOT_FOUND)
    except previous_secrets.SecretNotFound:
        return NotFound(message=SECRET_NOT_FOUND)
    except lifecycle.CredentialNotActive as error:
        return _not_active(error)
    return PreviousSecretEnded(credential=await credential_node(context, credential))


async def revoke_credential(
    info: strawberry.Info[Context, None], input: RevokeCredentialInput
) -> RevokeCredentialResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=PERMISSION_DENIED)
    try:
        revoked = await credential_changes.revoke_credential(
            context.tenant, context.actor, str(input.id), input.reason, now=utcnow()
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    except lifecycle.CredentialNotFound:
        return NotFound(message=NOT_FOUND)
    return CredentialRevoked(credential=await credential_node(context, revoked))


async def update_credential(
    info: strawberry.Info[Context, None], input: UpdateCredentialInput
) -> UpdateCredentialResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=PERMISSION_DENIED)
    maxima = context.services.settings.usage
    try:
        changes = CredentialChanges(
            name=required(input.name, "name"),
            contact_email=required(input.contact_email, "contactEmail"),
            access_level=required(input.access_level, "accessLevel"),
            scopes=given(input.scopes),
            expires_at=given(input.expires_at),
            ip_allowlist=given(input.ip_allowlist),
            event_ids=_event_restriction(input),
            rate_limit_per_minute=_limit(
                input.rate_limit_per_minute,
                input.use_organisation_rate_limit,
                "rateLimitPerMinute",
                maxima.max_rate_limit_per_minute,
            ),
            token_quota_per_minute=_limit(
                input.token_quota_per_minute,
                input.use_organisation_token_quota,
                "tokenQuotaPerMinute",
                maxima.max_token_quota_per_minute,
            ),
            limit_mode=(
                KEEP
                if input.limit_mode is None or input.limit_mode is strawberry.UNSET
                else input.limit_mode
            ),
            keys=_key_replacement(context, input),
        )
        updated = await credential_changes.update_credential(
            context.tenant, context.actor, str(input.id), changes, now=utcnow()
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    except lifecycle.CredentialNotFound:
        return NotFound(message=NOT_FOUND)
    except lifecycle.CredentialNotActive as error:
        return _not_active(error)
    return CredentialUpdated(credential=await credential_node(context, updated))

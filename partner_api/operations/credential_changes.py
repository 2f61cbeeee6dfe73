"""The credential lifecycle's changes to an existing credential: update (re-scope, or replace a
key credential's keys) and revoke.

Like creation, each is one transaction that also writes its audit event and its change-feed row.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.partners import change_feed
from models.credential import Credential, CredentialKey, CredentialSecret
from models.enums import AccessLevel, AuditAction, ClientAuthMethod, CredentialStatus
from models.notifications import NotificationType
from models.oauth import ChangeKind
from models.tenancy import TenantScope
from partner_api.foundation.validation import (
    InvalidInput,
    clean_email,
    clean_ip_allowlist,
    clean_name,
    clean_policy_expiry,
    clean_reason,
    clean_scopes,
)
from partner_api.operations import audit, notification_events
from partner_api.operations.client_key_registration import (
    NOT_A_KEY_CREDENTIAL,
    KeyRegistration,
    key_summary,
    write_keys,
)
from partner_api.operations.credential_policy import max_lifetime_days
from partner_api.operations.credentials import (
    CredentialChanges,
    CredentialNotActive,
    CredentialNotFound,
    Keep,
    public_settings,
    snapshot,
)
from partner_api.operations.event_restriction import clean_event_ids


async def revoke_credential(
    scope: TenantScope, actor: Actor, credential_id: str, reason: str | None, *, now: datetime
) -> Credential:
    """Revoke for good. Revoking a revoked credential changes nothing and is not an error."""
    cleaned_reason = clean_reason(reason)
    async with in_transaction():
        credential = await scope.credential(credential_id, for_update=True)
        if credential is None:
            raise CredentialNotFound
        if credential.revoked_at is not None:
            return credential
        credential.revoked_at = now
        credential.revoked_by_id = actor.identity.user_id if actor.identity else None
        credential.revocation_reason = cleaned_reason
        await credential.save(
            update_fields=["revoked_at", "revoked_by_id", "revocation_reason", "updated_at"]
        )
        await CredentialSecret.filter(credential=credential, ended_at__isnull=True).update(
            ended_at=now
        )
        # Every process drops its cached copy within the change feed's bound (RS-10).
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential.id)
        await audit.record(
            AuditAction.CREDENTIAL_REVOKED,
            organisation_id=scope.organisation_id,
            actor=actor,
            credential=credential,
            after={"reason": cleaned_reason},
        )
        await notification_events.record(
            NotificationType.CREDENTIAL_REVOKED,
            organisation_id=scope.organisation_id,
            credential=credential,
            facts={"reason": cleaned_reason},
            now=now,
        )
    return credential


def same_moment(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.tzinfo is not None and a == b


async def _key_view(credential: Credential) -> dict[str, object]:
    """The audited view of a key credential's registration: its URI and registered keys (kid,
    alg, thumbprint; never key material). Rows the token endpoint added for keys fetched from
    the URI are not part of the registration."""
    if credential.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
        return {}
    rows = await CredentialKey.filter(credential=credential, from_uri=False).order_by("kid")
    return {"jwksUri": credential.jwks_uri, "keys": key_summary(rows)}


async def _replace_keys(credential: Credential, registration: KeyRegistration) -> None:
    """Rotation (add the new key to the set, later remove the old one) or a new URI. Only a key
    credential has keys to replace."""
    if credential.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
        field = "jwks" if registration.keys is not None else "jwksUri"
        raise InvalidInput(field, NOT_A_KEY_CREDENTIAL)
    if registration.jwks_uri == credential.jwks_uri and registration.jwks == credential.jwks:
        return  # the same URI keeps the rows of the keys it has served
    credential.jwks = registration.jwks
    credential.jwks_uri = registration.jwks_uri
    await write_keys(credential, registration)


def _changed_settings(
    credential: Credential,
    changes: CredentialChanges,
    now: datetime,
    max_lifetime_days: int | None,
    event_ids: list[str] | Keep | None,
) -> None:
    """Apply validated `changes` to `credential` in memory."""
    if not isinstance(changes.name, Keep):
        credential.name = clean_name(changes.name)
    if not isinstance(changes.contact_email, Keep):
        credential.contact_email = clean_email(changes.contact_email)
    level = credential.access_level
    if not isinstance(changes.access_level, Keep):
        level = changes.access_level
    requested: list[str] | None
    if not isinstance(changes.scopes, Keep):
        requested = changes.scopes
    elif level is AccessLevel.FINE_GRAINED and credential.access_level is AccessLevel.FINE_GRAINED:
        requested = list(credential.scopes)
    else:
        requested = None
    credential.scopes = clean_scopes(level, requested)
    credential.access_level = level
    if not isinstance(changes.expires_at, Keep) and not same_moment(
        changes.expires_at, credential.expires_at
    ):
        # A new expiry must respect the policy; an unchanged one is kept even when the policy is
        # newer and stricter (existing credentials are not cut short).
        credential.expires_at = clean_policy_expiry(
            changes.expires_at, now=now, max_lifetime_days=max_lifetime_days, required=True
        )
    if not isinstance(changes.ip_allowlist, Keep):
        credential.ip_allowlist = clean_ip_allowlist(changes.ip_allowlist)
    if not isinstance(event_ids, Keep):
        credential.event_ids = event_ids
    if not isinstance(changes.rate_limit_per_minute, Keep):
        credential.rate_limit_per_minute = changes.rate_limit_per_minute
    if not isinstance(changes.token_quota_per_minute, Keep):
        credential.token_quota_per_minute = changes.token_quota_per_minute
    if not isinstance(changes.limit_mode, Keep):
        credential.limit_mode = changes.limit_mode


async def update_credential(
    scope: TenantScope,
    actor: Actor,
    credential_id: str,
    changes: CredentialChanges,
    *,
    now: datetime,
) -> Credential:
    """Change name, contact, access level/scopes, expiry, IP allowlist, events, limits or a key
    credential's keys (not once revoked).

    An expired credential may be updated, so an administrator can extend its expiry. A new event
    restriction binds the credential's tokens already issued as well, and new limits hold on
    every process, through the change feed below, and so do replaced keys: every process drops
    its cached keys of the credential within the feed's bound. A change that changes nothing
    writes nothing (key rows rewritten with the same keys stay as they were)."""
    event_ids = changes.event_ids
    if isinstance(event_ids, list):
        event_ids = await clean_event_ids(scope, event_ids)
    async with in_transaction():
        credential = await scope.credential(credential_id, for_update=True)
        if credential is None:
            raise CredentialNotFound
        if credential.revoked_at is not None:
            raise CredentialNotActive(CredentialStatus.REVOKED)
        before = snapshot(credential) | await _key_view(credential)
        _changed_settings(
            credential, changes, now, await max_lifetime_days(scope.organisation_id), event_ids
        )
        if not isinstance(changes.keys, Keep):
            await _replace_keys(credential, changes.keys)
        after = snapshot(credential) | await _key_view(credential)
        changed = [key for key in after if after[key] != before[key]]
        if not changed:
            return credential
        await credential.save()
        # Every process drops its cached copy within the change feed's bound (RS-10).
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential.id)
        await audit.record(
            AuditAction.CREDENTIAL_UPDATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            credential=credential,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
        await notification_events.record(
            NotificationType.CREDENTIAL_UPDATED,
            organisation_id=scope.organisation_id,
            credential=credential,
            facts={
                "changes": {
                    key: {"before": before[key], "after": after[key]}
                    for key in changed
                    if key != "contactEmail"
                },
                **public_settings(credential),
            },
            now=now,
        )
    return credential

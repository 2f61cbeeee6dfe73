"""The credential lifecycle: create (with a secret, or with public keys for private_key_jwt) and
regenerate (rotate); its values and refusals. (Update and revoke are
partner_api/operations/credential_changes.py; ending a previous secret early is
partner_api/operations/previous_secrets.py.)

Each operation is one transaction that also writes its audit event, so a change is never without
its trail and a trail never describes a change that did not happen. Expected refusals are raised
as the exceptions below and turned into GraphQL union members by the resolvers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.partners import change_feed
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import new_client_id, new_client_secret
from models.credential import Credential, CredentialSecret
from models.enums import AccessLevel, AuditAction, ClientAuthMethod, CredentialStatus, LimitMode
from models.notifications import NotificationType
from models.oauth import ChangeKind
from models.tenancy import TenantScope
from partner_api.foundation import scopes as catalogue
from partner_api.foundation.validation import KEEP as KEEP  # re-exported: update inputs use it
from partner_api.foundation.validation import (
    InvalidInput,
    clean_email,
    clean_ip_allowlist,
    clean_name,
    clean_policy_expiry,
    clean_scopes,
)
from partner_api.foundation.validation import Keep as Keep
from partner_api.operations import audit, notification_events
from partner_api.operations.client_key_registration import KeyRegistration, register_keys
from partner_api.operations.credential_policy import max_lifetime_days
from partner_api.operations.event_restriction import clean_event_ids


class CredentialNotFound(Exception):
    pass


class CredentialUsesKeys(Exception):
    """A secret was asked of a PRIVATE_KEY_JWT credential, which has none."""


class CredentialNotActive(Exception):
    def __init__(self, status: CredentialStatus) -> None:
        super().__init__(status.value)
        self.status = status


@dataclass(frozen=True)
class CredentialDraft:
    name: str
    contact_email: str
    access_level: AccessLevel
    scopes: list[str] | None = None
    expires_at: datetime | None = None
    ip_allowlist: list[str] | None = None
    # None: every event of the organisation (partner_api/operations/event_restriction.py).
    event_ids: list[str] | None = None


@dataclass(frozen=True)
class CredentialChanges:
    name: str | Keep = KEEP
    contact_email: str | Keep = KEEP
    access_level: AccessLevel | Keep = KEEP
    scopes: list[str] | Keep | None = KEEP
    expires_at: datetime | Keep | None = KEEP
    ip_allowlist: list[str] | Keep | None = KEEP
    # None lifts the restriction: every event of the organisation again.
    event_ids: list[str] | Keep | None = KEEP
    # Per-minute limits, already within the service maximum (validation.clean_limit); None: the
    # organisation's default again.
    rate_limit_per_minute: int | Keep | None = KEEP
    token_quota_per_minute: int | Keep | None = KEEP
    limit_mode: LimitMode | Keep = KEEP
    # A PRIVATE_KEY_JWT credential's new key source (already validated), replacing the old one.
    keys: KeyRegistration | Keep = KEEP


@dataclass(frozen=True)
class IssuedSecret:
    """A secret value that exists only here: returned once to the caller, never stored or logged."""

    credential: Credential
    secret_value: str


def effective_scopes(credential: Credential) -> list[str]:
    """What the credential may be granted now (partner_api.foundation.scopes.effective_scopes)."""
    return catalogue.effective_scopes(credential.access_level, credential.scopes)


def snapshot(credential: Credential) -> dict[str, Any]:
    """The audited, non-secret view of a credential's settings."""
    return {
        "name": credential.name,
        "contactEmail": credential.contact_email,
        "accessLevel": credential.access_level.value,
        "scopes": list(credential.scopes),
        "expiresAt": credential.expires_at.isoformat() if credential.expires_at else None,
        "ipAllowlist": list(credential.ip_allowlist),
        "eventIds": None if credential.event_ids is None else list(credential.event_ids),
        "rateLimitPerMinute": credential.rate_limit_per_minute,
        "tokenQuotaPerMinute": credential.token_quota_per_minute,
        "limitMode": credential.limit_mode.value,
    }


def public_settings(credential: Credential) -> dict[str, Any]:
    """What a notification tells about a credential's settings (never its contact or secrets)."""
    return {
        "access_level": credential.access_level.value,
        "scopes": effective_scopes(credential),
        "expires_at": credential.expires_at.isoformat() if credential.expires_at else None,
        "event_ids": None if credential.event_ids is None else list(credential.event_ids),
    }


async def _add_secret(credential: Credential, hasher: KeyedHasher) -> str:
    new = new_client_secret()
    await CredentialSecret.create(
        credential=credential,
        lookup_id=new.lookup_id,
        secret_hash=hasher.hash(new.value),
        hint=new.hint,
    )
    return new.value


async def create_credential(
    scope: TenantScope, actor: Actor, draft: CredentialDraft, *, hasher: KeyedHasher, now: datetime
) -> IssuedSecret:
    """A CLIENT_SECRET credential and its first secret, shown once."""
    async with in_transaction():
        credential = await _create(scope, actor, draft, now=now, keys=None)
        secret_value = await _add_secret(credential, hasher)
    return IssuedSecret(credential=credential, secret_value=secret_value)


async def create_key_credential(
    scope: TenantScope,
    actor: Actor,
    draft: CredentialDraft,
    keys: KeyRegistration,
    *,
    now: datetime,
) -> Credential:
    """A PRIVATE_KEY_JWT credential (RFC 7523 §2.2): no secret exists, only its public keys."""
    async with in_transaction():
        return await _create(scope, actor, draft, now=now, keys=keys)


async def _create(
    scope: TenantScope,
    actor: Actor,
    draft: CredentialDraft,
    *,
    now: datetime,
    keys: KeyRegistration | None,
) -> Credential:
    """The credential row, its keys, its audit event and notification. Call inside a
    transaction, so a refusal (a key of another credential) leaves nothing behind."""
    name = clean_name(draft.name)
    contact_email = clean_email(draft.contact_email)
    scopes = clean_scopes(draft.access_level, draft.scopes)
    # No expiry under a lifetime policy: the longest one allowed (docs/credential-lifecycle.md).
    expires_at = clean_policy_expiry(
        draft.expires_at,
        now=now,
        max_lifetime_days=await max_lifetime_days(scope.organisation_id),
        required=False,
    )
    ip_allowlist = clean_ip_allowlist(draft.ip_allowlist)
    event_ids = await clean_event_ids(scope, draft.event_ids)
    credential = await Credential.create(
        organisation_id=scope.organisation_id,
        name=name,
        contact_email=contact_email,
        client_id=new_client_id(),
        access_level=draft.access_level,
        scopes=scopes,
        expires_at=expires_at,
        ip_allowlist=ip_allowlist,
        event_ids=event_ids,
        created_by_id=actor.identity.user_id if actor.identity else None,
        **({} if keys is None else keys.columns()),
    )
    after = {**snapshot(credential), "clientId": credential.client_id}
    if keys is not None:
        after |= await register_keys(credential, keys)
    await audit.record(
        AuditAction.CREDENTIAL_CREATED,
        organisation_id=scope.organisation_id,
        actor=actor,
        credential=credential,
        after=after,
    )
    await notification_events.record(
        NotificationType.CREDENTIAL_CREATED,
        organisation_id=scope.organisation_id,
        credential=credential,
        facts=public_settings(credential),
        now=now,
    )
    return credential


async def locked_active_credential(
    scope: TenantScope, credential_id: str, *, now: datetime
) -> Credential:
    """The caller's active credential, row-locked until the transaction ends: the lock serialises
    concurrent changes of one credential's secrets (PostgreSQL). Call inside a transaction."""
    credential = await scope.credential(credential_id, for_update=True)
    if credential is None:
        raise CredentialNotFound
    status = credential.status_at(now)
    if status is not CredentialStatus.ACTIVE:
        raise CredentialNotActive(status)
    return credential


def grace_period(requested: int | None, *, default: int, maximum: int) -> timedelta:
    minutes = default if requested is None else requested
    if not 0 <= minutes <= maximum:
        raise InvalidInput(
            "gracePeriodMinutes", f"Grace period must be between 0 and {maximum} minutes."
        )
    return timedelta(minutes=minutes)


async def regenerate_secret(
    scope: TenantScope,
    actor: Actor,
    credential_id: str,
    grace: timedelta,
    *,
    hasher: KeyedHasher,
    now: datetime,
) -> IssuedSecret:
    """Issue a new secret. With a grace period the current secret keeps working until it ends;
    a secret already in its grace period ends at once, so at most two secrets are ever live."""
    async with in_transaction():
        credential = await locked_active_credential(scope, credential_id, now=now)
        if credential.auth_method is ClientAuthMethod.PRIVATE_KEY_JWT:
            raise CredentialUsesKeys
        live = [
            secret
            for secret in await CredentialSecret.filter(
                credential=credential, ended_at__isnull=True
            )
            if secret.is_live_at(now)
        ]
        ended, kept = [], []
        for secret in live:
            if grace and secret.expires_at is None:
                secret.expires_at = now + grace
                await secret.save(update_fields=["expires_at"])
                kept.append(secret)
            else:
                secret.ended_at = now
                await secret.save(update_fields=["ended_at"])
                ended.append(secret)
        secret_value = await _add_secret(credential, hasher)
        # Every process drops its cached copy within the change feed's bound (RS-10).
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential.id)
        await audit.record(
            AuditAction.CREDENTIAL_SECRET_REGENERATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            credential=credential,
            after={
                "gracePeriodMinutes": int(grace.total_seconds() // 60),
                "endedSecretIds": [str(secret.id) for secret in ended],
                "previousSecretIds": [str(secret.id) for secret in kept],
                "previousSecretExpiresAt": (now + grace).isoformat() if kept else None,
            },
        )
        await notification_events.record(
            NotificationType.CREDENTIAL_SECRET_ROTATED,
            organisation_id=scope.organisation_id,
            credential=credential,
            facts={
                "grace_period_minutes": int(grace.total_seconds() // 60),
                "previous_secret_expires_at": (now + grace).isoformat() if kept else None,
            },
            now=now,
        )
    return IssuedSecret(credential=credential, secret_value=secret_value)

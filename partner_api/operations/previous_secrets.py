"""Ending a previous secret before its grace period runs out: "safe to end" → end it now.

One transaction that ends the secret, publishes the change (so every process stops accepting it
and the tokens it obtained) and writes the audit event, like every lifecycle operation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.partners import change_feed
from models.credential import Credential, CredentialSecret
from models.enums import AuditAction
from models.notifications import NotificationType
from models.oauth import ChangeKind
from models.tenancy import TenantScope, parse_id
from partner_api.foundation.validation import InvalidInput
from partner_api.operations import audit, notification_events
from partner_api.operations.credentials import locked_active_credential
from partner_api.operations.lifecycle import safe_to_end


class SecretNotFound(Exception):
    """No secret with this id belongs to the credential (unknown and foreign ids alike)."""


async def end_previous_secret(
    scope: TenantScope,
    actor: Actor,
    credential_id: str,
    secret_id: str,
    *,
    now: datetime,
    settle: timedelta,
) -> Credential:
    """End a previous secret before its grace period runs out ("safe to end" → end it now).

    The tokens it obtained stop working with it (their `secret_id`), on every process within the
    change feed's bound. Ending a secret that already ended or expired changes nothing and is not
    an error; the current secret cannot be ended this way (regenerate replaces it).
    """
    async with in_transaction():
        credential = await locked_active_credential(scope, credential_id, now=now)
        parsed = parse_id(secret_id)
        secrets = await CredentialSecret.filter(credential=credential).order_by("-created_at")
        secret = next((row for row in secrets if row.id == parsed), None)
        if secret is None:
            raise SecretNotFound
        if secret.ended_at is None and secret.expires_at is None:
            raise InvalidInput(
                "secretId", "This is the current secret; regenerate the secret to replace it."
            )
        if not secret.is_live_at(now):
            return credential
        newer = [row for row in secrets if row.created_at > secret.created_at]
        was_safe = safe_to_end(
            secret,
            newer_secret_created_at=min(row.created_at for row in newer) if newer else None,
            credential_active=True,
            now=now,
            settle=settle,
        )
        secret.ended_at = now
        await secret.save(update_fields=["ended_at"])
        # Every process drops its cached copy within the change feed's bound (RS-10).
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential.id)
        await audit.record(
            AuditAction.CREDENTIAL_PREVIOUS_SECRET_ENDED,
            organisation_id=scope.organisation_id,
            actor=actor,
            credential=credential,
            after={
                "secretId": str(secret.id),
                "gracePeriodEndedAt": now.isoformat(),
                "gracePeriodWouldHaveEndedAt": secret.expires_at.isoformat()
                if secret.expires_at
                else None,
                "lastUsedAt": secret.last_used_at.isoformat() if secret.last_used_at else None,
                "safeToEnd": bool(was_safe),
            },
        )
        await notification_events.record(
            NotificationType.CREDENTIAL_PREVIOUS_SECRET_ENDED,
            organisation_id=scope.organisation_id,
            credential=credential,
            facts={"secret_id": str(secret.id), "reason": "ended_early"},
            now=now,
            # The scan records a grace period that runs out with the same key: one event per
            # secret, whichever ends it.
            once_key=previous_secret_once_key(secret.id),
        )
    return credential


def previous_secret_once_key(secret_id: UUID) -> str:
    return f"previous_secret_ended:{secret_id}"

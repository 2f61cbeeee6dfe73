"""The time-based notifications: an expiry coming up (30, 7 and 1 days before), an expiry, a
credential gone stale, a previous secret whose grace period ran out.

A scan looks at the clock, not at what it did before: each event it records carries a `once_key`
naming the credential (or secret), the threshold and the moment it is about, and the key is
unique in the database. So scans in several processes at once, or again after a restart or
across midnight, record each one once; on PostgreSQL an advisory lock also keeps a second scan
from doing the same work at the same time. Each event is written in its own savepoint of the
scan's transaction, so one that another process recorded first costs that one row, not the rest
of the scan.

When several expiry reminders are due at once (a credential made to expire in 5 days), only the
nearest is sent: "expires in 7 days", not also "in 30 days". Expiries and grace periods that ended
more than `LOOKBACK` ago are left alone, so turning notifications on does not announce every
credential that expired last year.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.credential import Credential, CredentialSecret
from models.notifications import NotificationEvent, NotificationType
from partner_api.operations import notification_events
from partner_api.operations.lifecycle import LifecycleWindows, last_activity
from partner_api.operations.previous_secrets import previous_secret_once_key

REMINDER_DAYS = (30, 7, 1)
LOOKBACK = timedelta(days=1)
# Advisory-lock key of the scan on PostgreSQL ("notescan" as a big-endian int64).
SCAN_LOCK_KEY = int.from_bytes(b"notescan", "big") - 2**63


async def scan(*, now: datetime, windows: LifecycleWindows) -> int:
    """Record every time-based event that is due and not yet recorded; the number recorded.
    Returns 0 without looking when another process holds the scan (PostgreSQL)."""
    async with in_transaction() as connection:
        if connection.capabilities.dialect == "postgres":
            held = await connection.execute_query_dict(
                "SELECT pg_try_advisory_xact_lock($1) AS held", [SCAN_LOCK_KEY]
            )
            if not held[0]["held"]:
                return 0
        return await _scan(now, windows)


async def _scan(now: datetime, windows: LifecycleWindows) -> int:
    recorded = 0
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    expiring = Credential.filter(
        revoked_at__isnull=True, expires_at__isnull=False, expires_at__gt=now - LOOKBACK
    ).filter(expires_at__lte=horizon)
    for credential in await expiring:
        assert credential.expires_at is not None
        if credential.expires_at <= now:
            recorded += await _once(
                NotificationType.CREDENTIAL_EXPIRED,
                credential,
                {"expires_at": credential.expires_at.isoformat()},
                f"expired:{credential.id}:{credential.expires_at.isoformat()}",
                now,
            )
            continue
        days = _nearest_reminder(credential.expires_at - now)
        if days is not None:
            recorded += await _once(
                NotificationType.CREDENTIAL_EXPIRING,
                credential,
                {"expires_at": credential.expires_at.isoformat(), "days_before": days},
                f"expiring:{days}:{credential.id}:{credential.expires_at.isoformat()}",
                now,
            )
    stale_before = now - windows.stale_after
    unused = Credential.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    unused = unused.filter(
        Q(last_used_at__lte=stale_before)
        | Q(last_used_at__isnull=True, created_at__lte=stale_before)
    )
    for credential in await unused:
        since = last_activity(credential)
        recorded += await _once(
            NotificationType.CREDENTIAL_STALE,
            credential,
            {
                "last_used_at": None if credential.last_used_at is None else since.isoformat(),
                "stale_after_days": windows.stale_after.days,
            },
            f"stale:{credential.id}:{since.isoformat()}",
            now,
        )
    ended = CredentialSecret.filter(
        ended_at__isnull=True, expires_at__isnull=False, expires_at__lte=now
    ).filter(expires_at__gt=now - LOOKBACK)
    for secret in await ended.select_related("credential"):
        recorded += await _once(
            NotificationType.CREDENTIAL_PREVIOUS_SECRET_ENDED,
            secret.credential,
            {"secret_id": str(secret.id), "reason": "grace_period_over"},
            previous_secret_once_key(secret.id),
            now,
        )
    return recorded


def _nearest_reminder(remaining: timedelta) -> int | None:
    """The smallest threshold (in days) that `remaining` is within, if any."""
    due = [days for days in REMINDER_DAYS if remaining <= timedelta(days=days)]
    return min(due) if due else None


async def _once(
    kind: NotificationType,
    credential: Credential,
    facts: dict[str, Any],
    once_key: str,
    now: datetime,
) -> int:
    if await NotificationEvent.exists(once_key=once_key):
        return 0
    try:
        async with in_transaction():
            await notification_events.record(
                kind,
                organisation_id=credential.organisation_id,  # type: ignore[attr-defined]
                credential=credential,
                facts=facts,
                now=now,
                once_key=once_key,
            )
    except IntegrityError:
        return 0  # another process recorded it between the check and the insert
    return 1

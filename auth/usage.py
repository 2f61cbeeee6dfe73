"""Recording token use without a database write per request (issue item 7, LG-01).

- Last used (time + address) per secret and per credential is written at most once per
  `interval` per secret: the first use is written at once, later ones when the interval passed.
- Token issuance and refused client authentications are audited as one event per credential,
  action and minute, carrying the count (`after.count`), so a flood cannot fill the audit table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import ActorType, AuditAction

logger = logging.getLogger("partner_api.usage")
AUDIT_WINDOW = timedelta(minutes=1)


@dataclass
class _Aggregate:
    organisation_id: UUID
    credential_id: UUID
    client_id: str
    action: AuditAction
    started: datetime
    ended: datetime
    count: int = 0
    ip_address: str | None = None
    details: dict[str, int] = field(default_factory=dict)


@dataclass
class _LastUse:
    credential_id: UUID
    at: datetime
    ip_address: str | None
    written_at: datetime | None = None
    dirty: bool = True


class UsageRecorder:
    def __init__(self, *, last_used_interval: timedelta) -> None:
        self._interval = last_used_interval
        self._aggregates: dict[tuple[UUID, AuditAction], _Aggregate] = {}
        self._last_use: dict[UUID, _LastUse] = {}

    def _aggregate(
        self,
        *,
        organisation_id: UUID,
        credential_id: UUID,
        client_id: str,
        action: AuditAction,
        ip_address: str | None,
        now: datetime,
        detail: str | None = None,
    ) -> None:
        key = (credential_id, action)
        aggregate = self._aggregates.get(key)
        if aggregate is None:
            aggregate = self._aggregates[key] = _Aggregate(
                organisation_id=organisation_id,
                credential_id=credential_id,
                client_id=client_id,
                action=action,
                started=now,
                ended=now,
            )
        aggregate.count += 1
        aggregate.ended = now
        aggregate.ip_address = ip_address
        if detail is not None:
            aggregate.details[detail] = aggregate.details.get(detail, 0) + 1

    def token_issued(
        self,
        *,
        organisation_id: UUID,
        credential_id: UUID,
        client_id: str,
        secret_id: UUID,
        ip_address: str | None,
        now: datetime,
    ) -> bool:
        """Count an issuance; True when a last-used write is due now (first use or interval)."""
        self._aggregate(
            organisation_id=organisation_id,
            credential_id=credential_id,
            client_id=client_id,
            action=AuditAction.TOKEN_ISSUED,
            ip_address=ip_address,
            now=now,
        )
        use = self._last_use.get(secret_id)
        if use is None:
            use = self._last_use[secret_id] = _LastUse(credential_id, now, ip_address)
        use.at, use.ip_address, use.dirty = now, ip_address, True
        return use.written_at is None or now - use.written_at >= self._interval

    def token_refused(
        self,
        *,
        organisation_id: UUID,
        credential_id: UUID,
        client_id: str,
        reason: str,
        ip_address: str | None,
        now: datetime,
    ) -> None:
        self._aggregate(
            organisation_id=organisation_id,
            credential_id=credential_id,
            client_id=client_id,
            action=AuditAction.TOKEN_REFUSED,
            ip_address=ip_address,
            now=now,
            detail=reason,
        )

    async def write_last_used(self, now: datetime, *, force: bool = False) -> None:
        for secret_id, use in list(self._last_use.items()):
            due = use.written_at is None or now - use.written_at >= self._interval
            if not use.dirty or not (due or force):
                continue
            use.written_at, use.dirty = now, False
            await CredentialSecret.filter(id=secret_id).update(
                last_used_at=use.at, last_used_ip=use.ip_address
            )
            await Credential.filter(id=use.credential_id).update(
                last_used_at=use.at, last_used_ip=use.ip_address
            )

    async def flush_audit(self, now: datetime, *, force: bool = False) -> int:
        """Write the aggregates whose minute is over (all of them with `force`)."""
        due = [
            key
            for key, aggregate in self._aggregates.items()
            if force or now - aggregate.started >= AUDIT_WINDOW
        ]
        for key in due:
            aggregate = self._aggregates[key]
            after: dict[str, object] = {
                "count": aggregate.count,
                "from": aggregate.started.isoformat(),
                "to": aggregate.ended.isoformat(),
            }
            if aggregate.details:
                after["reasons"] = dict(aggregate.details)
            await AuditEvent.create(
                organisation_id=aggregate.organisation_id,
                action=aggregate.action,
                actor_type=ActorType.CREDENTIAL,
                actor_label=aggregate.client_id,
                credential_id=aggregate.credential_id,
                ip_address=aggregate.ip_address,
                after=after,
            )
            # Removed only once written, so a failed write is retried by the next flush.
            del self._aggregates[key]
        return len(due)

    async def flush(self, now: datetime, *, force: bool = False) -> None:
        try:
            await self.write_last_used(now, force=force)
            await self.flush_audit(now, force=force)
        except Exception:
            # Usage bookkeeping must never fail a token request; the next flush retries.
            logger.exception("could not record credential usage")

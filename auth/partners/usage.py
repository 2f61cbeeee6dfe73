"""Recording token use without a database write per request (LG-01).

- Last used (time + address) per secret and per credential is written at most once per
  `interval` per secret: the first use is written at once, later ones when the interval passed.
- A private_key_jwt key's last use (`CredentialKey.last_used_at`) likewise, at most once per
  `interval` per key; a key published at a `jwks_uri` gets its row on its first use.
- Token issuance and refused client authentications are audited as one event per credential,
  action and minute, carrying the count (`after.count`), so a flood cannot fill the audit table.
- A refusal is counted by the client ID presented, and the flush looks up which of those IDs
  exist, in one query for all of them: the refusal itself costs no database query, whether the
  client ID exists or not (CR-05). Refusals naming no credential are dropped then. At most
  `MAX_PENDING_REFUSALS` client IDs wait for a flush; refusals for further IDs in that time are
  only logged (every refusal is, by auth.partners.client_authentication), so a flood of made-up IDs
  cannot grow memory.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from auth.partners.client_keys import PublicKey
from models.audit import write_audit_event
from models.credential import Credential, CredentialKey, CredentialSecret
from models.enums import ActorType, AuditAction

logger = logging.getLogger("partner_api.usage")
AUDIT_WINDOW = timedelta(minutes=1)
MAX_PENDING_REFUSALS = 10_000


@dataclass(slots=True)
class _Aggregate:
    started: datetime
    ended: datetime
    count: int = 0
    ip_address: str | None = None
    details: dict[str, int] = field(default_factory=dict)

    def add(self, now: datetime, ip_address: str | None, detail: str | None = None) -> None:
        self.count += 1
        self.ended = now
        self.ip_address = ip_address
        if detail is not None:
            self.details[detail] = self.details.get(detail, 0) + 1

    def summary(self) -> dict[str, object]:
        after: dict[str, object] = {
            "count": self.count,
            "from": self.started.isoformat(),
            "to": self.ended.isoformat(),
        }
        if self.details:
            after["reasons"] = dict(self.details)
        return after


@dataclass(kw_only=True, slots=True)
class _Issued(_Aggregate):
    organisation_id: UUID
    client_id: str


@dataclass(slots=True)
class _LastUse:
    credential_id: UUID
    at: datetime
    ip_address: str | None
    written_at: datetime | None = None
    dirty: bool = True


@dataclass
class _KeyUse:
    key: PublicKey
    from_uri: bool
    at: datetime
    written_at: datetime | None = None
    dirty: bool = True


class UsageRecorder:
    def __init__(self, *, last_used_interval: timedelta) -> None:
        self._interval = last_used_interval
        self._issued: dict[UUID, _Issued] = {}
        self._refused: dict[str, _Aggregate] = {}
        self._last_use: dict[UUID, _LastUse] = {}
        # By credential, then kid: a first use writes its own credential's keys only.
        self._key_use: dict[UUID, dict[str, _KeyUse]] = {}
        # One flush at a time: two would both write an aggregate and both delete it.
        self._flushing = asyncio.Lock()

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
        issued = self._issued.get(credential_id)
        if issued is None:
            issued = self._issued[credential_id] = _Issued(
                started=now, ended=now, organisation_id=organisation_id, client_id=client_id
            )
        issued.add(now, ip_address)
        use = self._last_use.get(secret_id)
        if use is None:
            use = self._last_use[secret_id] = _LastUse(credential_id, now, ip_address)
        use.at, use.ip_address, use.dirty = now, ip_address, True
        return use.written_at is None or now - use.written_at >= self._interval

    def key_used(
        self,
        credential_id: UUID,
        key: PublicKey,
        *,
        from_uri: bool,
        ip_address: str | None,
        now: datetime,
    ) -> None:
        """Remember that `key` signed an accepted assertion; written by the next flush."""
        uses = self._key_use.setdefault(credential_id, {})
        use = uses.get(key.kid)
        if use is None or use.key.thumbprint != key.thumbprint:
            use = uses[key.kid] = _KeyUse(key, from_uri, now)
        use.at, use.dirty = now, True

    def token_refused(
        self, *, client_id: str, reason: str, ip_address: str | None, now: datetime
    ) -> None:
        """Count a refused client authentication under the client ID presented."""
        refused = self._refused.get(client_id)
        if refused is None:
            if len(self._refused) >= MAX_PENDING_REFUSALS:
                return
            refused = self._refused[client_id] = _Aggregate(started=now, ended=now)
        refused.add(now, ip_address, reason)

    async def write_last_used(self, now: datetime, *, force: bool = False) -> None:
        for secret_id, use in list(self._last_use.items()):
            if use.dirty and (force or self._due(use.written_at, now)):
                await self._write_secret_use(secret_id, use, now)
        for credential_id in list(self._key_use):
            await self._write_key_uses(credential_id, now, force=force)

    async def write_due(self, *, secret_id: UUID, credential_id: UUID, now: datetime) -> None:
        """Write the use that made `token_issued` answer True (this secret's, and its
        credential's keys') and nothing else, so a token request waits for its own write only:
        the periodic flush writes the rest. Never raises: bookkeeping must not fail a token."""
        try:
            use = self._last_use.get(secret_id)
            if use is not None and use.dirty:
                await self._write_secret_use(secret_id, use, now)
            await self._write_key_uses(credential_id, now, force=False)
        except Exception:
            logger.exception("could not record credential usage")

    def _due(self, written_at: datetime | None, now: datetime) -> bool:
        return written_at is None or now - written_at >= self._interval

    async def _write_secret_use(self, secret_id: UUID, use: _LastUse, now: datetime) -> None:
        use.written_at, use.dirty = now, False
        await CredentialSecret.filter(id=secret_id).update(
            last_used_at=use.at, last_used_ip=use.ip_address
        )
        await Credential.filter(id=use.credential_id).update(
            last_used_at=use.at, last_used_ip=use.ip_address
        )

    async def _write_key_uses(self, credential_id: UUID, now: datetime, *, force: bool) -> None:
        for kid, use in list(self._key_use.get(credential_id, {}).items()):
            if not use.dirty or not (force or self._due(use.written_at, now)):
                continue
            use.written_at, use.dirty = now, False
            updated = await CredentialKey.filter(credential_id=credential_id, kid=kid).update(
                last_used_at=use.at
            )
            if not updated and use.from_uri:
                key = use.key
                await CredentialKey.get_or_create(
                    credential_id=credential_id,
                    kid=kid,
                    defaults={
                        "alg": key.alg,
                        "jwk": key.jwk,
                        "thumbprint": key.thumbprint,
                        "from_uri": True,
                        "last_used_at": use.at,
                    },
                )

    async def flush_audit(self, now: datetime, *, force: bool = False) -> int:
        """Write the aggregates whose minute is over (all of them with `force`); returns how
        many were due. Each is removed only once written, so a failed write is retried by the
        next flush."""
        issued = [key for key, item in self._issued.items() if force or _over(item, now)]
        for credential_id in issued:
            item = self._issued[credential_id]
            await _write(
                AuditAction.TOKEN_ISSUED, item, item.organisation_id, credential_id, item.client_id
            )
            del self._issued[credential_id]
        refused = [key for key, item in self._refused.items() if force or _over(item, now)]
        if refused:
            known = await Credential.filter(client_id__in=refused).only(
                "id", "organisation_id", "client_id"
            )
            for credential in known:
                await _write(
                    AuditAction.TOKEN_REFUSED,
                    self._refused[credential.client_id],
                    credential.organisation_id,  # type: ignore[attr-defined]
                    credential.id,
                    credential.client_id,
                )
                del self._refused[credential.client_id]
            for client_id in refused:
                self._refused.pop(client_id, None)  # no such credential: nobody to tell
        return len(issued) + len(refused)

    async def flush(self, now: datetime, *, force: bool = False) -> None:
        try:
            async with self._flushing:
                await self.write_last_used(now, force=force)
                await self.flush_audit(now, force=force)
        except Exception:
            # Usage bookkeeping must never fail a token request; the next flush retries.
            logger.exception("could not record credential usage")


def _over(aggregate: _Aggregate, now: datetime) -> bool:
    return now - aggregate.started >= AUDIT_WINDOW


async def _write(
    action: AuditAction,
    aggregate: _Aggregate,
    organisation_id: UUID,
    credential_id: UUID,
    client_id: str,
) -> None:
    await write_audit_event(
        action,
        organisation_id=organisation_id,
        actor_type=ActorType.CREDENTIAL,
        actor_label=client_id,
        credential_id=credential_id,
        ip_address=aggregate.ip_address,
        after=aggregate.summary(),
    )

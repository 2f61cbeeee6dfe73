"""Key sets published at a credential's `jwks_uri`, fetched on demand and cached per process.

Fetched with the outbound safety every other fetch has (partner_api/foundation/outbound.py,
WH-03): https only and no private, loopback or metadata address after DNS in production, no
redirects, 5 s, 64 KiB. A set is used for `CACHE_SECONDS`; an assertion naming a `kid` the cached
set lacks (the partner rotated) refetches, but at most once per `REFETCH_SECONDS` per credential,
so assertions with made-up kids cannot turn us into a request generator against the partner.
A failed fetch keeps the previous set, if any, until it expires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from auth.partners.client_keys import JwksRejected, PublicKey, parse_public_jwks
from partner_api.foundation import outbound
from partner_api.foundation.outbound_policy import OutboundPolicy

logger = logging.getLogger("partner_api.oauth")
CACHE_SECONDS = 300.0
REFETCH_SECONDS = 30.0
MAX_ENTRIES = 10_000


@dataclass
class _Entry:
    uri: str
    keys: tuple[PublicKey, ...]
    fetched_at: float
    attempted_at: float


class JwksFetcher:
    def __init__(
        self, policy: OutboundPolicy, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._policy = policy
        # Monotonic seconds; replaceable so tests can move time past the refetch interval.
        self.clock = clock
        self._entries: dict[UUID, _Entry] = {}

    def forget(self, credential_id: UUID) -> None:
        self._entries.pop(credential_id, None)

    async def keys(
        self, credential_id: UUID, uri: str, *, kid: str | None
    ) -> tuple[PublicKey, ...]:
        """The credential's published keys; empty when none could be fetched."""
        now = self.clock()
        entry = self._entries.get(credential_id)
        if entry is not None and entry.uri != uri:
            entry = None
        if entry is not None:
            fresh = now - entry.fetched_at < CACHE_SECONDS
            known = kid is None or any(key.kid == kid for key in entry.keys)
            if (fresh and known) or now - entry.attempted_at < REFETCH_SECONDS:
                return entry.keys if fresh else ()
        fetched = await self._fetch(uri)
        if fetched is None:
            if entry is None:
                entry = _Entry(uri, (), fetched_at=-CACHE_SECONDS, attempted_at=now)
            entry.attempted_at = now
        else:
            entry = _Entry(uri, fetched, fetched_at=now, attempted_at=now)
        if credential_id not in self._entries and len(self._entries) >= MAX_ENTRIES:
            self._entries.pop(next(iter(self._entries)))
        self._entries[credential_id] = entry
        return entry.keys if now - entry.fetched_at < CACHE_SECONDS else ()

    async def _fetch(self, uri: str) -> tuple[PublicKey, ...] | None:
        # Refused URLs and addresses come back as `error` too ("refused: ...").
        result = await outbound.get(uri, {"Accept": "application/json"}, self._policy)
        if not result.ok:
            logger.warning("jwks_uri fetch failed", extra={"error": result.error})
            return None
        try:
            return tuple(parse_public_jwks(result.body))
        except JwksRejected as rejected:
            logger.warning("jwks_uri served an unusable key set", extra={"reason": str(rejected)})
            return None

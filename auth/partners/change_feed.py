"""Cross-process coherence for what must end access at once (SECURITY.md RS-10).

Writers call `publish` inside the transaction of the change. Every process calls
`ChangeFeed.sync_if_due()` on its hot paths: at most once per poll interval (default 250 ms,
at most 250 ms) it reads the feed rows it has not seen and tells its listener, which drops cached
credentials, adds revoked token ids, or reloads signing keys. The read runs in the background; a
request waits for it only when the last completed read is older than three intervals. A process
also syncs at once after it published a change itself, and goes on syncing before each request
until it has read the rows it inserted: a sync that runs between the insert and the commit of the
publishing transaction does not see them, and must not count them as read. So a change made
through any process is honoured by every process within 3 x 250 ms plus one query — documented
bound: 1 second — and by the process that made it from the first request after its commit.

A row this process inserted that never becomes visible (its transaction rolled back) stops being
waited for after `OWN_ROW_PATIENCE_SECONDS`; until then requests of this process sync before they
are served, one sync shared by every request that arrived before it started.

Rows are read by time with a margin (not only by id) because ids are allocated at insert and a
slower transaction can commit a smaller id after a larger one was read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from models.oauth import ChangeEvent, ChangeKind
from partner_api.foundation.clock import utcnow

logger = logging.getLogger("partner_api.change_feed")
READ_MARGIN = timedelta(seconds=10)
RETENTION = timedelta(days=2)
OWN_ROW_PATIENCE_SECONDS = 1.0

# How many times this process published, and the feed rows it inserted that a sync may not have
# read yet, by id, with the monotonic moment of the insert.
_local_publications = 0
_own_rows: dict[int, float] = {}
_now = time.monotonic


def _remember_own_rows(row_ids: Iterable[int]) -> None:
    """Every feed of this process syncs before its next request until it has read these rows."""
    global _local_publications
    now = _now()
    for expired in [one for one, at in _own_rows.items() if now - at >= OWN_ROW_PATIENCE_SECONDS]:
        del _own_rows[expired]
    for one in row_ids:
        _own_rows[one] = now
    _local_publications += 1


async def publish(
    kind: ChangeKind,
    *,
    credential_id: UUID | None = None,
    jti: str | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Append a change; call inside the transaction that makes the change."""
    row = await ChangeEvent.create(
        kind=kind, credential_id=credential_id, jti=jti, expires_at=expires_at
    )
    _remember_own_rows((row.id,))


async def publish_credentials_changed(credential_ids: Sequence[UUID]) -> None:
    """`publish(CREDENTIAL_CHANGED)` for many credentials in one insert (an organisation-wide
    change, such as its default limits); call inside the transaction that makes the change.

    The last row is inserted on its own because a bulk insert reports no ids: the rows commit
    together, so a sync that has read the last one has read them all."""
    if not credential_ids:
        return
    *most, last = credential_ids
    if most:
        await ChangeEvent.bulk_create(
            [ChangeEvent(kind=ChangeKind.CREDENTIAL_CHANGED, credential_id=one) for one in most]
        )
    row = await ChangeEvent.create(kind=ChangeKind.CREDENTIAL_CHANGED, credential_id=last)
    _remember_own_rows((row.id,))


class ChangeListener(Protocol):
    def credential_changed(self, credential_id: UUID) -> None: ...

    def token_revoked(self, jti: str, expires_at: datetime) -> None: ...

    async def signing_keys_changed(self) -> None: ...


class ChangeFeed:
    def __init__(
        self,
        listener: ChangeListener,
        *,
        poll_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` is the monotonic clock that decides when a read is due; a test that gives
        the feed a clock of its own decides when the poll comes, without sleeping."""
        self._listener = listener
        self._interval = poll_interval_seconds
        self._clock = clock
        self._last_sync = float("-inf")
        self._seen_local = -1
        self._syncs_started = 0
        self._syncs_finished = 0
        self._since: datetime | None = None
        self._seen: dict[int, datetime] = {}
        self._max_staleness = 3 * poll_interval_seconds
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    def start_from(self, moment: datetime) -> None:
        """Only changes from `moment` on matter (the caller loaded fresh state at that moment)."""
        self._since = moment - READ_MARGIN

    def _due(self) -> bool:
        return (
            self._clock() - self._last_sync >= self._interval
            or self._seen_local != _local_publications
        )

    async def sync_if_due(self) -> None:
        """Cheap on the hot path: usually a clock check. A due sync runs in the background
        while requests go on; a request waits only if the last sync is older than
        `max_staleness` (3 poll intervals, at most 750 ms) or this process published a change."""
        if not self._due():
            return
        stale = self._clock() - self._last_sync >= self._max_staleness
        if stale or self._seen_local != _local_publications:
            arrived_after = self._syncs_started
            async with self._lock:
                # A request that queued behind a sync started after it arrived need not repeat
                # it, even while this process still waits for its own rows to become visible.
                if self._due() and self._syncs_finished <= arrived_after:
                    await self._sync()
            return
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._sync_in_background())

    async def _sync_in_background(self) -> None:
        try:
            async with self._lock:
                if self._due():
                    await self._sync()
        except Exception:
            logger.exception("change feed sync failed; requests will retry it")

    async def sync(self) -> None:
        async with self._lock:
            await self._sync()

    async def _sync(self) -> None:
        self._syncs_started += 1
        local = _local_publications
        started = self._clock()
        now = utcnow()
        since = self._since if self._since is not None else now - READ_MARGIN
        rows = await ChangeEvent.filter(created_at__gte=since).order_by("id")
        for row in rows:
            if row.id in self._seen:
                continue
            self._seen[row.id] = row.created_at
            await self._deliver(row)
        self._since = now - READ_MARGIN
        horizon = self._since
        self._seen = {key: at for key, at in self._seen.items() if at >= horizon}
        self._last_sync = started
        self._syncs_finished = self._syncs_started
        if not self._waits_for_own_rows():
            self._seen_local = local

    def _waits_for_own_rows(self) -> bool:
        """Whether a row this process inserted lately is not read yet: its transaction has not
        committed (or rolled back) when this sync read the feed."""
        now = _now()
        return any(
            one not in self._seen and now - at < OWN_ROW_PATIENCE_SECONDS
            for one, at in _own_rows.items()
        )

    async def _deliver(self, row: ChangeEvent) -> None:
        if row.kind is ChangeKind.CREDENTIAL_CHANGED and row.credential_id is not None:
            self._listener.credential_changed(row.credential_id)
        elif row.kind is ChangeKind.TOKEN_REVOKED and row.jti and row.expires_at:
            self._listener.token_revoked(row.jti, row.expires_at)
        elif row.kind is ChangeKind.SIGNING_KEYS_CHANGED:
            await self._listener.signing_keys_changed()


async def prune(now: datetime) -> int:
    """Delete feed rows nobody needs any more (every process has read them long ago)."""
    return await ChangeEvent.filter(created_at__lt=now - RETENTION).delete()

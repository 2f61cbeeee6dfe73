"""Usage per credential, counted in memory on the hot paths and added to the database in batches.

What is counted (models/usage.py): Partner API calls by route template and status class, calls
refused by the credential's rate limit (RATE_LIMITED) or over it in MONITOR mode (WOULD_LIMIT),
tokens issued, tokens refused by reason, distinct client addresses, and the last failed calls.
A Partner API call costs a few dict operations and no await; with `settings.usage.counting` off
every method returns at once.

`flush` (every `settings.usage.flush_seconds`, 5 s by default, and on shutdown; partner_api/web/
app.py) adds everything counted since the last flush to the minute and day rows
(auth/partners/usage_store.py), in one transaction: counts reach the database, and so GraphQL,
within one flush interval. A flush that fails keeps what it held for the next one, so a
transient database error loses nothing and fails no request.

Bounds on memory, per process:
- distinct addresses: at most `MAX_ADDRESSES` per credential and minute are kept (a credential
  called from more addresses in one minute is reported with that many), and at most
  `MAX_PENDING_ADDRESSES` wait for a flush while the database is unreachable;
- failed calls: the newest `MAX_ERRORS` per credential and flush;
- refused token requests are counted under the client ID presented and resolved to credentials
  at flush in one query (unknown IDs dropped, as auth/partners/usage.py does for the audit): at
  most `MAX_PENDING_REFUSALS` client IDs wait for a flush, refusals for further IDs are not
  counted (they are still logged and in Prometheus).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from auth.partners.credential_directory import CredentialState
from auth.partners.usage import MAX_PENDING_REFUSALS
from auth.partners.usage_store import ErrorRow, PendingUsage, sweep, write_usage
from models.usage import UsageMetric
from partner_api.foundation.metrics import USAGE_FLUSH_FAILED, USAGE_FLUSH_WRITTEN

logger = logging.getLogger("partner_api.usage")
MAX_ADDRESSES = 1_000
MAX_PENDING_ADDRESSES = 100_000
MAX_ERRORS = 20
# The retention sweep (auth/partners/usage_store.py) runs at most this often per process.
SWEEP_INTERVAL_SECONDS = 60.0
_STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


class _Minute:
    """One credential's calls in one minute: per operation, a count per status class."""

    __slots__ = ("addresses", "calls")

    def __init__(self) -> None:
        self.calls: dict[str, list[int]] = {}
        self.addresses: set[str] = set()


class UsageCounts:
    def __init__(self, *, enabled: bool, clock: Callable[[], float] = time.time) -> None:
        """`clock`: seconds since the epoch; a test gives its own to move between buckets."""
        self.enabled = enabled
        self._clock = clock
        self._minutes: dict[tuple[str, int], _Minute] = {}
        # (credential id, minute, metric, operation, reason) for everything but calls.
        self._events: dict[tuple[str, int, str, str, str], int] = {}
        self._organisations: dict[str, tuple[UUID, UUID]] = {}
        self._errors: dict[str, deque[tuple[float, str, int, str]]] = {}
        self._refused: dict[str, dict[tuple[int, str], int]] = {}
        self._pending = PendingUsage()
        self._last_sweep = float("-inf")

    # -- the hot paths ----------------------------------------------------------------------

    def call(
        self,
        credential: CredentialState,
        operation: str,
        status: int,
        address: str | None,
        error_code: str | None = None,
    ) -> None:
        """A Partner API call answered with `status` (`operation` is the route template)."""
        if not self.enabled:
            return
        now = self._clock()
        key = (credential.id_text, int(now // 60))
        minute = self._minutes.get(key)
        if minute is None:
            minute = self._minutes[key] = _Minute()
            self._organisations[credential.id_text] = (credential.id, credential.organisation_id)
        counts = minute.calls.get(operation)
        if counts is None:
            counts = minute.calls[operation] = [0, 0, 0, 0, 0]
        counts[min(status // 100, 5) - 1] += 1
        if address is not None and len(minute.addresses) < MAX_ADDRESSES:
            minute.addresses.add(address)
        if status >= 400:
            errors = self._errors.get(credential.id_text)
            if errors is None:
                errors = self._errors[credential.id_text] = deque(maxlen=MAX_ERRORS)
            errors.append((now, operation, status, error_code or f"http_{status}"))

    def event(
        self,
        credential: CredentialState,
        metric: UsageMetric,
        *,
        operation: str = "",
        reason: str = "",
    ) -> None:
        """One RATE_LIMITED, WOULD_LIMIT, TOKEN_ISSUED or TOKEN_REFUSED (with its reason)."""
        if not self.enabled:
            return
        key = (credential.id_text, int(self._clock() // 60), metric.value, operation, reason)
        self._events[key] = self._events.get(key, 0) + 1
        if credential.id_text not in self._organisations:
            self._organisations[credential.id_text] = (credential.id, credential.organisation_id)

    def token_refused(self, client_id: str, reason: str) -> None:
        """A refused client authentication, under the client ID presented (resolved at flush)."""
        if not self.enabled:
            return
        refused = self._refused.get(client_id)
        if refused is None:
            if len(self._refused) >= MAX_PENDING_REFUSALS:
                return
            refused = self._refused[client_id] = {}
        key = (int(self._clock() // 60), reason)
        refused[key] = refused.get(key, 0) + 1

    # -- flushing ---------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Add everything counted so far to the database; False (counts kept) if that failed."""
        self._drain()
        pending = self._pending
        if pending.empty():
            return True
        try:
            await write_usage(pending)
        except Exception:
            USAGE_FLUSH_FAILED.inc()
            logger.exception("could not write usage counts; keeping them for the next flush")
            return False
        self._pending = PendingUsage()
        USAGE_FLUSH_WRITTEN.inc()
        return True

    async def housekeeping(self) -> None:
        """The periodic work: flush, and delete usage past its retention once a minute at most.
        Never raises: counting must not stop the loop that runs it."""
        await self.flush()
        now = self._clock()
        if now - self._last_sweep < SWEEP_INTERVAL_SECONDS:
            return
        self._last_sweep = now
        try:
            await sweep(datetime.fromtimestamp(now, UTC))
        except Exception:
            logger.exception("could not delete old usage; the next sweep retries")

    def _drain(self) -> None:
        """Move the live counters into the pending batch, as minute and day rows."""
        minutes, self._minutes = self._minutes, {}
        events, self._events = self._events, {}
        errors, self._errors = self._errors, {}
        refused, self._refused = self._refused, {}
        organisations = self._organisations
        pending = self._pending
        call = UsageMetric.CALL.value
        for (credential, minute_index), minute in minutes.items():
            ids = organisations[credential]
            for operation, by_class in minute.calls.items():
                for index, count in enumerate(by_class):
                    if count:
                        pending.add_count(
                            ids, minute_index, call, operation, _STATUS_CLASSES[index], "", count
                        )
            for address in minute.addresses:
                pending.add_address(ids, minute_index, address, MAX_PENDING_ADDRESSES)
        for (credential, minute_index, metric, operation, reason), count in events.items():
            pending.add_count(
                organisations[credential], minute_index, metric, operation, "", reason, count
            )
        for credential, recent in errors.items():
            ids = organisations[credential]
            pending.add_errors(
                ids,
                [
                    ErrorRow(datetime.fromtimestamp(at, UTC), operation, status, code)
                    for at, operation, status, code in recent
                ],
                MAX_ERRORS,
            )
        for client_id, counts in refused.items():
            pending.add_refusals(client_id, counts, MAX_PENDING_REFUSALS)
        # Credentials still counting keep their entry; the rest are forgotten with the batch.
        self._organisations = {}

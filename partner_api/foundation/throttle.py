"""Fixed-window counters for throttling guesses and enforcing quotas.

`WindowCounter` is the seam, with two backends: in-process (one process, the default) and Redis
(`REDIS_URL`; shared by every process). A counter allows `limit` events per `window_seconds` and
key; `retry_after` says how long a key must wait once it reached the limit. `record` and `hit`
take a `limit` of their own for the counters whose limit depends on the key (a credential's own
rate limit and token quota, auth/partners/credential_limits.py): the count is kept per key, the
comparison made with the limit given.

Admin login and the token endpoint count *failures* (`retry_after` before trying, `record` after
failing); the token endpoint's issuance quota counts *uses* (`record` and refuse when it answers
with a wait). If Redis is unreachable the counters fail open and log it: availability of token
issuance outweighs throttling guesses at 256-bit secrets.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from partner_api.foundation.metrics import RATE_LIMIT_HITS, RATE_LIMIT_STORE_ERRORS

logger = logging.getLogger("partner_api.throttle")


class Usage(NamedTuple):
    """A key's standing in its current window, for `RateLimit-*` response headers (a NamedTuple:
    immutable, and cheap to build on every Partner API call)."""

    limit: int
    remaining: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


class WindowCounter(Protocol):
    async def retry_after(self, key: str) -> int:
        """Seconds until `key` may act again; 0 when it is under its limit."""
        ...

    async def record(self, key: str, limit: int | None = None) -> int:
        """Count one event; the wait (as `retry_after`) if this event went over the limit
        (`limit`, or the counter's own)."""
        ...

    async def reset(self, key: str) -> None: ...

    async def hit(self, key: str, limit: int | None = None) -> Usage:
        """Count one use and report the key's standing against `limit`, or the counter's own
        (remaining < 0: over the limit)."""
        ...


@dataclass(slots=True)
class _Window:
    started: float
    count: int


class InMemoryWindowCounter:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        name: str = "unnamed",
    ) -> None:
        self._hits = RATE_LIMIT_HITS.labels(name)
        self._limit = limit
        self._window = window_seconds
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._windows: dict[str, _Window] = {}

    def _current(self, key: str) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and self._monotonic() - window.started >= self._window:
            del self._windows[key]
            return None
        return window

    def _wait(self, window: _Window) -> int:
        return max(1, math.ceil(window.started + self._window - self._monotonic()))

    async def retry_after(self, key: str) -> int:
        window = self._current(key)
        if window is None or window.count < self._limit:
            return 0
        self._hits.inc()
        return self._wait(window)

    def _count(self, key: str, limit: int) -> _Window:
        """Count one event in `key`'s window (a new one if it had none or it ended)."""
        window = self._current(key)
        if window is None:
            if len(self._windows) >= self._max_keys:
                self._evict()
            window = self._windows[key] = _Window(started=self._monotonic(), count=0)
        window.count += 1
        if window.count > limit:
            self._hits.inc()
        return window

    async def record(self, key: str, limit: int | None = None) -> int:
        limit = self._limit if limit is None else limit
        window = self._count(key, limit)
        return 0 if window.count <= limit else self._wait(window)

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def hit(self, key: str, limit: int | None = None) -> Usage:
        # The Partner API's per-call limit: `_count` directly, not through `record` (one
        # coroutine and one lookup less per call).
        limit = self._limit if limit is None else limit
        window = self._count(key, limit)
        return Usage(limit, limit - window.count, self._wait(window))

    def _evict(self) -> None:
        """Bound memory under a flood of distinct keys: drop ended windows, then the oldest."""
        now = self._monotonic()
        for key in [k for k, w in self._windows.items() if now - w.started >= self._window]:
            del self._windows[key]
        while len(self._windows) >= self._max_keys:
            del self._windows[next(iter(self._windows))]


class RedisWindowCounter:
    """The same counter in Redis: INCR + EXPIRE NX in one transaction per event."""

    def __init__(self, client: Redis, *, name: str, limit: int, window_seconds: int) -> None:
        self._client = client
        self._prefix = f"partner-api:{name}:"
        self._hits = RATE_LIMIT_HITS.labels(name)
        self._store_errors = RATE_LIMIT_STORE_ERRORS.labels(name)
        self._limit = limit
        self._window = window_seconds

    async def retry_after(self, key: str) -> int:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.get(self._prefix + key)
                pipe.pttl(self._prefix + key)
                raw_count, ttl_ms = await pipe.execute()
        except RedisError as error:
            self._store_errors.inc()
            logger.error("rate-limit store unavailable, not throttling: %s", type(error).__name__)
            return 0
        count = int(raw_count or 0)
        if count < self._limit:
            return 0
        self._hits.inc()
        return max(1, math.ceil(int(ttl_ms) / 1000)) if int(ttl_ms) > 0 else 1

    async def _increment(self, key: str) -> tuple[int, int] | None:
        """(count, seconds left in the window), or None when Redis is unreachable."""
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(self._prefix + key)
                pipe.expire(self._prefix + key, self._window, nx=True)
                pipe.pttl(self._prefix + key)
                count, _, ttl_ms = await pipe.execute()
        except RedisError as error:
            self._store_errors.inc()
            logger.error("rate-limit store unavailable, not throttling: %s", type(error).__name__)
            return None
        return int(count), max(1, math.ceil(int(ttl_ms) / 1000)) if int(ttl_ms) > 0 else 1

    async def record(self, key: str, limit: int | None = None) -> int:
        counted = await self._increment(key)
        if counted is None or counted[0] <= (self._limit if limit is None else limit):
            return 0
        self._hits.inc()
        return counted[1]

    async def hit(self, key: str, limit: int | None = None) -> Usage:
        limit = self._limit if limit is None else limit
        counted = await self._increment(key)
        if counted is None:
            return Usage(limit=limit, remaining=limit, reset_seconds=self._window)
        count, reset = counted
        if count > limit:
            self._hits.inc()
        return Usage(limit=limit, remaining=limit - count, reset_seconds=reset)

    async def reset(self, key: str) -> None:
        try:
            await self._client.delete(self._prefix + key)
        except RedisError as error:
            logger.error("rate-limit store unavailable: %s", type(error).__name__)


class CounterFactory(Protocol):
    def __call__(self, *, name: str, limit: int, window_seconds: int) -> WindowCounter: ...


def counter_factory(redis: Redis | None) -> CounterFactory:
    """Counters in Redis when one is configured, in process otherwise."""

    def make(*, name: str, limit: int, window_seconds: int) -> WindowCounter:
        if redis is None:
            return InMemoryWindowCounter(limit=limit, window_seconds=window_seconds, name=name)
        return RedisWindowCounter(redis, name=name, limit=limit, window_seconds=window_seconds)

    return make

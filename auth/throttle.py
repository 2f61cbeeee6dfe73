"""Fixed-window failure counters for throttling guesses (admin login now; token endpoint later).

`FailureCounter` is the seam: the in-process implementation serves one process; a shared backend
(Redis) implements the same three calls for several processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class FailureCounter(Protocol):
    async def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it is not blocked."""
        ...

    async def record_failure(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...


@dataclass
class _Window:
    started: float
    failures: int


class InMemoryFailureCounter:
    """Counts failures per key in windows of `window_seconds`; blocks a key at `limit` failures."""

    def __init__(
        self,
        *,
        limit: int,
        window_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
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

    async def retry_after(self, key: str) -> int:
        window = self._current(key)
        if window is None or window.failures < self._limit:
            return 0
        return max(1, math.ceil(window.started + self._window - self._monotonic()))

    async def record_failure(self, key: str) -> None:
        window = self._current(key)
        if window is None:
            if len(self._windows) >= self._max_keys:
                self._evict_expired()
            window = self._windows[key] = _Window(started=self._monotonic(), failures=0)
        window.failures += 1

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _evict_expired(self) -> None:
        """Bound memory under a flood of distinct keys: drop ended windows, then the oldest."""
        now = self._monotonic()
        for key in [k for k, w in self._windows.items() if now - w.started >= self._window]:
            del self._windows[key]
        while len(self._windows) >= self._max_keys:
            del self._windows[next(iter(self._windows))]

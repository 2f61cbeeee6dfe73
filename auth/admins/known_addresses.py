"""Which source addresses signed in to which admin account recently.

`KnownAddresses` is the seam, with the same two backends as the throttle counters
(partner_api/foundation/throttle.py): in process (one process, the default) and Redis (`REDIS_URL`;
shared by every
process). A key is remembered for `remember_seconds` after its latest `remember`.

Only a correct password adds a key, so the store never holds anything an attacker chose without
knowing the password. If Redis is unreachable the store forgets (and logs it): a sign-in from a
known address is then throttled like one from anywhere else: remembering only ever relaxes the
throttle, so forgetting is never a lock-out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from partner_api.foundation.metrics import RATE_LIMIT_STORE_ERRORS

logger = logging.getLogger("partner_api.throttle")


class KnownAddresses(Protocol):
    async def remember(self, key: str) -> None: ...

    async def recalls(self, key: str) -> bool:
        """True when `key` was remembered within the last `remember_seconds`."""
        ...


class InMemoryKnownAddresses:
    def __init__(
        self,
        *,
        remember_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._remember = remember_seconds
        self._monotonic = monotonic
        self._max_keys = max_keys
        # Insertion order is remembering order: the first entry is always the oldest.
        self._until: dict[str, float] = {}

    async def remember(self, key: str) -> None:
        self._until.pop(key, None)
        while len(self._until) >= self._max_keys:
            del self._until[next(iter(self._until))]
        self._until[key] = self._monotonic() + self._remember

    async def recalls(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if self._monotonic() >= until:
            del self._until[key]
            return False
        return True


class RedisKnownAddresses:
    """The same store in Redis: one key per (account, address), expiring on its own."""

    def __init__(self, client: Redis, *, remember_seconds: int) -> None:
        self._client = client
        self._prefix = "partner-api:login-known-address:"
        self._remember = remember_seconds
        self._store_errors = RATE_LIMIT_STORE_ERRORS.labels("login-known-address")

    async def remember(self, key: str) -> None:
        try:
            await self._client.set(self._prefix + key, b"1", ex=self._remember)
        except RedisError as error:
            self._store_errors.inc()
            logger.error("known-address store unavailable: %s", type(error).__name__)

    async def recalls(self, key: str) -> bool:
        try:
            return bool(await self._client.exists(self._prefix + key))
        except RedisError as error:
            self._store_errors.inc()
            logger.error("known-address store unavailable: %s", type(error).__name__)
            return False


def known_addresses(redis: Redis | None, *, remember_seconds: int) -> KnownAddresses:
    """In Redis when one is configured, in process otherwise (like `counter_factory`)."""
    if redis is None:
        return InMemoryKnownAddresses(remember_seconds=remember_seconds)
    return RedisKnownAddresses(redis, remember_seconds=remember_seconds)

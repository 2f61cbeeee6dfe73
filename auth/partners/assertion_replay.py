"""Single use of a client assertion's `jti` until its `exp`, across every process (RFC 7523 §3
item 7, PK-01).

Recording is the check: the first process to write the key wins and every later attempt, in any
process, finds it taken. With Redis configured that is `SET key 1 NX PXAT exp`, which expires on
its own; otherwise an INSERT into `used_assertion`, whose primary key refuses the second one,
and `sweep` (the authorization server's periodic work) deletes rows whose assertion has expired.
A store that cannot answer refuses the assertion: failing open would allow a replay.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError

from models.oauth import UsedAssertion

logger = logging.getLogger("partner_api.oauth")
_REDIS_PREFIX = "partner-api:assertion:"


def replay_key(client_id: str, jti: str) -> str:
    """64 hex digits: the same client ID and jti always collide, different clients never do."""
    return hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()


class AssertionReplayStore(Protocol):
    async def first_use(self, client_id: str, jti: str, *, expires_at: float) -> bool:
        """True the first time (client_id, jti) is recorded; False for a replay or when the
        store cannot tell."""
        ...

    async def sweep(self, now: datetime) -> None: ...


class DatabaseReplayStore:
    async def first_use(self, client_id: str, jti: str, *, expires_at: float) -> bool:
        try:
            await UsedAssertion.create(
                key=replay_key(client_id, jti),
                expires_at=datetime.fromtimestamp(expires_at, UTC),
            )
        except IntegrityError:
            return False
        return True

    async def sweep(self, now: datetime) -> None:
        await UsedAssertion.filter(expires_at__lt=now).delete()


class RedisReplayStore:
    def __init__(self, client: Redis) -> None:
        self._client = client

    async def first_use(self, client_id: str, jti: str, *, expires_at: float) -> bool:
        key = _REDIS_PREFIX + replay_key(client_id, jti)
        try:
            stored = await self._client.set(key, 1, nx=True, pxat=int(expires_at * 1000) + 1)
        except RedisError as error:
            logger.warning("assertion replay check failed", extra={"error": type(error).__name__})
            return False
        return bool(stored)

    async def sweep(self, now: datetime) -> None:
        """Redis expires the keys itself."""


def replay_store(redis: Redis | None) -> AssertionReplayStore:
    """In Redis when one is configured, in the database otherwise (like `counter_factory`)."""
    return DatabaseReplayStore() if redis is None else RedisReplayStore(redis)

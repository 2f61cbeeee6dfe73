"""`GET /readyz`: can this process serve? It asks the database and, when configured, Redis.

Each check is bounded by CHECK_TIMEOUT_SECONDS and they run concurrently, so a probe answers
within about a second even when a dependency hangs rather than refuses. Redis counts: without it
the counters fail open, so a process that cannot reach it would serve without shared rate limits.
The answer names each dependency's state, never an error message (which may carry addresses or
SQL).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse

from partner_api.foundation.database import database_is_reachable

logger = logging.getLogger("partner_api.readiness")

CHECK_TIMEOUT_SECONDS = 1.0
NOT_CONFIGURED = "not configured"

Check = Callable[[], Awaitable[bool]]


def redis_check(redis: Redis) -> Check:
    async def check() -> bool:
        return bool(await redis.ping())

    return check


async def _state(name: str, check: Check, seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            ok = await check()
        if ok:
            return "ok"
        reason = "refused"
    except TimeoutError:
        reason = "timeout"
    except Exception as error:
        reason = type(error).__name__
    logger.warning("readiness: %s unavailable", name, extra={"dependency": name, "cause": reason})
    return "timeout" if reason == "timeout" else "unreachable"


class Readiness:
    def __init__(
        self,
        *,
        redis: Redis | None,
        database: Check = database_is_reachable,
        timeout: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self._database = database
        self._redis = None if redis is None else redis_check(redis)
        self._timeout = timeout

    async def states(self) -> dict[str, str]:
        checks = [_state("database", self._database, self._timeout)]
        if self._redis is not None:
            checks.append(_state("redis", self._redis, self._timeout))
        results = await asyncio.gather(*checks)
        return {
            "database": results[0],
            "redis": results[1] if self._redis is not None else NOT_CONFIGURED,
        }

    async def endpoint(self, request: Request) -> JSONResponse:
        states = await self.states()
        ready = all(state in ("ok", NOT_CONFIGURED) for state in states.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **states},
            status_code=200 if ready else 503,
            headers={"Cache-Control": "no-store"},
        )

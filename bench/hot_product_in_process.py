"""Where a reservation's time goes, in-process: `POST /partner/v1/reservations` with an
Idempotency-Key on PostgreSQL, our ASGI app called directly (no server, no client), one request at
a time, so a run measures the application and its database round trips without queueing, and
the process's CPU time apart (what bounds one worker under load).

Not part of `make bench`; an investigation tool for the hot-product step (bench/hot_product.py).
It seeds the hot product's tenant on a fresh PostgreSQL database, gets a token, makes 200 warm-up
reservations, then the best of five rounds of 500 (one ticket each, every one a 201), and with
`--profile` a cProfile listing of one more round. It also counts the statements one reservation
sends (asyncpg's Connection methods wrapped; the pool's reset on handing a connection back is
one of them), and `--statements` prints them.

    .venv/bin/python -m bench.hot_product_in_process [--profile [--sort tottime]] [--statements]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database, server_env
from bench.hot_paths_in_process import Request, call
from bench.hot_product import ALGORITHM, Tenant, _new_product, _seed

ROUNDS, PER_ROUND, WARM_UP = 5, 500, 200


class StatementCounter:
    """Counts the statements asyncpg sends (first word of each), by wrapping the Connection
    methods Tortoise uses."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.enabled = False
        self.show = False

    def install(self) -> None:
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            original = getattr(asyncpg.Connection, name)

            async def wrapped(
                connection: asyncpg.Connection,
                query: str,
                *args: Any,
                _o: Any = original,
                **kw: Any,
            ) -> Any:
                if self.enabled and isinstance(query, str):
                    self.counts[query.split(None, 1)[0].upper()] += 1
                    if self.show:
                        print(" ".join(query.split())[:160], file=sys.__stderr__)
                return await _o(connection, query, *args, **kw)

            setattr(asyncpg.Connection, name, wrapped)


def _reservation(tenant: Tenant, token: str, product_id: str, key: str) -> Request:
    body = json.dumps(
        {
            "event_id": tenant.event_id,
            "lines": [{"product_id": product_id, "quantity": 1}],
            "customer": {"name": "Customer", "email": "customer@example.com"},
        }
    ).encode()
    return (
        "POST",
        "/partner/v1/reservations",
        {
            "authorization": f"Bearer {token}",
            "content-type": "application/json",
            "content-length": str(len(body)),
            "idempotency-key": key,
        },
        body,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order (tottime, ...)")
    parser.add_argument(
        "--statements", action="store_true", help="print each statement of one reservation"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database("postgres", Path(tmp)) as url:
        tenant = asyncio.run(_seed(url))
        stock = WARM_UP + (ROUNDS + 2) * PER_ROUND + 11
        product_id = asyncio.run(_new_product(url, tenant, stock))
        os.environ.update(server_env(url, Path(tmp), ALGORITHM))
        os.environ.update(
            {
                "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
                "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
                "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
            }
        )
        from partner_api.foundation.settings import Settings
        from partner_api.web.app import create_app

        ours = create_app(Settings.from_env())
        counter = StatementCounter()
        counter.install()

        async def measure() -> None:
            async with ours.router.lifespan_context(ours):
                client_id, secret = tenant.pool[0]
                basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                _, body = await call(
                    ours,
                    (
                        "POST",
                        "/oauth/token",
                        {
                            "authorization": f"Basic {basic}",
                            "content-type": "application/x-www-form-urlencoded",
                        },
                        b"grant_type=client_credentials",
                    ),
                )
                token = json.loads(body)["access_token"]
                serial = iter(range(10**9))

                async def reserve() -> None:
                    request = _reservation(tenant, token, product_id, f"k-{next(serial)}")
                    status, answer = await call(ours, request)
                    if status != 201:
                        raise RuntimeError(f"{status} {answer.decode()}")

                for _ in range(WARM_UP):
                    await reserve()
                if args.statements:  # one reservation's, as sent
                    counter.show = counter.enabled = True
                    await reserve()
                    counter.show = counter.enabled = False
                    counter.counts.clear()
                # Counted over a round, so the app's own background work (flushes, the change
                # feed) shows as the fraction it is of each reservation.
                counter.enabled = True
                for _ in range(PER_ROUND):
                    await reserve()
                counter.enabled = False
                means, cpu = [], []
                for _ in range(ROUNDS):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    for _ in range(PER_ROUND):
                        await reserve()
                    means.append((time.perf_counter() - started) / PER_ROUND * 1e6)
                    cpu.append((time.process_time() - cpu_started) / PER_ROUND * 1e6)
                statements = ", ".join(
                    f"{n / PER_ROUND:.2f} {word}" for word, n in sorted(counter.counts.items())
                )
                total = sum(counter.counts.values()) / PER_ROUND
                print(
                    f"reservation with Idempotency-Key, PostgreSQL, in-process: "
                    f"{min(means):.0f} µs per request, {min(cpu):.0f} µs of it this process's CPU "
                    f"(best of {ROUNDS} rounds of {PER_ROUND}); "
                    f"statements per reservation: {total:.2f} ({statements})",
                    file=sys.__stdout__,
                )
                if args.profile:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(PER_ROUND):
                        await reserve()
                    profiler.disable()
                    stats = pstats.Stats(profiler, stream=sys.__stdout__)
                    stats.sort_stats(args.sort).print_stats(35)

        asyncio.run(measure())


if __name__ == "__main__":
    main()

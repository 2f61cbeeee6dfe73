"""Where a GraphQL list request's time goes: ours and the plain-Strawberry baseline, in-process.

Not part of `make bench`; an investigation tool for docs/benchmarks.md. It seeds an organisation,
builds our app from the same environment the benchmarks use, and times `credentials(first: 20)`
through the ASGI app with no HTTP server in between (httpx's ASGI transport), against
bench/bare_graphql.py the same way. `--profile` prints a cProfile listing of ours, by cumulative
time (`BENCH_PROFILE_ORDER=tottime` for time in each function itself).

    .venv/bin/python -m bench.list_in_process [--credentials 1000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import graphql_list
from bench.common import database, server_env


async def per_request_ms(
    app: Any, body: str, headers: dict[str, str], count: int, profile: bool
) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(20):  # warm-up, and proof that the answer is data
            response = await client.post("/graphql", content=body, headers=headers)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(response.text[:500])
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        for _ in range(count):
            await client.post("/graphql", content=body, headers=headers)
        elapsed = (time.perf_counter() - started) / count * 1000
        if profiler:
            profiler.disable()
            order = os.environ.get("BENCH_PROFILE_ORDER", "cumulative")
            pstats.Stats(profiler).sort_stats(order).print_stats(60)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    body = graphql_list.list_query_body()
    json_headers = {"Content-Type": "application/json"}
    with tempfile.TemporaryDirectory() as tmp, database("sqlite", Path(tmp)) as url:
        token = asyncio.run(graphql_list.seed_organisation(url, args.credentials))
        os.environ.update(server_env(url, Path(tmp), "ES256"))
        from bench import bare_graphql
        from partner_api.foundation.settings import Settings
        from partner_api.web.app import create_app

        ours = create_app(Settings.from_env())

        async def measure() -> tuple[float, float]:
            async with ours.router.lifespan_context(ours):
                ours_ms = await per_request_ms(
                    ours,
                    body,
                    {**json_headers, "Authorization": f"Bearer {token}"},
                    args.requests,
                    args.profile,
                )
            bare_ms = await per_request_ms(
                bare_graphql.app, body, json_headers, args.requests, profile=False
            )
            return ours_ms, bare_ms

        ours_ms, bare_ms = asyncio.run(measure())
    print(
        f"credentials(first: 20), {args.credentials} in the organisation, in-process: "
        f"ours {ours_ms:.2f} ms, plain Strawberry {bare_ms:.2f} ms per request, "
        f"ratio (req/s) {bare_ms / ours_ms:.2f}"
    )


if __name__ == "__main__":
    main()

"""Where a GraphQL list request's time goes: ours and the plain-Strawberry baseline, in-process.

Not part of `make bench`; an investigation tool for docs/benchmarks.md. It seeds an organisation
(on SQLite, or with `--database postgres` on a throw-away PostgreSQL database), builds our app
from the same environment the benchmarks use, and times `credentials(first: 20)` — the admin
page's first page — and, with `--deep`, the page after a cursor halfway down the list, through the
ASGI app with no HTTP server in between (httpx's ASGI transport), against bench/bare_graphql.py
the same way. `--profile` prints a cProfile listing of ours, by cumulative time
(`BENCH_PROFILE_ORDER=tottime` for time in each function itself).

Seeding 100,000 credentials takes a minute or more; `--keep DIR` seeds into DIR once (an SQLite
file and the admin token beside it) and later runs with the same `--keep DIR` measure that
database again without seeding.

    .venv/bin/python -m bench.list_in_process [--credentials 1000] [--profile] [--deep]
    .venv/bin/python -m bench.list_in_process --credentials 100000 --keep var/bench/list-100k
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
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


async def deep_cursor(app: Any, token: str, credentials: int) -> str:
    """The cursor of the credential halfway down the list, walked to with pages of 100 (the
    maximum) so the cursor is one the page itself hands out."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    after: str | None = None
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(max(1, credentials // 2 // 100)):
            body = graphql_list.list_query_body(first=100, after=after)
            answer = (await client.post("/graphql", content=body, headers=headers)).json()
            after = answer["data"]["credentials"]["pageInfo"]["endCursor"]
    if after is None:
        raise RuntimeError("the list has no second page")
    return after


@contextlib.contextmanager
def seeded(kind: str, count: int, keep: Path | None) -> Iterator[tuple[str, str, Path]]:
    """(database URL, admin token, working directory) of an organisation with `count`
    credentials; with `keep`, an SQLite database seeded there earlier is used again."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        token_file = keep / "token.json"
        with database("sqlite", keep) as url:
            if not token_file.exists():
                token = _seed(url, count)
                token_file.write_text(json.dumps({"token": token, "credentials": count}))
            yield url, json.loads(token_file.read_text())["token"], keep
        return
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        yield url, _seed(url, count), Path(tmp)


def _seed(url: str, count: int) -> str:
    started = time.perf_counter()
    token = asyncio.run(graphql_list.seed_organisation(url, count))
    print(f"seeded {count:,} credentials in {time.perf_counter() - started:.1f} s", flush=True)
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keep", type=Path, help="seed an SQLite database here once, reuse it")
    parser.add_argument("--deep", action="store_true", help="also time a page halfway down")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.keep is not None and args.database != "sqlite":
        parser.error("--keep keeps an SQLite database only")
    json_headers = {"Content-Type": "application/json"}
    with seeded(args.database, args.credentials, args.keep) as (url, token, directory):
        os.environ.update(server_env(url, directory, "ES256"))
        from bench import bare_graphql
        from partner_api.foundation.settings import Settings
        from partner_api.web.app import create_app

        ours = create_app(Settings.from_env())
        ours_headers = {**json_headers, "Authorization": f"Bearer {token}"}

        async def measure() -> dict[str, float]:
            first = graphql_list.list_query_body()
            figures: dict[str, float] = {}
            async with ours.router.lifespan_context(ours):
                figures["first page"] = await per_request_ms(
                    ours, first, ours_headers, args.requests, args.profile
                )
                if args.deep:
                    after = await deep_cursor(ours, token, args.credentials)
                    deep = graphql_list.list_query_body(after=after)
                    figures["page halfway down"] = await per_request_ms(
                        ours, deep, ours_headers, args.requests, args.profile
                    )
            figures["plain Strawberry"] = await per_request_ms(
                bare_graphql.app, first, json_headers, args.requests, profile=False
            )
            return figures

        figures = asyncio.run(measure())
    bare_ms = figures.pop("plain Strawberry")
    for label, ours_ms in figures.items():
        print(
            f"credentials(first: 20), {label}, {args.credentials:,} in the organisation "
            f"({args.database}), in-process: ours {ours_ms:.2f} ms, plain Strawberry "
            f"{bare_ms:.2f} ms per request, ratio (req/s) {bare_ms / ours_ms:.2f}"
        )


if __name__ == "__main__":
    main()

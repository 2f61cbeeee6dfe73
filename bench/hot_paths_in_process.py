"""Where a Partner hot-path request's time goes: ours and the bare endpoint, in-process.

Not part of `make bench`; an investigation tool for docs/benchmarks.md. It seeds 100 credentials,
builds our app from the benchmarks' environment and calls the ASGI callables directly — no HTTP
server, no client — so a run measures only the application: `POST /oauth/token` (HTTP Basic,
`grant_type=client_credentials`), `GET /partner/v1/me` with a token from it, or `GET /healthz`,
for ours and for bench/bare_app.py, 2,000 warm-up calls each, then the best of five rounds of
3,000. `--logging` first applies the production logging configuration (JSON at INFO) with its
lines sent to stderr, as `partner-api serve` does; `--profile` prints a cProfile listing of ours;
`--events 50` limits every credential to 50 events of its organisation.

    .venv/bin/python -m bench.hot_paths_in_process token [--logging] [--profile] 2>/dev/null
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import logging.config
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from starlette.types import ASGIApp, Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database, seed, server_env

Request = tuple[str, str, dict[str, str], bytes]
ROUNDS, PER_ROUND, WARM_UP = 5, 3000, 2000


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, object]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: ASGIApp, request: Request) -> tuple[int, bytes]:
    method, path, headers, body = request
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(method, path, headers), receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


async def per_request_us(app: ASGIApp, request: Request) -> float:
    started = time.perf_counter()
    for _ in range(PER_ROUND):
        await call(app, request)
    return (time.perf_counter() - started) / PER_ROUND * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=["token", "me", "healthz"])
    parser.add_argument("--logging", action="store_true", help="production logging, to stderr")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--events", type=int, default=0, help="limit every credential to this many events"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database("sqlite", Path(tmp)) as url:
        pool = asyncio.run(seed(url, 100, "ES256", events=args.events))
        os.environ.update(server_env(url, Path(tmp), "ES256"))
        os.environ.update(
            {
                "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
                "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "100000000",
                # The service maxima cap every limit (auth/partners/credential_limits.py).
                "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
                "PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE": "100000000",
                "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
            }
        )
        from bench import bare_app
        from partner_api.foundation.settings import Settings
        from partner_api.web.app import create_app
        from partner_api.web.observability.log_format import logging_config

        if args.logging:
            settings = Settings(log_format="json", log_level="INFO")
            logging.config.dictConfig(logging_config(settings))
        ours = create_app(Settings.from_env())

        async def measure() -> None:
            async with ours.router.lifespan_context(ours):
                client_id, secret = pool[0]
                basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                token_request: Request = (
                    "POST",
                    "/oauth/token",
                    {
                        "authorization": f"Basic {basic}",
                        "content-type": "application/x-www-form-urlencoded",
                    },
                    b"grant_type=client_credentials",
                )
                status, body = await call(ours, token_request)
                if status != 200:
                    raise RuntimeError(body.decode())
                access_token = json.loads(body)["access_token"]
                request: Request = {
                    "token": token_request,
                    "me": (
                        "GET",
                        "/partner/v1/me",
                        {"authorization": f"Bearer {access_token}"},
                        b"",
                    ),
                    "healthz": ("GET", "/healthz", {}, b""),
                }[args.path]
                for _ in range(WARM_UP):
                    await call(ours, request)
                    await call(bare_app.app, request)
                ours_us, bare_us = [], []
                for _ in range(ROUNDS):
                    ours_us.append(await per_request_us(ours, request))
                    bare_us.append(await per_request_us(bare_app.app, request))
                print(
                    f"{args.path}: ours {min(ours_us):.1f} µs, bare {min(bare_us):.1f} µs per "
                    f"request (best of {ROUNDS} rounds of {PER_ROUND})"
                    + (f" [limited to {args.events} events]" if args.events else "")
                    + (" [production logging]" if args.logging else ""),
                    file=sys.__stdout__,
                )
                if args.profile:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(PER_ROUND):
                        await call(ours, request)
                    profiler.disable()
                    pstats.Stats(profiler, stream=sys.__stdout__).sort_stats("tottime").print_stats(
                        40
                    )

        asyncio.run(measure())


if __name__ == "__main__":
    main()

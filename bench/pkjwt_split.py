"""Where a private_key_jwt token request's time goes, in-process (bench/token_pkjwt.py runs it).

A child process, so that the app's logging configuration, `gc` state and environment stay out of
the benchmark runner: `python -m bench.pkjwt_split PLAN.json` prints one JSON object. PLAN names
the database (a fresh copy of the step's seeded one), the server environment, the secret-based
pool and a file of pre-signed assertions. On uvloop, as the server runs, with the production
logging configuration (JSON at INFO to stderr, which the runner sends to a file), it times:

- each stage of the assertion's path on its own, per request: parsing with the claims checks
  (RFC 7523 §3), the ES256 signature check, spending the `jti` (the `used_assertion` INSERT on
  SQLite and its commit, which waits for the disk) and signing the access token;
- the whole `POST /oauth/token` through the ASGI app — no HTTP server, no client — for the key
  and the secret path, with the token reuse window at its default and off.

Each figure is µs per call, wall time and the process's CPU time (all threads), each the best of
ROUNDS rounds of PER_ROUND calls, every round running every measurement in turn; the whole
requests after WARM_UP untimed ones.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging.config
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvloop
from starlette.applications import Starlette
from tortoise import Tortoise

from auth.partners.access_tokens import issue_access_token
from auth.partners.assertion_replay import DatabaseReplayStore
from auth.partners.client_assertions import (
    LEEWAY_SECONDS,
    check_claims,
    parse_assertion,
    select_key,
    verify_signature,
)
from auth.partners.secret_state import key_secret, key_secret_id
from bench.hot_paths_in_process import Request, call
from bench.pkjwt_assertions import form_body
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from partner_api.web.observability.log_format import logging_config

ROUNDS, PER_ROUND, WARM_UP = 5, 1000, 300
# Assertions the plan's file must hold: the stages share one set, each whole-request path has
# its own (every jti is spent once).
STAGE_ASSERTIONS = ROUNDS * PER_ROUND
REQUEST_ASSERTIONS = WARM_UP + ROUNDS * PER_ROUND
NEEDED = STAGE_ASSERTIONS + 2 * REQUEST_ASSERTIONS
FORM = "application/x-www-form-urlencoded"

Step = Callable[[int], Awaitable[None]]


async def _interleaved(steps: dict[str, Step]) -> dict[str, dict[str, float]]:
    """µs per call of each step, `step(i)` with i running through distinct inputs: the best
    round's wall time, and the best round's CPU time of the process (every thread: the database
    thread's too), which leaves out waiting — for the disk, above all. Every round runs every
    step, so all figures come from the same minutes: the disk's commit time drifts a lot on a
    shared machine."""
    walls: dict[str, list[float]] = {name: [] for name in steps}
    cpus: dict[str, list[float]] = {name: [] for name in steps}
    for round_number in range(ROUNDS):
        start = round_number * PER_ROUND
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for index in range(start, start + PER_ROUND):
                await step(index)
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return {
        name: {
            "wall_us": min(walls[name]) / PER_ROUND * 1e6,
            "cpu_us": min(cpus[name]) / PER_ROUND * 1e6,
        }
        for name in steps
    }


async def _stages(app: Starlette, assertions: list[str], settings: Settings) -> dict[str, Step]:
    """The stages of a key request, each on its own."""
    server = app.state.services.authorization_server
    await server.ensure_started()
    audiences = (settings.issuer, settings.token_endpoint)
    max_seconds = settings.assertions.max_seconds
    now = time.time()
    parsed = [parse_assertion(token) for token in assertions]
    states = {}
    for assertion in parsed:
        if assertion.client_id not in states:
            state = await server.directory.by_client_id(
                assertion.client_id, now=utcnow(), monotonic_now=time.monotonic()
            )
            assert state is not None
            states[assertion.client_id] = state

    async def parse_and_check(index: int) -> None:
        assertion = parse_assertion(assertions[index])
        check_claims(
            assertion,
            client_id=assertion.client_id,
            audiences=audiences,
            now=now,
            max_seconds=max_seconds,
        )

    async def verify(index: int) -> None:
        assertion = parsed[index]
        verify_signature(assertion, select_key(assertion, states[assertion.client_id].keys))

    replay = DatabaseReplayStore()

    async def spend(index: int) -> None:
        assertion = parsed[index]
        first = await replay.first_use(
            assertion.client_id, assertion.jti, expires_at=assertion.expires_at + LEEWAY_SECONDS
        )
        assert first

    state = next(iter(states.values()))
    secret = key_secret(key_secret_id(state.id, state.keys[0].thumbprint))
    lifetime = timedelta(seconds=settings.access_token_ttl_seconds)
    scopes = state.allowed_scopes()

    async def sign(index: int) -> None:
        issue_access_token(
            key_ring=server.key_ring,
            issuer=settings.issuer,
            audience=settings.audience,
            credential=state,
            secret=secret,
            scopes=scopes,
            now=utcnow(),
            lifetime=lifetime,
        )

    return {
        "parse_and_claims": parse_and_check,
        "verify_es256": verify,
        "replay_insert": spend,
        "sign_token": sign,
    }


def _key_request(assertion: str) -> Request:
    return ("POST", "/oauth/token", {"content-type": FORM}, form_body(assertion))


def _secret_request(client_id: str, secret: str) -> Request:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    headers = {"authorization": f"Basic {basic}", "content-type": FORM}
    return ("POST", "/oauth/token", headers, b"grant_type=client_credentials")


async def _whole_request(app: Starlette, requests: list[Request]) -> Step:
    """`POST /oauth/token` through the ASGI app, call i sending `requests[(WARM_UP + i) %
    len(requests)]`, after WARM_UP untimed calls."""

    async def one(index: int) -> None:
        status, body = await call(app, requests[index % len(requests)])
        if status != 200:
            raise RuntimeError(f"token request answered {status}: {body[:200]!r}")

    for index in range(WARM_UP):
        await one(index)

    async def timed(index: int) -> None:
        await one(WARM_UP + index)

    return timed


async def measure(plan: dict[str, Any], assertions: list[str]) -> dict[str, Any]:
    environments = {
        "default": plan["env"],
        "signed": {**plan["env"], "PARTNER_API_TOKEN_REUSE_SECONDS": "0"},
    }
    settings = {name: Settings.from_env(env) for name, env in environments.items()}
    if len(assertions) < NEEDED:
        raise RuntimeError(f"{len(assertions)} assertions, {NEEDED} needed")
    await Tortoise.init(config=tortoise_config(plan["env"]["DATABASE_URL"]))
    try:
        apps = {name: create_app(s, manage_database=False) for name, s in settings.items()}
        steps = await _stages(apps["default"], assertions[:STAGE_ASSERTIONS], settings["default"])
        secret_requests = [_secret_request(*pair) for pair in plan["secret_pool"]]
        for index, (name, app) in enumerate(apps.items()):
            start = STAGE_ASSERTIONS + index * REQUEST_ASSERTIONS
            # As many as the calls made (WARM_UP + ROUNDS * PER_ROUND): each is sent once.
            own = [_key_request(a) for a in assertions[start : start + REQUEST_ASSERTIONS]]
            steps[f"key_request_{name}"] = await _whole_request(app, own)
            steps[f"secret_request_{name}"] = await _whole_request(app, secret_requests)
        return await _interleaved(steps)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    assertions = Path(plan["assertions"]).read_text().split()
    settings = Settings(log_format="json", log_level="INFO")
    logging.config.dictConfig(logging_config(settings))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        figures = runner.run(measure(plan, assertions))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

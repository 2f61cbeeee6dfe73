"""A worker's peak RSS with 10,000 active credentials counted (issue 16), for bench/run_all.py.

One worker with counting off, then a fresh one with counting on over the same database (the
difference is what counting adds): every credential obtains a token from the worker, then calls
four Partner API operations (three answered, one 404, so its last errors are held too) in two
passes, each followed by a flush interval; then the worker's `VmHWM` is read. The loads are wrk
runs of an exact number of requests (`_batch`); afterwards the database must hold exactly the
calls and tokens made, for every credential: proof that the counters held them all.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from tortoise import Tortoise

from bench.common import (
    database,
    free_port,
    load_average,
    peak_rss_mib,
    resident_mib,
    seed,
    server_env,
    uvicorn_ours,
)
from bench.usage_counting import COUNTING, FLUSH_SECONDS, UNLIMITED
from partner_api.foundation.database import tortoise_config

PASSES = 2
# What each credential calls per pass: three answered, one 404 (a failed call is kept in the
# credential's last errors, so the counters hold those too).
FOOTPRINT_PATHS = (
    "/partner/v1/me",
    "/partner/v1/events",
    "/partner/v1/orders",
    f"/partner/v1/events/{uuid4()}",
)
# Sent once every request of a batch is out, until wrk is stopped: 405, neither counted nor
# mistaken for an answer of the batch.
_FILLER = 'wrk.format("GET", "/oauth/token")'


@dataclass
class Footprint:
    credentials: int
    passes: int
    # Per server ("on", "off"): VmHWM in MiB once it answers, after the tokens, at the end.
    started_mib: dict[str, float] = field(default_factory=dict)
    tokens_mib: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)
    # VmRSS at the end: what the worker still holds.
    resident_mib: dict[str, float] = field(default_factory=dict)
    # Seconds each load took, for the record (not a throughput figure).
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    # What the database holds after the counting server stopped.
    counted: dict[str, int] = field(default_factory=dict)
    load_average: str = ""


def _batch(
    port: int, lua: str, total: int, directory: Path, name: str, *, connections: int = 32
) -> float:
    """Run `lua` until `total` answers passed its `ok(status, body)`, then stop wrk; returns the
    seconds that took. `lua` defines `requests(i)`, the i-th request (1 to `total`), and
    `finish()`, called after the last answer."""
    marker = directory / f"{name}.done"
    marker.unlink(missing_ok=True)
    script = directory / f"{name}.lua"
    script.write_text(
        lua
        + f"""
-- From -1: wrk calls `request` once before the load, to inspect the request it returns.
local total, sent, answered = {total}, -1, 0
request = function()
  sent = sent + 1
  if sent < 1 or sent > total then return {_FILLER} end
  return requests(sent)
end
response = function(status, headers, body)
  if ok(status, body) then
    answered = answered + 1
    if answered == total then finish(); io.open("{marker}", "w"):close() end
  end
end
"""
    )
    # A request wrk gives up on is never answered, so the batch would never end: the timeout is
    # far beyond any answer's time.
    command = ["wrk", "-t1", f"-c{connections}", "-d900s", "--timeout", "300s", "-s", str(script)]
    started = time.monotonic()
    process = subprocess.Popen([*command, f"http://127.0.0.1:{port}"], stdout=subprocess.DEVNULL)
    deadline = started + 900
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name}: wrk ended before {total} answers")
        time.sleep(0.01)
    took = time.monotonic() - started
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    return took


def _lua_strings(values: list[str]) -> str:
    return "{\n" + "\n".join(f'  "{value}",' for value in values) + "\n}"


def mint_tokens(port: int, pool: list[tuple[str, str]], directory: Path) -> tuple[list[str], float]:
    """One token for every credential of `pool`, from our token endpoint."""
    tokens_file = directory / "tokens.txt"
    basics = [base64.b64encode(f"{c}:{s}".encode()).decode() for c, s in pool]
    lua = f"""
local basics = {_lua_strings(basics)}
local out = io.open("{tokens_file}", "w")
function requests(i)
  return wrk.format("POST", "/oauth/token", {{["Authorization"] = "Basic " .. basics[i],
    ["Content-Type"] = "application/x-www-form-urlencoded"}}, "grant_type=client_credentials")
end
function ok(status, body)
  if status ~= 200 then return false end
  out:write(string.match(body, '"access_token":"([^"]+)"'), "\\n")
  return true
end
function finish() out:close() end
"""
    # Few connections: a credential's first token writes its last use before answering
    # (auth/partners/usage.py), so more connections only queue on the database.
    took = _batch(port, lua, len(pool), directory, "tokens", connections=8)
    tokens = tokens_file.read_text().split()
    if len(set(tokens)) != len(pool):
        raise RuntimeError(f"{len(set(tokens))} distinct tokens for {len(pool)} credentials")
    return tokens, took


def call_everything(port: int, tokens: list[str], directory: Path) -> float:
    """Every operation of FOOTPRINT_PATHS once with every token."""
    paths = list(FOOTPRINT_PATHS)
    lua = f"""
local tokens = {_lua_strings(tokens)}
local paths = {_lua_strings(paths)}
function requests(i)
  local index = i - 1
  return wrk.format("GET", paths[index % {len(paths)} + 1],
    {{["Authorization"] = "Bearer " .. tokens[math.floor(index / {len(paths)}) + 1]}})
end
function ok(status, body) return status == 200 or status == 404 end
function finish() end
"""
    return _batch(port, lua, len(tokens) * len(paths), directory, "calls")


async def _counted(url: str) -> dict[str, int]:
    """Minute rows of the bench database: credentials with calls, calls by status class, tokens
    issued, credentials with tokens."""
    await Tortoise.init(config=tortoise_config(url))
    try:
        connection = Tortoise.get_connection("default")
        rows = await connection.execute_query_dict(
            "SELECT metric, status_class, COUNT(DISTINCT credential_id) AS credentials, "
            "SUM(count) AS total FROM usage_count WHERE granularity = 'm' "
            "GROUP BY metric, status_class"
        )
    finally:
        await Tortoise.close_connections()
    counted: dict[str, int] = {}
    for row in rows:
        key = row["metric"] + (f" {row['status_class']}" if row["status_class"] else "")
        counted[f"{key} credentials"] = int(row["credentials"])
        counted[f"{key} total"] = int(row["total"])
    return counted


def _expected(credentials: int) -> dict[str, int]:
    answered = len(FOOTPRINT_PATHS) - 1
    return {
        "call 2xx credentials": credentials,
        "call 2xx total": credentials * answered * PASSES,
        "call 4xx credentials": credentials,
        "call 4xx total": credentials * PASSES,
        "token_issued credentials": credentials,
        "token_issued total": credentials,
    }


def measure(work: Path, credentials: int, algorithm: str) -> Footprint:
    work.mkdir(exist_ok=True)
    footprint = Footprint(credentials=credentials, passes=PASSES)
    with database("sqlite", work) as url:
        pool = asyncio.run(seed(url, credentials, algorithm, pool=credentials))
        for name, flag in (("off", "false"), ("on", "true")):
            directory = work / name
            directory.mkdir(exist_ok=True)
            env = {**server_env(url, directory, algorithm), **UNLIMITED, COUNTING: flag}
            port = free_port()
            with uvicorn_ours(port, env, directory) as process:
                footprint.started_mib[name] = peak_rss_mib(process.pid)
                tokens, minted = mint_tokens(port, pool, directory)
                footprint.tokens_mib[name] = peak_rss_mib(process.pid)
                seconds = {"tokens": minted}
                for index in range(PASSES):
                    seconds[f"calls {index + 1}"] = call_everything(port, tokens, directory)
                    # Every pass is followed by a flush of all its counts.
                    time.sleep(FLUSH_SECONDS + 1)
                footprint.peak_mib[name] = peak_rss_mib(process.pid)
                footprint.resident_mib[name] = resident_mib(process.pid)
                footprint.seconds[name] = seconds
        footprint.counted = asyncio.run(_counted(url))
    expected = _expected(credentials)
    wrong = {
        k: (footprint.counted.get(k), v)
        for k, v in expected.items()
        if footprint.counted.get(k) != v
    }
    if wrong:
        raise RuntimeError(f"the database holds other counts than made (got, made): {wrong}")
    footprint.load_average = load_average()
    return footprint


def describe(figures: dict[str, Any]) -> str:
    """One line for the progress output and the table, from `asdict(Footprint)`."""
    started, tokens, peak = figures["started_mib"], figures["tokens_mib"], figures["peak_mib"]
    resident, seconds, counted = figures["resident_mib"], figures["seconds"], figures["counted"]
    return (
        f"peak RSS (VmHWM) of one worker, {figures['credentials']:,} credentials each with a "
        f"token and {len(FOOTPRINT_PATHS)} calls x {figures['passes']} passes: counting on "
        f"**{peak['on']:.1f} MiB** (target ≤ 150; {started['on']:.1f} started, "
        f"{tokens['on']:.1f} after the tokens, VmRSS {resident['on']:.1f} at the end), off "
        f"{peak['off']:.1f} MiB ({started['off']:.1f}, {tokens['off']:.1f}, "
        f"{resident['off']:.1f}): counting adds {peak['on'] - peak['off']:+.1f} MiB. Counted in "
        f"the database: calls of {counted['call 2xx credentials']:,} credentials "
        f"({counted['call 2xx total']:,} 2xx, {counted['call 4xx total']:,} 4xx), "
        f"{counted['token_issued total']:,} tokens issued. Loads (s, off / on): "
        + ", ".join(
            f"{load} {seconds['off'][load]:.0f} / {seconds['on'][load]:.0f}"
            for load in seconds["on"]
        )
    )

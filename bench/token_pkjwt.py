"""The token endpoint with private_key_jwt client authentication (issue 17), for bench/run_all.py.

One database holds 100 secret-based and 100 key-based FULL credentials (each with its own ES256
key, bench/pkjwt_assertions.py); the load cycles through 16 of each, as `token/100` does. Two
servers run on byte-for-byte copies of it: one with the token reuse window at its default (1 s)
and one with it off (`PARTNER_API_TOKEN_REUSE_SECONDS=0`, every token signed). The window applies
to key-based clients as it does to secret-based ones — a token is reused for the same key within
the window, whatever the assertion — so both paths are measured under both settings, beside the
bare form endpoint. Each round runs the bare endpoint first, then the four in turns (reversed
every other round), so all are measured within seconds of the same baseline.

Every key request carries a new assertion: each run gets a file signed just before it, holding
HEADROOM times what the target's fastest run so far would use (bench/pkjwt.lua fails the run if
it runs out: a replayed assertion is a fast 401, not a token). Any answer other than 2xx fails
the step. Assertions live 240 s, within PARTNER_API_ASSERTION_MAX_SECONDS' default (300), which
the servers keep. Afterwards bench/pkjwt_split.py times the stages of a key request in-process.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import pkjwt_assertions as keys
from bench import pkjwt_split
from bench import token_endpoint as token_bench
from bench.common import (
    ROOT,
    Result,
    database,
    free_port,
    peak_rss_mib,
    run_wrk,
    server_env,
    uvicorn,
    uvicorn_ours,
)
from bench.pkjwt_report import CREDENTIALS, OURS, figures
from partner_api.foundation.settings import Settings

HEADROOM = 2.0
FIRST_GUESS_RPS = 10_000  # before a target's first run; the bare endpoint manages about 12,000
REUSE = {"default": {}, "signed": {"PARTNER_API_TOKEN_REUSE_SECONDS": "0"}}
# As token/100: the quota must not refuse the load's 16 credentials.
LIMITS = {
    "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "100000000",
    "PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE": "100000000",
}


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@dataclass(frozen=True)
class KeyLoad:
    """What the key targets' assertions are made of."""

    pool: list[keys.KeyClient]
    audience: str


def _copies(
    work: Path, algorithm: str
) -> tuple[dict[str, str], list[tuple[str, str]], list[keys.KeyClient]]:
    """One seeded SQLite database and byte-for-byte copies: for each server, and for the split."""
    urls: dict[str, str] = {}
    for name in (*REUSE, "split"):
        (work / name).mkdir(parents=True, exist_ok=True)
        with database("sqlite", work / name) as url:
            urls[name] = url
    secret_pool, key_pool = asyncio.run(keys.seed(urls["default"], CREDENTIALS, algorithm))
    for name in ("signed", "split"):
        for file in (work / "default").glob("bench.sqlite3*"):
            shutil.copy2(file, work / name / file.name)
    return urls, secret_pool, key_pool


def _env(url: str, directory: Path, algorithm: str, reuse: str) -> dict[str, str]:
    return {**server_env(url, directory, algorithm), **LIMITS, **REUSE[reuse]}


@contextmanager
def _servers(work: Path, urls: dict[str, str], algorithm: str) -> Iterator[dict[str, Server]]:
    """Both servers, by reuse setting."""
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for reuse in REUSE:
            env = _env(urls[reuse], work / reuse, algorithm, reuse)
            port = free_port()
            process = stack.enter_context(uvicorn_ours(port, env, work / reuse))
            servers[reuse] = Server(port, process.pid)
        yield servers


def _check(port: int, key: keys.KeyClient, audience: str) -> int:
    """Our key path answers a token, and refuses the same assertion a second time (so the load
    really spends a jti per request); returns the token response's length."""
    assertion = key.assertion(audience, int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = f"http://127.0.0.1:{port}/oauth/token"
    first = httpx.post(url, content=keys.form_body(assertion), headers=headers)
    first.raise_for_status()
    again = httpx.post(url, content=keys.form_body(assertion), headers=headers)
    if again.status_code != 401:
        raise RuntimeError(f"a replayed assertion answered {again.status_code}, not 401")
    return len(first.content)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process so far, all its threads (proc(5): fields 14-15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Load:
    """The wrk runs of one step: the request script of each target, a fresh assertion file for
    each run of a key target, and the CPU time the target's server spent per request."""

    def __init__(
        self,
        work: Path,
        servers: dict[str, Server],
        secret_script: Path,
        key: KeyLoad,
        *,
        seconds: int,
        connections: int,
    ) -> None:
        self._work, self._servers, self._secret_script = work, servers, secret_script
        self._key = key
        self._seconds, self._connections = seconds, connections
        self.fastest: dict[str, float] = {}
        self.signed = 0

    def _assertions(self, target: str, seconds: int) -> Path:
        rate = self.fastest.get(target, FIRST_GUESS_RPS)
        count = math.ceil(rate * seconds * HEADROOM) + 100 * self._connections
        path = self._work / f"{target}-{self.signed}.txt"
        self.signed += count
        return keys.write_assertions(path, self._key.pool, count, self._key.audience)

    def run(self, target: str, seconds: int) -> tuple[Result, float]:
        """One wrk run; the result and the server's CPU µs per request."""
        # The bare endpoint ignores the credentials of the secret path's requests.
        assertions = self._assertions(target, seconds) if target.startswith("key") else None
        script = self._secret_script if assertions is None else keys.wrk_script(assertions)
        server = self._servers[target]
        cpu = _cpu_seconds(server.pid)
        try:
            result = run_wrk(server.port, script, seconds=seconds, connections=self._connections)
        except subprocess.CalledProcessError as failed:
            raise RuntimeError(f"{target}: wrk failed ({failed.stderr.strip()})") from None
        finally:
            if assertions is not None:
                assertions.unlink()
        cpu = _cpu_seconds(server.pid) - cpu
        if result.non_2xx and target != "bare":
            raise RuntimeError(f"{target}: {result.non_2xx} answers were not 2xx")
        self.fastest[target] = max(self.fastest.get(target, 0.0), result.requests_per_second)
        return result, cpu * 1e6 / (result.requests_per_second * seconds)

    def alternate(self, rounds: int) -> tuple[dict[str, list[Result]], dict[str, list[float]]]:
        """A 2-second warm-up run of each target, then `rounds` rounds; the runs and the CPU µs
        per request of each target, in round order."""
        for target in ("bare", *OURS):
            self.run(target, 2)
        runs: dict[str, list[Result]] = {target: [] for target in ("bare", *OURS)}
        cpu: dict[str, list[float]] = {target: [] for target in ("bare", *OURS)}
        for index in range(rounds):
            order = OURS if index % 2 == 0 else tuple(reversed(OURS))
            for target in ("bare", *order):
                result, cpu_us = self.run(target, self._seconds)
                runs[target].append(result)
                cpu[target].append(cpu_us)
        return runs, cpu


def _split(
    work: Path, url: str, algorithm: str, secret_pool: list[tuple[str, str]], key: KeyLoad
) -> Any:
    """bench/pkjwt_split.py in a child process, on the untouched copy of the database."""
    assertions = keys.write_assertions(
        work / "split-assertions.txt", key.pool, pkjwt_split.NEEDED, key.audience
    )
    plan = work / "split-plan.json"
    env = _env(url, work / "split", algorithm, "default")
    plan.write_text(
        json.dumps({"env": env, "secret_pool": secret_pool, "assertions": str(assertions)})
    )
    with (work / "split.log").open("wb") as log:
        output = subprocess.run(
            [sys.executable, "-m", "bench.pkjwt_split", str(plan)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=log, check=True,
        ).stdout  # fmt: skip
    return json.loads(output)


def measure(
    work: Path, *, algorithm: str, seconds: int, rounds: int, connections: int
) -> dict[str, Any]:
    """The step's figures (bench/pkjwt_report.py `figures`)."""
    work.mkdir(exist_ok=True)
    urls, secret_pool, key_pool = _copies(work, algorithm)
    audience = Settings.from_env(_env(urls["default"], work, algorithm, "default")).token_endpoint
    key = KeyLoad(key_pool, audience)
    with _servers(work, urls, algorithm) as servers:
        sizes = {"key": _check(servers["default"].port, key_pool[0], audience)}
        _check(servers["signed"].port, key_pool[1], audience)
        sizes["secret"] = token_bench.token_response_size(servers["default"].port, *secret_pool[0])
        targets = {
            "secret": servers["default"],
            "key": servers["default"],
            "secret-signed": servers["signed"],
            "key-signed": servers["signed"],
        }
        bare_port = free_port()
        bare_env = {"BARE_RESPONSE_BYTES": str(sizes["key"])}
        with uvicorn("bare_app:app", bare_port, bare_env, ROOT / "bench") as bare:
            load = _Load(
                work,
                {**targets, "bare": Server(bare_port, bare.pid)},
                token_bench.wrk_script(secret_pool, work),
                key,
                seconds=seconds,
                connections=connections,
            )
            runs, cpu = load.alternate(rounds)
        rss = {reuse: peak_rss_mib(server.pid) for reuse, server in servers.items()}
    split = _split(work, urls["split"], algorithm, secret_pool, key)
    return figures(runs, cpu, split, sizes=sizes, rss=rss, signed=load.signed)

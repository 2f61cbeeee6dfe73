"""What usage counting costs on the hot paths (issue 16), for bench/run_all.py; what it costs in
memory is bench/usage_footprint.py.

`on_off` serves the token endpoint or `GET /partner/v1/me` twice, by two servers on copies of one
database, one with counting on and one with it off (`PARTNER_API_USAGE_COUNTING`), both running
for the whole step beside the bare endpoint. Each round runs the bare endpoint first, then the two
servers in turns (on, off; off, on; ...), so neither always follows the other and both are
measured within seconds of the same baseline on a 2-core machine whose speed drifts.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import partner_api as me_bench
from bench import token_endpoint as token_bench
from bench.common import (
    ROOT,
    Result,
    best,
    database,
    free_port,
    peak_rss_mib,
    run_wrk,
    seed,
    server_env,
    uvicorn,
    uvicorn_ours,
)

COUNTING = "PARTNER_API_USAGE_COUNTING"
FLUSH_SECONDS = 5  # the default of PARTNER_API_USAGE_FLUSH_SECONDS
# The service maxima cap every limit (auth/partners/credential_limits.py), so they are raised with
# the limits, or the load's 16 credentials would be refused with 429 within a minute.
UNLIMITED = {
    "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
    "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
    "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "100000000",
    "PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE": "100000000",
    # The tokens must outlive the whole step.
    "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
}


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    script: Path


@dataclass(frozen=True)
class OnOff:
    """Best of the rounds per app, and every round's req/s (`rounds[i][name]`)."""

    bare: Result
    on: Result
    off: Result
    rounds: list[dict[str, float]]
    peak_rss_mib: dict[str, float]

    @property
    def ratio_on(self) -> float:
        return self.on.requests_per_second / self.bare.requests_per_second

    @property
    def ratio_off(self) -> float:
        return self.off.requests_per_second / self.bare.requests_per_second

    @property
    def difference(self) -> float:
        """Counting on minus off, each the best of its rounds against the best baseline."""
        return self.ratio_on - self.ratio_off

    @property
    def paired_difference(self) -> float:
        """The median, over the rounds, of (on - off) ÷ bare within one round: less exposed to a
        single lucky run than the best-of figures."""
        return statistics.median((r["on"] - r["off"]) / r["bare"] for r in self.rounds)

    def figures(self) -> dict[str, Any]:
        return {
            "bare": asdict(self.bare),
            "on": asdict(self.on),
            "off": asdict(self.off),
            "ratio_on": self.ratio_on,
            "ratio_off": self.ratio_off,
            "difference": self.difference,
            "paired_difference": self.paired_difference,
            "rounds": self.rounds,
            "peak_rss_mib": self.peak_rss_mib,
        }


def describe(figures: dict[str, Any]) -> str:
    return (
        f"counting on {figures['ratio_on']:.3f}, off {figures['ratio_off']:.3f} of bare: "
        f"best-of difference {figures['difference']:+.3f}; median same-round difference "
        f"{figures['paired_difference']:+.3f} (target ≥ -0.03); req/s per round (bare/on/off): "
        + ", ".join(f"{r['bare']:,.0f}/{r['on']:,.0f}/{r['off']:,.0f}" for r in figures["rounds"])
    )


def alternate(
    bare: Target, ours: Sequence[Target], *, seconds: int, rounds: int, connections: int
) -> dict[str, list[Result]]:
    """Warm every app up, then run each once per round: the baseline first, ours in turns."""
    for target in (bare, *ours):
        run_wrk(target.port, target.script, seconds=2, connections=connections)
    runs: dict[str, list[Result]] = {target.name: [] for target in (bare, *ours)}
    for index in range(rounds):
        order = ours if index % 2 == 0 else list(reversed(ours))
        for target in (bare, *order):
            result = run_wrk(target.port, target.script, seconds=seconds, connections=connections)
            if result.non_2xx and target is not bare:
                raise RuntimeError(f"{target.name}: {result.non_2xx} answers were not 2xx")
            runs[target.name].append(result)
    return runs


def _twin_databases(work: Path, count: int, algorithm: str) -> tuple[str, str, list[Any]]:
    """One seeded SQLite database and a byte-for-byte copy: the same credentials, secrets and
    signing key behind both servers, so one request script fits both."""
    on_dir, off_dir = work / "on", work / "off"
    on_dir.mkdir(exist_ok=True)
    off_dir.mkdir(exist_ok=True)
    with database("sqlite", on_dir) as on_url, database("sqlite", off_dir) as off_url:
        pool = asyncio.run(seed(on_url, count, algorithm))
        for file in on_dir.glob("bench.sqlite3*"):
            shutil.copy2(file, off_dir / file.name)
        return on_url, off_url, pool


@contextmanager
def _on_and_off(
    work: Path, on_url: str, off_url: str, algorithm: str
) -> Iterator[dict[str, tuple[int, int]]]:
    """Both servers; yields name -> (port, pid)."""
    with ExitStack() as stack:
        servers: dict[str, tuple[int, int]] = {}
        for name, url, flag in (("on", on_url, "true"), ("off", off_url, "false")):
            directory = work / name
            env = {**server_env(url, directory, algorithm), **UNLIMITED, COUNTING: flag}
            port = free_port()
            process = stack.enter_context(uvicorn_ours(port, env, directory))
            servers[name] = (port, process.pid)
        yield servers


def on_off(
    endpoint: str, work: Path, *, algorithm: str, seconds: int, rounds: int, connections: int
) -> OnOff:
    """`endpoint` "token" (100 credentials, as `token/100`) or "me" (as `me`)."""
    work.mkdir(exist_ok=True)
    on_url, off_url, pool = _twin_databases(work, 100, algorithm)
    with _on_and_off(work, on_url, off_url, algorithm) as servers:
        scripts: dict[str, Path] = {}
        if endpoint == "token":
            script = token_bench.wrk_script(pool, work)
            scripts = {"on": script, "off": script}
            size = token_bench.token_response_size(servers["on"][0], *pool[0])
        else:
            sizes = set()
            for name, (port, _) in servers.items():
                tokens = me_bench.access_tokens(port, pool)
                sizes.add(me_bench.me_response_size(port, tokens))
                scripts[name] = me_bench.wrk_script(tokens, work / name)
            size = max(sizes)
        bare_port = free_port()
        bare_env = {"BARE_RESPONSE_BYTES": str(size)}
        with uvicorn("bare_app:app", bare_port, bare_env, ROOT / "bench"):
            runs = alternate(
                Target("bare", bare_port, scripts["on"]),
                [Target(name, servers[name][0], scripts[name]) for name in ("on", "off")],
                seconds=seconds,
                rounds=rounds,
                connections=connections,
            )
        rss = {name: peak_rss_mib(pid) for name, (_, pid) in servers.items()}
    return OnOff(
        bare=best(runs["bare"]),
        on=best(runs["on"]),
        off=best(runs["off"]),
        rounds=[
            {name: runs[name][index].requests_per_second for name in ("bare", "on", "off")}
            for index in range(rounds)
        ],
        peak_rss_mib=rss,
    )

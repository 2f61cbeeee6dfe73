"""Every benchmark in one run: `make bench` (or `.venv/bin/python -m bench.run_all [--quick]`).

One uvicorn worker per app (uvloop, httptools, access log off), wrk -t1 -c32, SQLite, ES256, the
default token reuse window; each "ours" figure is measured in the same run as its bare baseline,
the two alternating. It measures:

- `POST /oauth/token` against the bare form-POST endpoint, at 100 / 10,000 / 100,000 credentials;
- `GET /partner/v1/me` against the bare JSON endpoint;
- both again with every credential limited to 50 events (`token-restricted/100`, `me-restricted`),
  each against its own bare baseline, so the restricted and unrestricted ratios compare;
- the admin GraphQL `credentials(first: 20)` query against a plain Strawberry schema returning 20
  in-memory objects, and its latency with 10 / 1,000 / 10,000 credentials in one organisation;
- the admin GraphQL `createCredential` mutation's latency, sequential on one connection, in an
  organisation without webhook endpoints and in one with 3, and `notification_events.record`'s
  share of the operation in-process: what recording an event costs (bench/create_credential.py);
- webhook deliveries per second of one `partner-api worker` to a local receiver answering 204
  (bench/webhooks.py);
- what usage counting costs (bench/usage_counting.py, bench/usage_footprint.py): the token
  endpoint and `/me` with counting on and off in one run, each against the bare endpoint, and
  one worker's peak RSS once 10,000 credentials obtained tokens and made calls;
- the token endpoint with private_key_jwt client authentication (bench/token_pkjwt.py): ES256
  assertions against the shared-secret path and the bare endpoint, with the token reuse window at
  its default and off, and the stages of a key request in-process;
- the peer, django-oauth-toolkit's client-credentials token endpoint (bench/peer_dot.py), under
  uvicorn and a gunicorn sync worker, with its default PBKDF2-hashed secret and with plaintext;
- a hot product on PostgreSQL (bench/hot_product.py): 64 clients reserve 1-4 tickets until it is
  sold out, against raw asyncpg doing the same transaction, with one process each, with Redis,
  and with two processes each; every run is counted and fails on any oversell or lost order;
- the peak RSS (VmHWM) of each of our workers.

Progress goes to stdout; results to var/bench/results.json (machine-readable) and
var/bench/table.md, plots to docs/benchmarks/*.png (to var/bench/ with --quick); a final table is
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, only bench/ is on the path; the repository root must come first so that
# `partner_api` is the package and not bench/partner_api.py.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import create_credential as create_bench
from bench import db_reads as reads_bench
from bench import graphql_list, peer_dot, pkjwt_report, usage_footprint
from bench import hot_product as hot_bench
from bench import partner_api as me_bench
from bench import token_endpoint as token_bench
from bench import token_pkjwt as pkjwt_bench
from bench import usage_counting as counting_bench
from bench import webhooks as webhooks_bench
from bench.common import (
    RESTRICTED_EVENTS,
    ROOT,
    Result,
    best,
    compare,
    database,
    free_port,
    load_average,
    peak_rss_mib,
    run_wrk,
    seed,
    server_env,
    uvicorn,
    uvicorn_ours,
)

ALGORITHM = "ES256"
CONNECTIONS = 32
RESULTS = ROOT / "var" / "bench"
PLOTS = ROOT / "docs" / "benchmarks"


@dataclass(frozen=True)
class Plan:
    """Durations and sizes of one run; `--quick` shrinks both for a smoke run."""

    seconds: int
    rounds: int
    peer_sequential: int
    token_sizes: tuple[int, ...]
    list_sizes: tuple[int, ...]
    list_ratio_size: int
    quick: bool
    # Events recorded for the webhook worker to deliver.
    webhook_events: int
    # createCredential calls per organisation, after `credential_warm_up` untimed ones.
    credential_calls: int
    credential_warm_up: int
    # Rounds of the counting on/off steps (each round: bare, then on and off in turns). Their
    # target is judged on the median same-round difference, so they get more rounds than the
    # best-of steps: with 4, one round's drift moved the median by more than the bound.
    counting_rounds: int
    # Rounds of the private_key_jwt step (five apps alternate in each).
    pkjwt_rounds: int
    # Active credentials of the `counting/rss` step.
    footprint_credentials: int
    # Rounds of the `list/scale` step (each round: both organisations' pages, in turns). Judged
    # on the median same-round ratio, like the counting steps.
    list_scale_rounds: int


FULL = Plan(
    8,
    2,
    20,
    (100, 10_000, 100_000),
    (10, 1_000, 10_000, 100_000),
    1_000,
    quick=False,
    webhook_events=2000,
    credential_calls=1000,
    credential_warm_up=50,
    counting_rounds=8,
    pkjwt_rounds=4,
    footprint_credentials=10_000,
    list_scale_rounds=8,
)
QUICK = Plan(
    2,
    1,
    3,
    (100, 1_000, 10_000),
    (10, 100, 1_000),
    100,
    quick=True,
    webhook_events=500,
    credential_calls=100,
    credential_warm_up=10,
    counting_rounds=2,
    pkjwt_rounds=2,
    footprint_credentials=1_000,
    list_scale_rounds=2,
)


@dataclass
class Measured:
    """What a step recorded; `rss_mib` is our worker's peak RSS during the step."""

    ours: Result | None = None
    bare: Result | None = None
    rss_mib: float | None = None
    load: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    label: str
    estimate_seconds: float
    run: Callable[[], Measured]
    key: str


def _phase_seconds(plan: Plan, *, both: bool) -> float:
    """wrk time of one measurement: a 2-second warm-up per app, then `rounds` runs per app."""
    apps = 2 if both else 1
    return apps * (2 + plan.rounds * plan.seconds)


def _against_bare_app(
    plan: Plan, ours_port: int, script: Path, *, response_bytes: int
) -> tuple[Result, Result]:
    """Start bench/bare_app.py answering bodies of our length, and compare (bare, ours)."""
    bare_port = free_port()
    bare_env = {"BARE_RESPONSE_BYTES": str(response_bytes)}
    with uvicorn("bare_app:app", bare_port, bare_env, ROOT / "bench"):
        return compare(
            bare_port,
            ours_port,
            script,
            seconds=plan.seconds,
            rounds=plan.rounds,
            connections=CONNECTIONS,
        )


def measure_token(plan: Plan, count: int, directory: Path, *, events: int = 0) -> Measured:
    """The token endpoint with `count` credentials, each limited to `events` events (0: all)."""
    work = directory / (f"token-restricted-{count}" if events else f"token-{count}")
    work.mkdir(exist_ok=True)
    with database("sqlite", work) as url:
        pool = asyncio.run(seed(url, count, ALGORITHM, events=events))
        script = token_bench.wrk_script(pool, work)
        env = {
            **server_env(url, work, ALGORITHM),
            "PARTNER_API_TOKEN_QUOTA_PER_MINUTE": "100000000",
            "PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE": "100000000",
        }
        ours_port = free_port()
        with uvicorn_ours(ours_port, env, work) as ours_process:
            size = token_bench.token_response_size(ours_port, *pool[0], events=events)
            bare, ours = _against_bare_app(plan, ours_port, script, response_bytes=size)
            rss = peak_rss_mib(ours_process.pid)
    return Measured(ours=ours, bare=bare, rss_mib=rss, load=load_average())


def measure_me(plan: Plan, directory: Path, *, events: int = 0) -> Measured:
    """/me with 100 credentials, each limited to `events` events (0: all)."""
    work = directory / ("me-restricted" if events else "me")
    work.mkdir(exist_ok=True)
    with database("sqlite", work) as url:
        pool = asyncio.run(seed(url, 100, ALGORITHM, events=events))
        env = {
            **server_env(url, work, ALGORITHM),
            "PARTNER_API_RATE_LIMIT_PER_MINUTE": "1000000000",
            "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE": "1000000000",
            "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
        }
        ours_port = free_port()
        with uvicorn_ours(ours_port, env, work) as ours_process:
            tokens = me_bench.access_tokens(ours_port, pool)
            size = me_bench.me_response_size(ours_port, tokens, events=events)
            script = me_bench.wrk_script(tokens, work)
            bare, ours = _against_bare_app(plan, ours_port, script, response_bytes=size)
            rss = peak_rss_mib(ours_process.pid)
    return Measured(ours=ours, bare=bare, rss_mib=rss, load=load_average())


def measure_counting(plan: Plan, endpoint: str, directory: Path) -> Measured:
    """`endpoint` ("token" or "me") with usage counting on and off, alternating with the bare
    endpoint (bench/usage_counting.py); `ours` is counting on."""
    measured = counting_bench.on_off(
        endpoint,
        directory / f"counting-{endpoint}",
        algorithm=ALGORITHM,
        seconds=plan.seconds,
        rounds=plan.counting_rounds,
        connections=CONNECTIONS,
    )
    return Measured(
        ours=measured.on,
        bare=measured.bare,
        rss_mib=max(measured.peak_rss_mib.values()),
        load=load_average(),
        extra={"counting": measured.figures()},
    )


def measure_footprint(plan: Plan, directory: Path) -> Measured:
    """Peak RSS of one worker with `footprint_credentials` active credentials counted."""
    footprint = usage_footprint.measure(
        directory / "counting-rss", plan.footprint_credentials, ALGORITHM
    )
    return Measured(
        rss_mib=footprint.peak_mib["on"],
        load=load_average(),
        extra={"footprint": asdict(footprint)},
    )


def measure_pkjwt(plan: Plan, directory: Path) -> Measured:
    """The token endpoint with private_key_jwt beside the secret path, both with the reuse window
    at its default and off, and the bare endpoint (bench/token_pkjwt.py); `ours` is the key path
    at the default."""
    figures = pkjwt_bench.measure(
        directory / "token-pkjwt",
        algorithm=ALGORITHM,
        seconds=plan.seconds,
        rounds=plan.pkjwt_rounds,
        connections=CONNECTIONS,
    )
    return Measured(
        ours=Result(**figures["best"]["key"]),
        bare=Result(**figures["best"]["bare"]),
        rss_mib=max(figures["peak_rss_mib"].values()),
        load=load_average(),
        extra={"pkjwt": figures},
    )


def measure_list(plan: Plan, count: int, directory: Path, *, with_bare: bool) -> Measured:
    work = directory / f"list-{count}"
    work.mkdir(exist_ok=True)
    body = graphql_list.list_query_body()
    with database("sqlite", work) as url:
        token = asyncio.run(graphql_list.seed_organisation(url, count))
        env = {**server_env(url, work, ALGORITHM)}
        ours_port = free_port()
        with uvicorn_ours(ours_port, env, work) as ours_process:
            edges = min(count, graphql_list.PAGE_SIZE)
            ours_size = graphql_list.check_answer(ours_port, body, token, expected_edges=edges)
            ours_script = graphql_list.wrk_script(body, token, directory, f"list-{count}")
            extra: dict[str, Any] = {"ours_bytes": ours_size}
            if with_bare:
                bare_port = free_port()
                with uvicorn("bare_graphql:app", bare_port, {}, ROOT / "bench"):
                    extra["bare_bytes"] = graphql_list.check_answer(
                        bare_port, body, None, expected_edges=graphql_list.PAGE_SIZE
                    )
                    bare_script = graphql_list.wrk_script(body, None, directory, "list-bare")
                    bare, ours = _compare_scripts(
                        plan, (bare_port, bare_script), (ours_port, ours_script)
                    )
                extra["one_connection"] = asdict(_one_connection(plan, ours_port, ours_script))
                rss = peak_rss_mib(ours_process.pid)
                return Measured(ours=ours, bare=bare, rss_mib=rss, load=load_average(), extra=extra)
            run_wrk(ours_port, ours_script, seconds=2, connections=CONNECTIONS)
            runs = [
                run_wrk(ours_port, ours_script, seconds=plan.seconds, connections=CONNECTIONS)
                for _ in range(plan.rounds)
            ]
            extra["one_connection"] = asdict(_one_connection(plan, ours_port, ours_script))
            rss = peak_rss_mib(ours_process.pid)
    return Measured(ours=best(runs), rss_mib=rss, load=load_average(), extra=extra)


def measure_list_scale(plan: Plan, directory: Path) -> Measured:
    """The admin list at `list_ratio_size` and at the largest size, side by side: one database
    holding both organisations, one server, the two sessions' pages in alternating runs (the
    order flips every round). Judged on the median over the rounds of large ÷ small within each
    round: the separate `list/N` steps run minutes apart on databases seeded apart, and this
    machine drifts by more than the 0.10 the target allows in that time."""
    work = directory / "list-scale"
    work.mkdir(exist_ok=True)
    body = graphql_list.list_query_body()
    sizes = {"small": plan.list_ratio_size, "large": plan.list_sizes[-1]}
    with database("sqlite", work) as url:
        tokens = {
            label: asyncio.run(graphql_list.seed_organisation(url, count))
            for label, count in sizes.items()
        }
        port = free_port()
        with uvicorn_ours(port, server_env(url, work, ALGORITHM), work) as process:
            scripts: dict[str, Path] = {}
            for label, count in sizes.items():
                graphql_list.check_answer(
                    port, body, tokens[label], expected_edges=min(count, graphql_list.PAGE_SIZE)
                )
                scripts[label] = graphql_list.wrk_script(
                    body, tokens[label], directory, f"list-scale-{label}"
                )
                run_wrk(port, scripts[label], seconds=2, connections=CONNECTIONS)
            rounds: list[dict[str, Result]] = []
            for index in range(plan.list_scale_rounds):
                order = ("small", "large") if index % 2 == 0 else ("large", "small")
                rounds.append(
                    {
                        label: run_wrk(
                            port, scripts[label], seconds=plan.seconds, connections=CONNECTIONS
                        )
                        for label in order
                    }
                )
            rss = peak_rss_mib(process.pid)
    per_round = [_rps(one["large"]) / _rps(one["small"]) for one in rounds]
    return Measured(
        ours=best([one["large"] for one in rounds]),
        rss_mib=rss,
        load=load_average(),
        extra={
            "list_scale": {
                "sizes": sizes,
                "rounds": [
                    {label: asdict(result) for label, result in one.items()} for one in rounds
                ],
                "per_round": per_round,
                "paired_ratio": statistics.median(per_round),
                "best_small": asdict(best([one["small"] for one in rounds])),
            }
        },
    )


def _one_connection(plan: Plan, port: int, script: Path) -> Result:
    """The page's latency without queueing: under 32 connections a request mostly waits for the
    31 ahead of it, so the list-page latency is also measured with one connection."""
    return run_wrk(port, script, seconds=plan.seconds, connections=1)


def _compare_scripts(
    plan: Plan, bare: tuple[int, Path], ours: tuple[int, Path]
) -> tuple[Result, Result]:
    """`compare` for two apps that need different request scripts (the bare schema needs no
    session token): warm both, then alternate."""
    for port, script in (bare, ours):
        run_wrk(port, script, seconds=2, connections=CONNECTIONS)
    bare_runs: list[Result] = []
    our_runs: list[Result] = []
    for _ in range(plan.rounds):
        for (port, script), runs in ((bare, bare_runs), (ours, our_runs)):
            runs.append(run_wrk(port, script, seconds=plan.seconds, connections=CONNECTIONS))
    return best(bare_runs), best(our_runs)


def measure_create_credential(plan: Plan, directory: Path) -> Measured:
    """`createCredential` in an organisation without webhook endpoints and in one with 3, over
    HTTP and in-process (bench/create_credential.py). The server runs without its embedded
    delivery worker, so the deliveries are written and none is sent during the measurement."""
    work = directory / "create-credential"
    work.mkdir(exist_ok=True)
    calls, warm_up = plan.credential_calls, plan.credential_warm_up
    with database("sqlite", work) as url:
        # Nothing listens there: the endpoints only need to exist.
        tenants = asyncio.run(create_bench.seed(url, f"http://127.0.0.1:{free_port()}/hook"))
        env = {**server_env(url, work, ALGORITHM), "PARTNER_API_EMBEDDED_WORKER": "false"}
        port = free_port()
        with uvicorn_ours(port, env, work) as process:
            http = create_bench.over_http(port, tenants, warm_up=warm_up, calls=calls)
            rss = peak_rss_mib(process.pid)
        counts = asyncio.run(create_bench.recorded(url, tenants))
        made = warm_up + calls
        for tenant in tenants:
            expected = {"events": made, "deliveries": tenant.endpoints * made}
            got = counts[tenant.label]
            if got != expected:
                raise RuntimeError(f"{tenant.label}: the calls recorded {got}, not {expected}")
        in_process = create_bench.in_process(url, tenants, calls=calls)
    figures = create_bench.figures(http, in_process, counts, *tenants)
    return Measured(rss_mib=rss, load=load_average(), extra={"create_credential": figures})


def measure_webhooks(plan: Plan, directory: Path) -> Measured:
    """Deliveries per second of one `partner-api worker` (bench/webhooks.py)."""
    work = directory / "webhooks"
    work.mkdir(exist_ok=True)
    throughput = webhooks_bench.measure(work, events=plan.webhook_events, workers=1)
    return Measured(load=load_average(), extra={"webhooks": asdict(throughput)})


def measure_hot_product(plan: Plan, variant: str, directory: Path) -> Measured:
    """Reservations of a hot product until sold out, ours against raw asyncpg, on PostgreSQL
    (bench/hot_product.py); every run counted, the step fails on any oversell or lost order.
    `ours` and `bare` are reservations per second and the p50/p99 of the successful ones."""
    work = directory / f"hot-product-{variant}"
    work.mkdir(exist_ok=True)
    stock = hot_bench.QUICK_STOCK if plan.quick else hot_bench.STOCK
    figures = hot_bench.measure(work, variant, stock=stock, rounds=plan.rounds)
    best = figures["best"]
    return Measured(
        ours=hot_bench.Run(**best["ours"]).result(),
        bare=hot_bench.Run(**best["bare"]).result(),
        rss_mib=figures["peak_rss_mib"],
        load=load_average(),
        extra={"hot_product": figures},
    )


def measure_reads(
    plan: Plan, kind: str, orders: int, resource: str, directory: Path, key: str
) -> Measured:
    """A Partner API read against the same SQL over the raw driver (bench/db_reads.py), on its
    own freshly seeded database; the step fails unless both answer the same bytes."""
    (reads,) = reads_bench.measure(
        kind,
        orders,
        (resource,),
        directory / key.replace("/", "-"),
        seconds=plan.seconds,
        rounds=plan.rounds,
        connections=CONNECTIONS,
    )
    return Measured(
        ours=reads.ours,
        bare=reads.bare,
        rss_mib=reads.peak_rss_mib,
        load=load_average(),
        extra={"reads": reads.figures()},
    )


def measure_peer(plan: Plan, server: str, directory: Path) -> Measured:
    """Both hashers on one server: a few sequential requests for PBKDF2, wrk for plaintext."""
    work = directory / f"peer-{server}"
    work.mkdir(exist_ok=True)
    peer_database, clients = peer_dot.fresh_database(work)
    port = free_port()
    with peer_dot.peer_server(server, peer_database, port) as process:
        hashed = peer_dot.sequential_rate(port, clients["pbkdf2"], plan.peer_sequential)
        plain_sequential = peer_dot.sequential_rate(port, clients["plaintext"], 20)
        script = peer_dot.wrk_script(clients["plaintext"], work)
        run_wrk(port, script, seconds=2, connections=CONNECTIONS)
        plain = best(
            [
                run_wrk(port, script, seconds=plan.seconds, connections=CONNECTIONS)
                for _ in range(plan.rounds)
            ]
        )
        rss = peak_rss_mib(peer_dot.pid_of_worker(process, server))
    return Measured(
        ours=plain,
        rss_mib=rss,
        load=load_average(),
        extra={
            "pbkdf2_sequential_rps": hashed,
            "plaintext_sequential_rps": plain_sequential,
            "pbkdf2_requests": plan.peer_sequential,
        },
    )


def _n(count: int) -> str:
    """10 000, as the progress lines write numbers."""
    return f"{count:,}".replace(",", " ")


def build_steps(plan: Plan, directory: Path) -> list[Step]:
    both = _phase_seconds(plan, both=True)
    one = _phase_seconds(plan, both=False)
    small = plan.token_sizes[0]
    steps = [
        Step(
            f"token endpoint, {_n(count)} credentials, ours vs bare form endpoint",
            both + count / 4000 + 3,
            lambda count=count: measure_token(plan, count, directory),  # type: ignore[misc]
            f"token/{count}",
        )
        for count in plan.token_sizes
    ]
    # Each restricted step right after its unrestricted one, so the two ratios are minutes apart.
    steps.insert(
        1,
        Step(
            f"token endpoint, {_n(small)} credentials limited to {RESTRICTED_EVENTS} events, "
            "ours vs bare form endpoint",
            both + small / 4000 + 3,
            lambda: measure_token(plan, small, directory, events=RESTRICTED_EVENTS),
            f"token-restricted/{small}",
        ),
    )
    steps.append(
        Step(
            "GET /partner/v1/me, ours vs bare JSON endpoint",
            both + 3,
            lambda: measure_me(plan, directory),
            "me",
        )
    )
    steps.append(
        Step(
            f"GET /partner/v1/me, credentials limited to {RESTRICTED_EVENTS} events, "
            "ours vs bare JSON endpoint",
            both + 3,
            lambda: measure_me(plan, directory, events=RESTRICTED_EVENTS),
            "me-restricted",
        )
    )
    # Three apps alternate: the bare endpoint, then ours with counting on and off in turns.
    counting = 3 * (2 + plan.counting_rounds * plan.seconds) + 6
    for endpoint, path in (("token", "POST /oauth/token, 100 credentials"), ("me", "GET /me")):
        steps.append(
            Step(
                f"{path}, usage counting on and off, each vs the bare endpoint",
                counting,
                lambda endpoint=endpoint: measure_counting(plan, endpoint, directory),  # type: ignore[misc]
                f"counting/{endpoint}",
            )
        )
    steps.append(
        Step(
            "POST /oauth/token with private_key_jwt (ES256 assertions) and with a client secret, "
            "reuse window default and off, vs the bare endpoint; stages in-process",
            5 * (2 + plan.pkjwt_rounds * plan.seconds) + 120,
            lambda: measure_pkjwt(plan, directory),
            "token-pkjwt",
        )
    )
    steps.append(
        Step(
            f"peak RSS of one worker, {_n(plan.footprint_credentials)} credentials with a token "
            "and calls counted, counting on and off",
            # Measured 311 s at 10,000: a credential's first token writes its last use.
            10 + plan.footprint_credentials * 0.03,
            lambda: measure_footprint(plan, directory),
            "counting/rss",
        )
    )
    for count in plan.list_sizes:
        with_bare = count == plan.list_ratio_size
        label = f"GraphQL credentials(first: 20), {_n(count)} credentials in one organisation"
        label += ", ours vs plain Strawberry" if with_bare else ", ours"
        steps.append(
            Step(
                label,
                # Seeding: 64 s for 100,000 credentials (load 3.6), bulk inserts in one transaction.
                (both if with_bare else one) + count / 1500 + 3,
                lambda count=count, with_bare=with_bare: measure_list(  # type: ignore[misc]
                    plan, count, directory, with_bare=with_bare
                ),
                f"list/{count}",
            )
        )
    steps.append(
        Step(
            f"GraphQL credentials(first: 20) at {_n(plan.list_ratio_size)} and at "
            f"{_n(plan.list_sizes[-1])} credentials, two organisations of one database, "
            "alternating runs",
            (plan.list_ratio_size + plan.list_sizes[-1]) / 1500
            + (plan.list_scale_rounds * 2 + 2) * (plan.seconds + 1),
            lambda: measure_list_scale(plan, directory),
            "list/scale",
        )
    )
    steps.append(
        Step(
            f"GraphQL createCredential, {plan.credential_calls} sequential calls in an "
            f"organisation without webhook endpoints and in one with {create_bench.ENDPOINTS}, "
            "over HTTP and in-process",
            5 + (plan.credential_warm_up + plan.credential_calls) * 2 * 0.01,
            lambda: measure_create_credential(plan, directory),
            "create-credential",
        )
    )
    steps.append(
        Step(
            f"webhook delivery, one worker, {_n(plan.webhook_events)} events to a local receiver",
            4 + plan.webhook_events / 300,
            lambda: measure_webhooks(plan, directory),
            "webhooks",
        )
    )
    hot_stock = hot_bench.QUICK_STOCK if plan.quick else hot_bench.STOCK
    for variant, setup in hot_bench.VARIANTS.items():
        steps.append(
            Step(
                f"hot product: {hot_bench.CLIENTS} clients reserve 1-4 tickets until "
                f"{_n(hot_stock)} are sold out, {setup.label}, ours vs raw asyncpg",
                # Seeding and start-up, then about 2.5 tickets a reservation at ≈ 200/s ours
                # and ≈ 500/s bare, a tenth of the stock as warm-up.
                20 + (plan.rounds + 0.1) * hot_stock / 2.5 * (1 / 200 + 1 / 500),
                lambda variant=variant: measure_hot_product(plan, variant, directory),  # type: ignore[misc]
                f"hot-product/{variant}",
            )
        )
    reads_size = reads_bench.ratio_orders(plan.quick)
    for resource, kind in reads_bench.READ_STEPS:
        key = reads_bench.read_key(resource, kind)
        steps.append(
            Step(
                f"GET /partner/v1/{resource}?limit=100, {kind}, {_n(reads_size)} orders, ours vs "
                "the same SQL over the raw driver",
                both + 15,
                lambda kind=kind, resource=resource, key=key: measure_reads(  # type: ignore[misc]
                    plan, kind, reads_size, resource, directory, key
                ),
                key,
            )
        )
    for size in reads_bench.growth_sizes(plan.quick):
        key = reads_bench.growth_key(size)
        steps.append(
            Step(
                f"GET /partner/v1/orders?limit=100, {reads_bench.GROWTH_DATABASE}, {_n(size)} "
                "orders in the organisation, ours vs the raw driver",
                # Seeding: 384 s for 1,000,000 orders (COPY, ≈ 7.4 rows an order) in a smoke run.
                both + 15 + size * 4e-4,
                lambda size=size, key=key: measure_reads(  # type: ignore[misc]
                    plan, reads_bench.GROWTH_DATABASE, size, "orders", directory, key
                ),
                key,
            )
        )
    for server in ("uvicorn", "gunicorn"):
        steps.append(
            Step(
                f"peer: django-oauth-toolkit under {server}, PBKDF2 ({plan.peer_sequential} "
                "sequential requests) and plaintext (wrk)",
                plan.peer_sequential * 1.0 + one + 10,
                lambda server=server: measure_peer(plan, server, directory),  # type: ignore[misc]
                f"peer/{server}",
            )
        )
    return steps


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": len(
            [
                line
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("processor")
            ]
        ),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _rps(result: Result | None) -> float:
    return result.requests_per_second if result is not None else float("nan")


def summarise(plan: Plan, measured: dict[str, Measured], peer_versions: str) -> dict[str, Any]:
    """The results document: every measurement, the ratios, and each target met or missed."""
    small, large = plan.token_sizes[0], plan.token_sizes[-1]
    token_small = measured[f"token/{small}"]
    token_large = measured[f"token/{large}"]
    me = measured["me"]
    token_restricted = measured[f"token-restricted/{small}"]
    me_restricted = measured["me-restricted"]
    list_ratio = measured[f"list/{plan.list_ratio_size}"]
    peers = {
        f"{server}, {hasher}": rps
        for server in ("uvicorn", "gunicorn")
        for hasher, rps in (
            ("PBKDF2 (default)", measured[f"peer/{server}"].extra["pbkdf2_sequential_rps"]),
            ("plaintext", _rps(measured[f"peer/{server}"].ours)),
        )
    }
    peer_best_name, peer_best = max(peers.items(), key=lambda item: item[1])
    bare_form = _rps(token_small.bare)
    ours_token = _rps(token_small.ours)
    # The throughput steps' workers; `counting/rss` has its own target row, at 10,000 active
    # credentials.
    rss = max(
        m.rss_mib or 0.0
        for key, m in measured.items()
        if not key.startswith("peer/") and key != "counting/rss"
    )
    ratios = {
        "token_vs_bare": ours_token / bare_form,
        "token_vs_peer_best": ours_token / peer_best,
        "me_vs_bare": _rps(me.ours) / _rps(me.bare),
        "token_restricted_vs_bare": _rps(token_restricted.ours) / _rps(token_restricted.bare),
        "me_restricted_vs_bare": _rps(me_restricted.ours) / _rps(me_restricted.bare),
        "graphql_list_vs_plain_strawberry": _rps(list_ratio.ours) / _rps(list_ratio.bare),
        "token_largest_vs_smallest": _rps(token_large.ours) / ours_token,
        # The admin list at its largest organisation against the 1,000 of its bare comparison.
        "list_largest_vs_ratio_size": _rps(measured[f"list/{plan.list_sizes[-1]}"].ours)
        / _rps(list_ratio.ours),
    }
    # Signed: restricted minus unrestricted ratio, each against its own same-run baseline.
    ratios["token_restricted_minus_unrestricted"] = (
        ratios["token_restricted_vs_bare"] - ratios["token_vs_bare"]
    )
    ratios["me_restricted_minus_unrestricted"] = (
        ratios["me_restricted_vs_bare"] - ratios["me_vs_bare"]
    )
    for key in ("token", "me"):
        figures = measured[f"counting/{key}"].extra["counting"]
        ratios[f"{key}_counting_on_vs_bare"] = figures["ratio_on"]
        ratios[f"{key}_counting_off_vs_bare"] = figures["ratio_off"]
        # Signed: on minus off, each against the same-run baseline.
        ratios[f"{key}_counting_on_minus_off"] = figures["difference"]
        # Signed: the median over the rounds of (on - off) ÷ bare within each round.
        ratios[f"{key}_counting_on_minus_off_paired"] = figures["paired_difference"]
    targets = [
        ("token ≥ 0.60 of bare form endpoint", ratios["token_vs_bare"], 0.60),
        ("token ≥ 10x the peer's best configuration", ratios["token_vs_peer_best"], 10.0),
        ("/me ≥ 0.60 of bare JSON endpoint", ratios["me_vs_bare"], 0.60),
        ("GraphQL list ≥ 1.0 of plain Strawberry", ratios["graphql_list_vs_plain_strawberry"], 1.0),
        (
            f"token at {large:,} credentials ≥ 0.90 of {small:,}",
            ratios["token_largest_vs_smallest"],
            0.90,
        ),
    ]
    # The list at scale: the `list/scale` step's median same-round ratio when it ran (one server,
    # both organisations in turns); the separate `list/N` steps' best runs otherwise.
    scale = measured.get("list/scale")
    if scale is not None:
        ratios["list_largest_vs_ratio_size_paired"] = scale.extra["list_scale"]["paired_ratio"]
        targets.append(
            (
                f"list at {plan.list_sizes[-1]:,} credentials ≥ 0.90 of {plan.list_ratio_size:,} "
                "(median same-round ratio, one server)",
                ratios["list_largest_vs_ratio_size_paired"],
                0.90,
            )
        )
    else:
        targets.append(
            (
                f"list at {plan.list_sizes[-1]:,} credentials ≥ 0.90 of {plan.list_ratio_size:,}",
                ratios["list_largest_vs_ratio_size"],
                0.90,
            )
        )
    target_rows = [
        {
            "target": name,
            "value": round(value, 3),
            "threshold": threshold,
            "met": value >= threshold,
        }
        for name, value, threshold in targets
    ]
    # One-sided: the issue asks that a restriction cost the hot path no more than 0.05 of its
    # ratio. A restricted ratio above the unrestricted one is not a miss: the restricted
    # baseline answers a body of the same, larger length (50 ids), which costs the bare
    # endpoint relatively more than ours.
    for endpoint, key in (("token", "token"), ("/me", "me")):
        difference = ratios[f"{key}_restricted_minus_unrestricted"]
        target_rows.append(
            {
                "target": f"{endpoint}: restricted ({RESTRICTED_EVENTS} events) at most 0.05 "
                "below unrestricted",
                "value": round(difference, 3),
                "threshold": -0.05,
                "met": difference >= -0.05,
            }
        )
    # One-sided, like the restriction's: what counting costs is on below off; on above off is
    # the machine's noise. Judged on the median same-round difference: on and off run minutes
    # apart in the best-of figures, and the machine drifts by more than 0.03 in minutes.
    for endpoint, key in (("token", "token"), ("/me", "me")):
        difference = ratios[f"{key}_counting_on_minus_off_paired"]
        target_rows.append(
            {
                "target": f"{endpoint}: usage counting on at most 0.03 below off "
                "(median same-round difference)",
                "value": round(difference, 3),
                "threshold": -0.03,
                "met": difference >= -0.03,
            }
        )
    footprint = measured["counting/rss"].extra["footprint"]
    target_rows.append(
        {
            "target": f"peak RSS with {footprint['credentials']:,} active credentials counted "
            "≤ 150 MiB",
            "value": round(footprint["peak_mib"]["on"], 1),
            "unit": " MiB",
            "threshold": 150,
            "met": footprint["peak_mib"]["on"] <= 150,
        }
    )
    webhooks = measured["webhooks"].extra["webhooks"]
    target_rows.append(
        {
            "target": f"one worker ≥ {webhooks_bench.TARGET_PER_SECOND} webhooks/s",
            "value": round(webhooks["per_second"], 1),
            "unit": " deliveries/s",
            "threshold": webhooks_bench.TARGET_PER_SECOND,
            "met": webhooks["per_second"] >= webhooks_bench.TARGET_PER_SECOND,
        }
    )
    creating = measured["create-credential"].extra["create_credential"]
    # The organisation with endpoints: the event and its deliveries, the most recording writes
    # here.
    adds = creating["recording_adds"][creating["labels"]["hooked"]]
    target_rows.append(
        {
            "target": "recording an event adds ≤ 10 % to createCredential latency "
            f"(event + {creating['endpoints']} deliveries)",
            "value": round(adds * 100, 1),
            "unit": " %",
            "threshold": 10,
            "met": adds <= 0.10,
        }
    )
    # The token endpoint with every token signed (reuse window off), with the per-token log line:
    # the token-pkjwt step's client-secret runs. (The default window's target is the `token/100`
    # row above.)
    signed = measured["token-pkjwt"].extra["pkjwt"]["vs_bare"]["secret-signed"]
    target_rows.append(
        {
            "target": "token, every token signed (reuse window off) ≥ 0.50 of bare",
            "value": round(signed, 3),
            "threshold": 0.50,
            "met": signed >= 0.50,
        }
    )
    for variant, setup in hot_bench.VARIANTS.items():
        hot = measured.get(f"hot-product/{variant}")
        if hot is not None:
            ratio = hot.extra["hot_product"]["ratio"]
            target_rows.append(
                {
                    "target": f"hot product reservations ≥ 0.60 of raw asyncpg ({setup.label}), "
                    "zero oversell and zero lost orders",
                    "value": round(ratio, 3),
                    "threshold": 0.60,
                    "met": ratio >= 0.60,
                }
            )
    reads = {key: m.extra["reads"] for key, m in measured.items() if "reads" in m.extra}
    if reads:
        target_rows += reads_bench.targets(reads, plan.quick)
    target_rows.append(
        {
            "target": "peak RSS per worker ≤ 150 MiB",
            "value": round(rss, 1),
            "threshold": 150,
            "met": rss <= 150,
        }
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": plan.quick,
        "machine": machine(),
        "settings": {
            "server": "uvicorn, 1 worker, uvloop, httptools, no access log",
            "our_logging": f"JSON lines at {os.environ.get('BENCH_LOG_LEVEL', 'INFO').upper()} "
            "to a file (production configuration)",
            "load": (
                f"wrk -t1 -c{CONNECTIONS} -d{plan.seconds}s, best of {plan.rounds}, 2 s warm-up"
            ),
            "database": "SQLite",
            "signing": ALGORITHM,
            "token_reuse_seconds": "default (1)",
            "restricted_events": RESTRICTED_EVENTS,
            "counting": (
                f"bare, then counting on and off in turns, {plan.counting_rounds} rounds; "
                "judged on the median over the rounds of (on - off) ÷ bare; two servers on "
                "copies of one database"
            ),
            "create_credential": (
                f"{plan.credential_calls} createCredential calls per organisation after "
                f"{plan.credential_warm_up} untimed, sequential on one connection, the two "
                "organisations alternating; server without its embedded delivery worker"
            ),
            "webhooks": (
                f"{plan.webhook_events} events, one partner-api worker, a local receiver "
                "answering 204"
            ),
        },
        "measurements": {
            key: {
                "ours": asdict(m.ours) if m.ours else None,
                "bare": asdict(m.bare) if m.bare else None,
                "peak_rss_mib": m.rss_mib,
                "loadavg_after": m.load,
                **m.extra,
            }
            for key, m in measured.items()
        },
        "peer": {
            "versions": peer_versions,
            "requests_per_second": peers,
            "best": peer_best_name,
            "vs_bare_form_endpoint": {name: rps / bare_form for name, rps in peers.items()},
            "ours_vs_peer": {name: ours_token / rps for name, rps in peers.items()},
        },
        "ratios": ratios,
        "peak_rss_mib": rss,
        "targets": target_rows,
    }


def table(results: dict[str, Any], plan: Plan) -> str:
    """The markdown tables docs/benchmarks.md records."""
    m = results["measurements"]
    lines = [
        "| measurement | baseline req/s | ours req/s | ratio | baseline p50 / p99 ms "
        "| ours p50 / p99 ms | ours peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def row(label: str, key: str) -> str:
        ours, bare = m[key]["ours"], m[key]["bare"]
        if bare is None:
            return (
                f"| {label} | - | {ours['requests_per_second']:,.0f} | - | - | "
                f"{ours['p50_ms']:.2f} / {ours['p99_ms']:.2f} | {m[key]['peak_rss_mib']:.0f} |"
            )
        ratio = ours["requests_per_second"] / bare["requests_per_second"]
        return (
            f"| {label} | {bare['requests_per_second']:,.0f} | "
            f"{ours['requests_per_second']:,.0f} | "
            f"**{ratio:.2f}** | {bare['p50_ms']:.2f} / {bare['p99_ms']:.2f} | "
            f"{ours['p50_ms']:.2f} / {ours['p99_ms']:.2f} | {m[key]['peak_rss_mib']:.0f} |"
        )

    small = plan.token_sizes[0]
    limited = f"limited to {RESTRICTED_EVENTS} events"
    for count in plan.token_sizes:
        lines.append(row(f"`POST /oauth/token`, {count:,} credentials", f"token/{count}"))
        if count == small:
            lines.append(
                row(
                    f"`POST /oauth/token`, {count:,} credentials {limited}",
                    f"token-restricted/{count}",
                )
            )
    label = "`POST /oauth/token`, private_key_jwt (ES256), 100 credentials"
    lines.append(row(label, "token-pkjwt"))
    lines.append(row("`GET /partner/v1/me`, 100 credentials", "me"))
    lines.append(row(f"`GET /partner/v1/me`, 100 credentials {limited}", "me-restricted"))
    for count in plan.list_sizes:
        lines.append(
            row(f"GraphQL `credentials(first: 20)`, {count:,} in the organisation", f"list/{count}")
        )
    if "list/scale" in m:
        scale = m["list/scale"]
        figures = scale["list_scale"]
        at_small, at_large = figures["best_small"], scale["ours"]
        lines.append(
            f"| GraphQL `credentials(first: 20)`, {figures['sizes']['large']:,} against "
            f"{figures['sizes']['small']:,} (the baseline) in one database, median of "
            f"{len(figures['per_round'])} same-round ratios | "
            f"{at_small['requests_per_second']:,.0f} | {at_large['requests_per_second']:,.0f} | "
            f"**{figures['paired_ratio']:.2f}** | "
            f"{at_small['p50_ms']:.2f} / {at_small['p99_ms']:.2f} | "
            f"{at_large['p50_ms']:.2f} / {at_large['p99_ms']:.2f} | {scale['peak_rss_mib']:.0f} |"
        )
    for variant, setup in hot_bench.VARIANTS.items():
        if f"hot-product/{variant}" in m:
            label = f"hot product, reservations/s until sold out, {setup.label}"
            lines.append(row(label, f"hot-product/{variant}"))
    lines += [
        "",
        "| peer configuration | req/s | vs bare form endpoint | ours ÷ peer |",
        "| --- | ---: | ---: | ---: |",
    ]
    peer = results["peer"]
    for name, rps in peer["requests_per_second"].items():
        lines.append(
            f"| {name} | {rps:,.1f} | {peer['vs_bare_form_endpoint'][name]:.4f} | "
            f"{peer['ours_vs_peer'][name]:,.1f}x |"
        )
    ratios = results["ratios"]
    lines += [
        "",
        f"| credentials {limited} | unrestricted ratio | restricted ratio | difference |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, key in (
        (f"`POST /oauth/token`, {small:,} credentials", "token"),
        ("`GET /partner/v1/me`", "me"),
    ):
        lines.append(
            f"| {label} | {ratios[f'{key}_vs_bare']:.2f} | "
            f"{ratios[f'{key}_restricted_vs_bare']:.2f} | "
            f"{ratios[f'{key}_restricted_minus_unrestricted']:+.2f} |"
        )
    lines += ["", *_counting_table(m)]
    lines += ["", *pkjwt_report.table_lines(m["token-pkjwt"]["pkjwt"])]
    lines += ["", *_create_credential_table(m["create-credential"]["create_credential"])]
    webhooks = m["webhooks"]["webhooks"]
    lines += [
        "",
        f"Webhook delivery, one worker, {webhooks['events']:,} events to a local receiver "
        f"answering 204: **{webhooks['per_second']:,.0f} deliveries/s** "
        f"({webhooks['seconds']:.2f} s from the first delivery to the last; worker peak RSS "
        f"{webhooks['worker_peak_rss_mib']:.0f} MiB).",
    ]
    reads = {key: value["reads"] for key, value in m.items() if "reads" in value}
    if reads:
        for resource, kind in reads_bench.READ_STEPS:
            key = reads_bench.read_key(resource, kind)
            orders = reads[key]["orders"]
            lines.append(
                row(f"`GET /partner/v1/{resource}?limit=100`, {kind}, {orders:,} orders", key)
            )
        lines += ["", *reads_bench.table_lines(reads, plan.quick)]
    lines += ["", "| target | reached | met |", "| --- | ---: | --- |"]
    for target in results["targets"]:
        lines.append(
            f"| {target['target']} | {target['value']}{target.get('unit', '')} | "
            f"{'yes' if target['met'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def _counting_table(m: dict[str, Any]) -> list[str]:
    lines = [
        "| usage counting | bare req/s | off req/s | on req/s | off ratio | on ratio "
        "| on - off | median same-round on - off |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, key in (
        ("`POST /oauth/token`, 100 credentials", "token"),
        ("`GET /partner/v1/me`, 100 credentials", "me"),
    ):
        c = m[f"counting/{key}"]["counting"]
        lines.append(
            f"| {label} | {c['bare']['requests_per_second']:,.0f} | "
            f"{c['off']['requests_per_second']:,.0f} | {c['on']['requests_per_second']:,.0f} | "
            f"{c['ratio_off']:.3f} | {c['ratio_on']:.3f} | {c['difference']:+.3f} | "
            f"{c['paired_difference']:+.3f} |"
        )
    return [*lines, "", usage_footprint.describe(m["counting/rss"]["footprint"])]


def _create_credential_table(figures: dict[str, Any]) -> list[str]:
    a, b = figures["labels"]["plain"], figures["labels"]["hooked"]
    http, record = figures["http"], figures["in_process"]["record"]
    operation = figures["in_process"]["operation"]
    lines = [
        f"| `createCredential`, {http[a]['calls']} sequential calls, one connection | "
        "p50 ms | mean ms | in-process `create_credential` mean ms | in-process `record` mean ms "
        "| `record` share of the operation | recording adds to the HTTP latency |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, what in ((a, "event row only"), (b, f"event + {figures['endpoints']} deliveries")):
        lines.append(
            f"| {label} ({what}) | {http[label]['p50_ms']:.2f} | {http[label]['mean_ms']:.2f} | "
            f"{operation[label]['mean_ms']:.3f} | {record[label]['mean_ms']:.3f} | "
            f"{figures['record_share_of_operation'][label]:.1%} | "
            f"{figures['recording_adds'][label]:.1%} |"
        )
    lines.append(
        f"| {b} against {a} | {figures['deliveries_overhead_p50']:+.1%} | "
        f"{figures['deliveries_overhead_mean']:+.1%} | | | | |"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs and sizes (smoke test)")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--only",
        metavar="KEY",
        help="run only the step KEY (token/100, token-restricted/100, me, me-restricted, "
        "counting/token, counting/me, counting/rss, token-pkjwt, list/1000, list/scale, "
        "create-credential, "
        "webhooks, hot-product/postgres, reads/orders-sqlite, reads/growth/1000000, "
        "peer/gunicorn) or group (token, token-restricted, counting, list, hot-product, reads, "
        "reads/growth, peer) and "
        "print their figures; no results file, tables or plots (for investigating one figure)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    plan = QUICK if args.quick else FULL
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {load_average()}", flush=True)
    if args.only is None or args.only.startswith("peer"):
        peer_versions = peer_dot.ensure_installed()
        print(f"peer: {peer_versions} in var/bench-peer", flush=True)
    measured: dict[str, Measured] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        steps = [
            step
            for step in build_steps(plan, Path(tmp))
            if args.only is None or step.key == args.only or step.key.startswith(f"{args.only}/")
        ]
        total = sum(step.estimate_seconds for step in steps)
        print(f"{len(steps)} steps, about {total / 60:.0f} min", flush=True)
        for index, step in enumerate(steps, start=1):
            print(
                f"[{index}/{len(steps)}] {step.label}: ≈{step.estimate_seconds:.0f} s ...",
                flush=True,
            )
            step_started = time.monotonic()
            result = step.run()
            measured[step.key] = result
            for line in _details(result):
                print(f"      {line}", flush=True)
            took = f"{time.monotonic() - step_started:.0f} s"
            print(f"      {', '.join([*_describe(result), took])}, load {result.load}", flush=True)
    if args.only is not None:
        return
    results = summarise(plan, measured, peer_versions)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = table(results, plan)
    (RESULTS / "table.md").write_text(markdown)
    if not args.no_plots:
        from bench.plots import draw

        # A smoke run's plots stay out of the documentation.
        plots = RESULTS if plan.quick else PLOTS
        for path in draw(results, plan.token_sizes, plan.list_sizes, plots):
            print(f"plot: {path.relative_to(ROOT)}")
    print(f"\nAll done in {(time.monotonic() - started) / 60:.1f} min; var/bench/results.json\n")
    print(markdown)


def _describe(measured: Measured) -> list[str]:
    parts: list[str] = []
    if measured.bare is not None:
        parts.append(f"baseline {measured.bare.requests_per_second:,.0f} req/s")
    if measured.ours is not None:
        parts.append(f"measured {measured.ours.requests_per_second:,.0f} req/s")
    if measured.bare is not None and measured.ours is not None:
        parts.append(
            f"ratio {measured.ours.requests_per_second / measured.bare.requests_per_second:.2f}"
        )
    if "pbkdf2_sequential_rps" in measured.extra:
        parts.append(f"PBKDF2 {measured.extra['pbkdf2_sequential_rps']:.2f} req/s")
    if measured.rss_mib is not None:
        parts.append(f"peak RSS {measured.rss_mib:.0f} MiB")
    return parts


def _details(measured: Measured) -> list[str]:
    """The steps whose figures do not fit one line: what each compares, line by line."""
    if "webhooks" in measured.extra:
        return [webhooks_bench.Throughput(**measured.extra["webhooks"]).describe()]
    if "create_credential" in measured.extra:
        return create_bench.describe(measured.extra["create_credential"]).splitlines()
    if "counting" in measured.extra:
        return [counting_bench.describe(measured.extra["counting"])]
    if "footprint" in measured.extra:
        return [usage_footprint.describe(measured.extra["footprint"])]
    if "pkjwt" in measured.extra:
        return pkjwt_report.describe(measured.extra["pkjwt"])
    if "hot_product" in measured.extra:
        return [hot_bench.describe(measured.extra["hot_product"])]
    if "list_scale" in measured.extra:
        return [_describe_list_scale(measured.extra["list_scale"])]
    return []


def _describe_list_scale(figures: dict[str, Any]) -> str:
    sizes = figures["sizes"]
    rounds = ", ".join(
        f"{one['small']['requests_per_second']:.0f}/{one['large']['requests_per_second']:.0f}"
        for one in figures["rounds"]
    )
    per_round = ", ".join(f"{ratio:.2f}" for ratio in figures["per_round"])
    return (
        f"{sizes['large']:,} ÷ {sizes['small']:,} credentials, median same-round ratio "
        f"{figures['paired_ratio']:.3f} (per round: {per_round}; req/s small/large: {rounds})"
    )


if __name__ == "__main__":
    main()

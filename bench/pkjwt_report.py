"""What bench/token_pkjwt.py reports: its figures from the runs and the in-process split, the
progress lines, and the tables docs/benchmarks.md records."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

from bench.common import POOL, Result, best

CREDENTIALS = 100
OURS = ("secret", "key", "secret-signed", "key-signed")
# The stages bench/pkjwt_split.py times, in the order a key request passes them.
STAGES = (
    ("parse_and_claims", "parse + claims checks"),
    ("verify_es256", "ES256 signature check"),
    ("replay_insert", "replay record (`used_assertion` INSERT, SQLite)"),
    ("sign_token", "access token signing (ES256)"),
)


def figures(
    runs: dict[str, list[Result]],
    cpu: dict[str, list[float]],
    split: dict[str, dict[str, float]],
    *,
    sizes: dict[str, int],
    rss: dict[str, float],
    signed: int,
) -> dict[str, Any]:
    """Best run per target, ratios against the bare endpoint and key against secret (best runs,
    and the median of the same-round ratios), the server's time and CPU per request, and the
    signature check's share of a key request."""
    best_runs = {target: best(results) for target, results in runs.items()}
    rps = {target: result.requests_per_second for target, result in best_runs.items()}
    rounds = [
        {target: results[index].requests_per_second for target, results in runs.items()}
        for index in range(len(runs["bare"]))
    ]
    key_vs_secret, paired = {}, {}
    for reuse, suffix in (("default", ""), ("signed", "-signed")):
        key_vs_secret[reuse] = rps[f"key{suffix}"] / rps[f"secret{suffix}"]
        paired[reuse] = statistics.median(r[f"key{suffix}"] / r[f"secret{suffix}"] for r in rounds)
    # One worker under 32 connections: 1 / throughput is the time it gives each request; the CPU
    # it spent per request (in the best run) says how much of that time it was working.
    wall = {target: 1e6 / value for target, value in rps.items()}
    cpu_best = {target: cpu[target][runs[target].index(best_runs[target])] for target in runs}
    verify = split["verify_es256"]["cpu_us"]
    return {
        "best": {target: asdict(result) for target, result in best_runs.items()},
        "rounds": rounds,
        "vs_bare": {target: rps[target] / rps["bare"] for target in OURS},
        "key_vs_secret": key_vs_secret,
        "paired_key_vs_secret": paired,
        "wall_us_per_request": wall,
        "cpu_us_per_request": cpu_best,
        "busy": {target: cpu_best[target] / wall[target] for target in runs},
        "split": split,
        "verify_share": {
            "http_cpu_default": verify / cpu_best["key"],
            "http_cpu_signed": verify / cpu_best["key-signed"],
            "http_wall_default": verify / wall["key"],
            "http_wall_signed": verify / wall["key-signed"],
            "in_process_cpu_default": verify / split["key_request_default"]["cpu_us"],
            "in_process_cpu_signed": verify / split["key_request_signed"]["cpu_us"],
        },
        # Spending the jti: an INSERT whose commit waits for the disk, beside a whole key request.
        "replay_share_in_process_wall": (
            split["replay_insert"]["wall_us"] / split["key_request_default"]["wall_us"]
        ),
        "response_bytes": sizes,
        "peak_rss_mib": rss,
        "assertions_signed": signed,
        "credentials": {"secret": CREDENTIALS, "key": CREDENTIALS, "load_cycles_through": POOL},
    }


def describe(f: dict[str, Any]) -> list[str]:
    """Progress lines: the ratios and every round, then the tables (so that a `--only` run
    prints what docs/benchmarks.md records)."""
    vs = f["vs_bare"]
    rounds = "; ".join(
        "/".join(f"{r[target]:,.0f}" for target in ("bare", *OURS)) for r in f["rounds"]
    )
    return [
        f"vs bare: secret {vs['secret']:.2f}, key {vs['key']:.2f} (reuse window default); "
        f"secret {vs['secret-signed']:.2f}, key {vs['key-signed']:.2f} (every token signed)",
        f"key ÷ secret: {f['key_vs_secret']['default']:.2f} default, "
        f"{f['key_vs_secret']['signed']:.2f} signed (median same-round "
        f"{f['paired_key_vs_secret']['default']:.2f} / {f['paired_key_vs_secret']['signed']:.2f})",
        f"req/s per round ({'/'.join(('bare', *OURS))}): {rounds}",
        "",
        *table_lines(f),
    ]


def table_lines(f: dict[str, Any]) -> list[str]:
    """The markdown tables docs/benchmarks.md records."""
    best_runs, vs = f["best"], f["vs_bare"]
    lines = [
        "| `POST /oauth/token`, 100 + 100 credentials | reuse window | req/s | vs bare "
        "| p50 / p99 ms | µs per request (1 / req/s) | server CPU µs per request | worker busy |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = {
        "bare": ("bare form endpoint", "-"),
        "secret": ("client secret (HTTP Basic)", "1 s (default)"),
        "key": ("private_key_jwt (ES256 assertion)", "1 s (default)"),
        "secret-signed": ("client secret (HTTP Basic)", "0 (every token signed)"),
        "key-signed": ("private_key_jwt (ES256 assertion)", "0 (every token signed)"),
    }
    for target, (label, window) in labels.items():
        result = best_runs[target]
        ratio = "1.00" if target == "bare" else f"**{vs[target]:.2f}**"
        lines.append(
            f"| {label} | {window} | {result['requests_per_second']:,.0f} | {ratio} | "
            f"{result['p50_ms']:.2f} / {result['p99_ms']:.2f} | "
            f"{f['wall_us_per_request'][target]:.0f} | {f['cpu_us_per_request'][target]:.0f} | "
            f"{f['busy'][target]:.0%} |"
        )
    split, share = f["split"], f["verify_share"]
    lines += ["", "| in-process, per request | wall µs | CPU µs |", "| --- | ---: | ---: |"]
    for name, label in STAGES:
        lines.append(f"| {label} | {split[name]['wall_us']:.1f} | {split[name]['cpu_us']:.1f} |")
    windows = (("default", "reuse window default"), ("signed", "every token signed"))
    for path in ("key", "secret"):
        for reuse, window in windows:
            whole = split[f"{path}_request_{reuse}"]
            lines.append(
                f"| whole {path} request through the ASGI app, {window} | "
                f"{whole['wall_us']:.0f} | {whole['cpu_us']:.0f} |"
            )
    lines += [
        "",
        f"Key ÷ secret: {f['key_vs_secret']['default']:.2f} with the reuse window, "
        f"{f['key_vs_secret']['signed']:.2f} with every token signed. The signature check is "
        f"{share['http_cpu_default']:.0%} of the server CPU a key request costs over HTTP "
        f"({share['http_cpu_signed']:.0%} with every token signed) and "
        f"{share['http_wall_default']:.0%} / {share['http_wall_signed']:.0%} of the time the "
        "worker gives it. Spending the jti (the INSERT and its commit) takes "
        f"{f['replay_share_in_process_wall']:.0%} of an in-process key request's wall time.",
    ]
    return lines

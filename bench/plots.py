"""The growth curves of a bench/run_all.py run as PNGs (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt


def _caption(results: dict[str, Any]) -> str:
    machine = results["machine"]
    return (
        f"{results['date'][:10]}, {machine['cores']} cores ({machine['cpu']}), "
        f"{results['settings']['load']}, one uvicorn worker, SQLite"
    )


def token_growth(results: dict[str, Any], sizes: tuple[int, ...], path: Path) -> Path:
    """Token throughput against the number of credentials, with the bare form endpoint."""
    measurements = results["measurements"]
    ours = [measurements[f"token/{n}"]["ours"]["requests_per_second"] for n in sizes]
    bare = [measurements[f"token/{n}"]["bare"]["requests_per_second"] for n in sizes]
    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=110)
    axes.plot(sizes, bare, marker="o", label="bare form-POST endpoint (baseline)", color="#888888")
    axes.plot(sizes, ours, marker="o", label="POST /oauth/token (ours)", color="#1f5fbf")
    axes.plot(
        sizes,
        [0.6 * value for value in bare],
        linestyle="--",
        color="#d08000",
        label="target: 0.60 of the baseline",
    )
    for size, value in zip(sizes, ours, strict=True):
        axes.annotate(
            f"{value:,.0f}", (size, value), textcoords="offset points", xytext=(0, 8), ha="center"
        )
    axes.set_xscale("log")
    axes.set_xticks(sizes, [f"{n:,}" for n in sizes])
    axes.set_ylim(bottom=0)
    axes.set_xlabel("credentials in the database")
    axes.set_ylabel("requests per second")
    axes.set_title("Token endpoint throughput as credentials grow")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower left")
    figure.text(0.01, 0.01, _caption(results), fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    plt.close(figure)
    return path


def list_latency(results: dict[str, Any], sizes: tuple[int, ...], path: Path) -> Path:
    """List-page latency against the organisation's size: alone (one connection) and under the
    benchmark load (32 connections, where a request mostly waits for the others)."""
    measurements = results["measurements"]
    figure, panels = plt.subplots(1, 2, figsize=(10, 4.8), dpi=110)
    for axes, (title, key) in zip(
        panels,
        (("one connection", "one_connection"), ("32 connections (wrk -c32)", "ours")),
        strict=True,
    ):
        runs = [measurements[f"list/{n}"][key] for n in sizes]
        p50 = [run["p50_ms"] for run in runs]
        p99 = [run["p99_ms"] for run in runs]
        axes.plot(sizes, p50, marker="o", label="p50", color="#1f5fbf")
        axes.plot(sizes, p99, marker="o", label="p99", color="#bf3f1f")
        for size, median, run in zip(sizes, p50, runs, strict=True):
            axes.annotate(
                f"{median:.1f} ms\n{run['requests_per_second']:,.0f} req/s",
                (size, median),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        axes.set_xscale("log")
        axes.set_xticks(sizes, [f"{n:,}" for n in sizes])
        axes.set_ylim(bottom=0, top=max(p99) * 1.25 or 1)
        axes.set_xlabel("credentials in the organisation")
        axes.set_ylabel("latency, ms")
        axes.set_title(title)
        axes.grid(True, alpha=0.3)
        axes.legend(loc="upper left")
    figure.suptitle("GraphQL credentials(first: 20): list-page latency as the organisation grows")
    figure.text(0.01, 0.01, _caption(results), fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    plt.close(figure)
    return path


def draw(
    results: dict[str, Any],
    token_sizes: tuple[int, ...],
    list_sizes: tuple[int, ...],
    directory: Path,
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        token_growth(results, token_sizes, directory / "token-growth.png"),
        list_latency(results, list_sizes, directory / "list-latency.png"),
    ]


def main() -> None:
    """Redraw the plots of a finished run: `.venv/bin/python -m bench.plots [results.json]`."""
    import json
    import sys

    root = Path(__file__).resolve().parent.parent
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "var" / "bench" / "results.json"
    results = json.loads(source.read_text())
    sizes = sorted(
        {
            int(key.split("/")[1])
            for key in results["measurements"]
            if "/" in key and key.split("/")[1].isdigit()
        }
    )
    token_sizes = tuple(n for n in sizes if f"token/{n}" in results["measurements"])
    list_sizes = tuple(n for n in sizes if f"list/{n}" in results["measurements"])
    directory = root / "var" / "bench" if results["quick"] else root / "docs" / "benchmarks"
    for path in draw(results, token_sizes, list_sizes, directory):
        print(path)


if __name__ == "__main__":
    main()

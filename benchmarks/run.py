"""`make bench`: run every benchmark module, print a table, save benchmarks/results/latest.json.

Speed never fails the run: the exit status is non-zero only when a benchmark crashes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

import bench_dispatcher
import bench_engine
import bench_explore
import bench_parallel
import bench_spin
from benchlib import Row
from sdei import __version__, accel

HERE = Path(__file__).resolve().parent

# Every benchmark module's `run(duration, runs)`. A new module is one line here.
SUITES: dict[str, Callable[[float, int], list[Row]]] = {
    "dispatcher": bench_dispatcher.run,
    "engine": bench_engine.run,
    "explore": bench_explore.run,
    "explore-builtin": bench_explore.run_builtin,
    "explore-latent": bench_explore.run_latent,
    "parallel": bench_parallel.run,
    "spin": bench_spin.run,
}


def _rate(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def table(rows: Sequence[Row]) -> Table:
    details = dict.fromkeys(f"{row.name}: {row.detail}" for row in rows if row.detail)
    out = Table(
        title=f"sdei benchmarks (best of runs; compiled hot paths {accel.status()})",
        title_justify="left",
        caption="\n".join(details),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    out.add_column("benchmark", style="bold", no_wrap=True)
    out.add_column("profile", no_wrap=True)
    out.add_column("rate", justify="right", no_wrap=True)
    out.add_column("goal", justify="right", no_wrap=True)
    out.add_column("of goal", justify="right", no_wrap=True)  # 1.00x or more: met
    for row in rows:
        ratio = row.ratio
        if ratio is None:
            shown = ""
        else:
            style = "green" if ratio >= 1 else "yellow"
            shown = f"[{style}]{ratio:.2f}x[/]"
        goal = "" if row.goal is None else ("at most " if row.lower else "") + _rate(row.goal)
        out.add_row(row.name, row.profile, f"{_rate(row.value)} {row.unit}", goal, shown)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--duration", type=float, default=0.5, help="seconds per run (0.5)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure, best kept (5)")
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="suite(s) to run")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    options = parser.parse_args(argv)
    if options.duration <= 0 or options.runs < 1:
        parser.error("--duration must be positive and --runs at least 1")

    # Piped to a file or a CI log the console would be 80 columns, and the figures cut.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    rows: list[Row] = []
    crashed: list[str] = []
    for name, suite in SUITES.items():
        if options.only and name not in options.only:
            continue
        console.print(f"running {name} ...", style="dim")
        try:
            rows.extend(suite(options.duration, options.runs))
        except Exception:
            crashed.append(name)
            console.print(f"[red]{name} crashed:[/]")
            console.print(traceback.format_exc(), markup=False)
    console.print(table(rows))

    options.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "sdei": __version__,
        "accel": accel.status(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration": options.duration,
        "runs": options.runs,
        "rows": [row.as_json() for row in rows],
        "crashed": crashed,
    }
    options.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"saved {options.output}", style="dim")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

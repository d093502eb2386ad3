"""The explorer: executions per second per strategy, dfs executions with and without
partial-order reduction, and time to the first violation.

`run(duration, runs)` follows the suite convention of `benchlib` (rows of `Row`; `Row.as_json()`
gives the dicts). Toy scenarios come from examples/scenarios/; the built-in scenarios are
measured too when they are installed (`builtin_rows`, slower: a complete dfs per fixed row).

    python benchmarks/bench_explore.py [--duration 0.5] [--builtin]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import Row
from sdei.explore import explore
from sdei.kernel.eras import ERAS
from sdei.scenarios.api import Scenario
from sdei.scenarios.registry import builtin
from sdei.text import counted

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
CORRECT = ("counter.py::locked_update", "abba.py::ordered", "sdei_lock.py::masked_lock")
BUGGY = ("counter.py::lost_update", "abba.py::abba", "sdei_lock.py::handler_lock")
RANDOMIZED = ("random", "pct", "swarm")
SEEDS = 5
HISTORIC_GOAL = 0.5  # seconds of search, at most, to find each race Linux has fixed
COMMAND_GOAL = 1.5  # seconds, at most, for the whole `sdei explore` of a buggy era
NOT_RELEASES = ("v4-rfc", "pre-apei-rework")  # a review-era RFC and a what-if: not shipped


def _spec(name: str) -> str:
    return str(EXAMPLES / name)


def _short(name: str) -> str:
    return name.rpartition("::")[2]


def throughput_rows(duration: float, runs: int = 1) -> list[Row]:
    """Executions per second of each strategy on the correct toys (nothing stops them early)."""
    rows = []
    for name in CORRECT:
        for strategy in RANDOMIZED:
            best = 0.0
            for _ in range(runs):
                report = explore(_spec(name), strategy=strategy, budget=duration, seed=1)
                best = max(best, report.rate)
            rows.append(
                Row(
                    f"explore {strategy}: {_short(name)}",
                    "spec",
                    best,
                    "executions/s",
                    detail="random executions of a toy scenario with no bug",
                )
            )
        best = 0.0
        for _ in range(runs):
            done, start = 0, time.perf_counter()
            while time.perf_counter() - start < duration:
                done += explore(_spec(name), strategy="dfs").executions
            best = max(best, done / (time.perf_counter() - start))
        rows.append(
            Row(
                f"explore dfs: {_short(name)}",
                "spec",
                best,
                "executions/s",
                detail="complete dfs with DPOR, repeated",
            )
        )
    return rows


def reduction_rows() -> list[Row]:
    """Executions a complete dfs takes with each reduction."""
    rows = []
    cases = [(name, None) for name in CORRECT] + [("counter.py::independent", 3)]
    for name, cpus in cases:
        for reduction in ("none", "sleep", "dpor"):
            report = explore(_spec(name), strategy="dfs", reduction=reduction, cpus=cpus)
            label = _short(name) + (f" ({cpus} CPUs)" if cpus else "")
            rows.append(
                Row(
                    f"dfs executions: {label} [{reduction}]",
                    "spec",
                    report.executions,
                    "executions",
                    detail="executions of a complete dfs (fewer is better)",
                )
            )
    return rows


def time_to_bug_rows(
    specs: tuple[str, ...] = BUGGY, *, era: str = "latest", budget: float = 60.0
) -> list[Row]:
    """Median executions and seconds to the first violation (default strategy, five seeds)."""
    rows = []
    for spec in specs:
        times, counts = [], []
        for seed in range(SEEDS):
            report = explore(
                _spec(spec) if "::" in spec else spec,
                era=era,
                seed=seed,
                budget=budget,
                shrink=False,
            )
            if report.found:
                times.append(report.elapsed)
                counts.append(report.executions)
        label = f"{_short(spec)} ({era})"
        found = f"{len(times)}/{SEEDS} seeds found it"
        if times:
            rows.append(
                Row(
                    f"time to bug: {label}",
                    "spec",
                    statistics.median(times),
                    "s",
                    detail=f"median over seeds; {found}",
                )
            )
            rows.append(
                Row(
                    f"executions to bug: {label}",
                    "spec",
                    statistics.median(counts),
                    "executions",
                    detail=f"median over seeds; {found}",
                )
            )
        else:
            rows.append(Row(f"time to bug: {label}", "spec", budget, "s (not found)", detail=found))
    return rows


def builtin_rows(budget: float = 120.0, unreduced_budget: float = 20.0) -> list[Row]:
    """The built-in scenarios' verdict table: time to bug per buggy era; a complete dfs in one
    process per fixed era, and for the first fixed era also without the partial-order
    reduction (cut by `unreduced_budget`: it does not finish on these scenarios)."""
    rows: list[Row] = []
    historic: list[Row] = []  # time to bug of the races Linux has fixed
    for scenario in builtin():
        for era in scenario.buggy_eras:
            found = time_to_bug_rows((scenario.name,), era=era, budget=budget / 2)
            rows.extend(found)
            if _historic(scenario, era):
                historic += [r for r in found if r.name.startswith("time to bug")]
        for era in scenario.fixed_eras:
            reductions = ("dpor", "none") if era == scenario.fixed_eras[0] else ("dpor",)
            for reduction in reductions:
                report = explore(
                    scenario.name,
                    era=era,
                    strategy="dfs",
                    jobs=1,
                    reduction=reduction,
                    budget=budget if reduction == "dpor" else unreduced_budget,
                )
                if report.found:
                    verdict = "VIOLATION (a fixed era should have none)"
                elif report.complete:
                    verdict = "complete"
                else:
                    verdict = f"cut ({report.cut})"
                rows.append(
                    Row(
                        f"dfs {scenario.name} ({era}) [{reduction}]",
                        "spec",
                        report.executions,
                        "executions",
                        detail=f"{verdict} in {report.elapsed:.1f} s",
                    )
                )
    if historic:
        slowest = max(historic, key=lambda r: r.value)
        within = sum(r.unit == "s" and r.value <= HISTORIC_GOAL for r in historic)
        how = "median over seeds" if slowest.unit == "s" else "not found within the budget"
        rows.append(
            Row(
                "time to bug: the slowest historic race",
                "spec",
                slowest.value,
                slowest.unit,
                HISTORIC_GOAL,
                detail=f"{slowest.name.removeprefix('time to bug: ')}, {how}; "
                f"{within} of {len(historic)} within the goal",
                lower=True,
            )
        )
    return rows


def _historic(scenario: Scenario, era: str) -> bool:
    """A race Linux has fixed: `era` is a release and a later release is clear of it."""
    releases = [e for e in ERAS if e not in NOT_RELEASES]
    if era not in releases:
        return False
    later = releases[releases.index(era) + 1 :]
    return any(e in later for e in scenario.fixed_eras)


def command_rows(runs: int = 3) -> list[Row]:
    """Wall time of the whole `sdei explore` command for a buggy era (start-up, imports, search,
    shrinking, the report files), best of `runs`, in a scratch directory."""
    command = [str(Path(sys.executable).with_name("sdei")), "explore", "register-hotplug"]
    command += ["--era", "v4.16"]
    best = float("inf")
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
            best = min(best, time.perf_counter() - start)
            if done.returncode != 1:  # 1: a violation was found, as it must be
                raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}\n{done.stderr}")
    return [
        Row(
            "command: sdei explore register-hotplug --era v4.16",
            "spec",
            best,
            "s",
            COMMAND_GOAL,
            detail=f"wall time of the whole command, best of {runs}",
            lower=True,
        )
    ]


def latent_rows(budget: float = 120.0, proof_budget: float = 400.0) -> list[Row]:
    """The latent issues in `latest`: seconds to find each with the default strategy, with
    the (stateful) dfs and with the stateless one, side by side in one process (the ratio is
    dfs over auto), and the complete dfs under the patch each suggests."""
    rows: list[Row] = []
    for scenario in builtin():
        if scenario.group != "latent" and not (scenario.fix and "latest" in scenario.buggy_eras):
            continue  # the latent group, and a latent issue another group stages (L7: ras)
        times: dict[str, float] = {}
        for strategy, states in (("auto", True), ("dfs", True), ("dfs --no-states", False)):
            report = explore(
                scenario.name,
                era="latest",
                strategy=strategy.split()[0],
                states=states,
                jobs=1,
                budget=budget,
                shrink=False,
            )
            times[strategy] = report.elapsed if report.found else budget
            rows.append(
                Row(
                    f"latent {scenario.name}: find [{strategy}]",
                    "spec",
                    times[strategy],
                    "s" if report.found else "s (not found)",
                    detail=f"{counted(report.executions, 'execution')}, one process",
                )
            )
        rows.append(
            Row(
                f"latent {scenario.name}: dfs / auto",
                "spec",
                times["dfs"] / max(times["auto"], 1e-3),
                "x",
                detail="time to find, dfs over auto, measured side by side",
            )
        )
        report = explore(
            scenario.name,
            era="latest",
            strategy="dfs",
            jobs=1,
            patches=scenario.fix,
            budget=proof_budget,
        )
        verdict = "complete" if report.complete else ("VIOLATION" if report.found else "cut")
        rows.append(
            Row(
                f"latent {scenario.name}: dfs under --patch {' --patch '.join(scenario.fix)}",
                "spec",
                report.executions,
                "executions",
                detail=f"{verdict} in {report.elapsed:.1f} s, {report.states} states",
            )
        )
    return rows


def run_latent(duration: float, runs: int = 1) -> list[Row]:
    """The `make bench` suite for the latent issues."""
    return latent_rows()


def run_builtin(duration: float, runs: int = 1) -> list[Row]:
    """The `make bench` suite for the built-in scenarios (several minutes)."""
    return builtin_rows()


def run(duration: float, runs: int = 1) -> list[Row]:
    return [
        *throughput_rows(duration, runs),
        *reduction_rows(),
        *time_to_bug_rows(),
        *command_rows(),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--duration", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--builtin", action="store_true", help="also the built-in scenarios")
    args = parser.parse_args(argv)
    rows = run(args.duration, args.runs)
    if args.builtin:
        rows.extend(builtin_rows())
    for row in rows:
        value = f"{row.value:,.3f}" if row.unit == "s" else f"{row.value:,.0f}"
        print(f"{row.name:55} {value:>12} {row.unit:14} {row.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

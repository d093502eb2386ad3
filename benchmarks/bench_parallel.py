"""Parallel dfs: complete searches with `--jobs 1` and `--jobs 2`, side by side in one run.

The dfs runs in pieces (`sdei.explore.dfs.Piece`): a worker hands part of its tree to an idle
one and takes in what that part found where one process would have searched it, so a
stateless search (`--no-states`) runs exactly the executions of one process. A stateful one
keeps its states per process: there the count may differ (a state one process searched is
new to another). Each search runs twice each way, alternately, and the best time of each
is compared (this machine's speed drifts); the rows give both, the speed-up (goal 1.7 on two
cores) and the execution counts.
"""

from __future__ import annotations

from benchlib import Row
from sdei.explore import explore

SPEEDUP_GOAL = 1.7  # --jobs 2 over --jobs 1 on a 2-core machine
BUDGET = 300.0  # seconds per search
REPEATS = 2  # each way, alternately
Search = tuple[str, str, tuple[str, ...], int | None, dict[str, int]]
L6: Search = ("idle-during-suspend", "latest", ("cpu-pm-respects-driver-mask",), None, {})
# (label, (scenario, era, patches, cpus, params), stateful): complete searches of 5-20 s
SEARCHES: tuple[tuple[str, Search, bool], ...] = (
    ("L6's proof (idle-during-suspend --patch cpu-pm-respects-driver-mask) --no-states", L6, False),
    (
        "B7 at 4 CPUs, 2 callers (register-hotplug --era v5.7 --cpus 4) --no-states",
        ("register-hotplug", "v5.7", (), 4, {"callers": 2}),
        False,
    ),
    ("L6's proof, stateful (the default)", L6, True),
)


def rows() -> list[Row]:
    out: list[Row] = []
    for label, (name, era, patches, cpus, params), states in SEARCHES:
        best: dict[int, float] = {}
        counts: dict[int, set[int]] = {1: set(), 2: set()}
        verdicts: dict[int, set[str]] = {1: set(), 2: set()}
        for _ in range(REPEATS):
            for jobs in (1, 2):
                report = explore(
                    name,
                    era=era,
                    patches=patches,
                    cpus=cpus,
                    params=params,
                    strategy="dfs",
                    jobs=jobs,
                    budget=BUDGET,
                    shrink=False,
                    states=states,
                )
                best[jobs] = min(best.get(jobs, report.elapsed), report.elapsed)
                counts[jobs].add(report.executions)
                verdicts[jobs].add(report.verdict)
        for jobs in (1, 2):
            out.append(
                Row(
                    f"parallel: {label}, --jobs {jobs}",
                    "spec",
                    best[jobs],
                    "s",
                    detail=f"{_listed(counts[jobs])} executions, {_listed(verdicts[jobs])}",
                )
            )
        same = counts[1] == counts[2] and len(counts[1]) == 1
        out.append(
            Row(
                f"parallel: {label}, speed-up of --jobs 2",
                "",
                best[1] / best[2],
                "x",
                SPEEDUP_GOAL,
                detail=f"same verdict: {verdicts[1] == verdicts[2]}; same executions: {same}",
            )
        )
    return out


def _listed(values: set[int] | set[str]) -> str:
    """One value, or every one measured."""
    return " / ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in sorted(values, key=str))


def run(duration: float, runs: int = 1) -> list[Row]:
    """The `make bench` suite (a few minutes)."""
    return rows()

"""Parallel dfs: a complete search with `--jobs 1` and `--jobs 2`, side by side in one run.

For each search the rows give both times with their execution counts, the speed-up (goal 1.7 on
two cores) and how many more executions the split search ran than one process. The split loses
what one process has: the partial-order reduction above the split (subtrees cannot tell the
search above them which races they found) and states one worker kept that another reaches.
"""

from __future__ import annotations

from benchlib import Row
from sdei.explore import explore

SPEEDUP_GOAL = 1.7  # --jobs 2 over --jobs 1 on a 2-core machine
BUDGET = 300.0  # seconds per search
# (label, scenario, era, patches, cpus): complete searches of 20-60 s in one process
SEARCHES = (
    (
        "L6's proof (idle-during-suspend --patch cpu-pm-respects-driver-mask)",
        "idle-during-suspend",
        "latest",
        ("cpu-pm-respects-driver-mask",),
        None,
    ),
    ("B7 at 4 CPUs (register-hotplug --era v5.7 --cpus 4)", "register-hotplug", "v5.7", (), 4),
)


def rows() -> list[Row]:
    out: list[Row] = []
    for label, name, era, patches, cpus in SEARCHES:
        runs = {}
        for jobs in (1, 2):
            report = explore(
                name,
                era=era,
                patches=patches,
                cpus=cpus,
                strategy="dfs",
                jobs=jobs,
                budget=BUDGET,
                shrink=False,
            )
            runs[jobs] = report
            out.append(
                Row(
                    f"parallel: {label}, --jobs {jobs}",
                    "spec",
                    report.elapsed,
                    "s",
                    detail=f"{report.executions:,} executions, {report.verdict}",
                )
            )
        one, two = runs[1], runs[2]
        out.append(
            Row(
                f"parallel: {label}, speed-up of --jobs 2",
                "",
                one.elapsed / two.elapsed,
                "x",
                SPEEDUP_GOAL,
                detail=f"same verdict: {one.verdict == two.verdict}",
            )
        )
        out.append(
            Row(
                f"parallel: {label}, executions --jobs 2 / --jobs 1",
                "",
                two.executions / max(1, one.executions),
                "x",
                detail="1.0 would be the same count as one process",
            )
        )
    return out


def run(duration: float, runs: int = 1) -> list[Row]:
    """The `make bench` suite (a few minutes)."""
    return rows()

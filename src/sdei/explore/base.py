"""What every strategy returns, and the loop the randomized strategies share.

Randomized strategies number their executions; execution `i` of a search seeded `seed` uses
the stable seed `stable_seed(strategy, seed, i)`, so a worker given indices `w, w+N, ...`
runs exactly what a single process would have run at those indices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sdei.explore.budget import Budget, Progress
from sdei.explore.execution import Execution, ExplorerChooser, execute
from sdei.explore.target import Target, stable_seed
from sdei.scenarios.api import Options

PROGRESS_EVERY = 0.2  # seconds between progress callbacks


@dataclass
class SearchResult:
    strategy: str
    seed: int
    executions: int = 0
    complete: bool = False  # an exhaustive search ran out of interleavings
    cut: str | None = None  # why the search stopped early: time, executions, interrupted
    found: Execution | None = None
    step_limit_hits: int = 0  # executions cut by the scenario's max_steps
    pruned: int = 0  # executions ended early by sleep sets (counted in `executions`)
    states: int = 0  # dfs: distinct states reached at choice points (stateful search)
    bound: int | None = None  # the preemption bound in force (dfs)
    reduction: str = ""  # dfs: dpor | sleep | none
    lost: int = 0  # tasks lost with their workers on every retry
    pieces: int = 0  # a parallel dfs: how many pieces (`dfs.Piece`),
    unfinished: int = 0  # and how many were not searched to the end
    notes: list[str] = field(default_factory=list)

    def absorb(self, other: SearchResult) -> None:
        """Add a part's counts (a worker's share, or a phase of `auto`)."""
        self.executions += other.executions
        self.step_limit_hits += other.step_limit_hits
        self.pruned += other.pruned
        self.states += other.states  # summed: workers keep states apart
        self.lost += other.lost
        if self.found is None and other.found is not None:
            self.found = other.found
        for note in other.notes:
            if note not in self.notes:
                self.notes.append(note)


class Ticker:
    """Calls `progress` at most every PROGRESS_EVERY seconds."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.next = 0.0

    def __call__(self, executions: int, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now >= self.next:
            self.next = now + PROGRESS_EVERY
            self.progress(executions)


ChooserFactory = Callable[[int], ExplorerChooser]  # execution seed -> chooser
OptionsFactory = Callable[[int], Options]  # execution seed -> options


def seeded_loop(
    name: str,
    target: Target,
    budget: Budget,
    seed: int,
    make_chooser: ChooserFactory,
    *,
    make_options: OptionsFactory | None = None,
    start: int = 0,
    stride: int = 1,
    progress: Progress | None = None,
) -> SearchResult:
    """Run executions start, start+stride, ... until a violation or the budget ends."""
    result = SearchResult(name, seed)
    tick = Ticker(progress)
    index = start
    while True:
        why = budget.exhausted()
        if why is not None:
            result.cut = why
            break
        run_seed = stable_seed(name, seed, index)
        options = make_options(run_seed) if make_options is not None else None
        chooser = make_chooser(run_seed)
        _, execution = execute(target, chooser, options=options)
        execution.seed = run_seed
        budget.used += 1
        result.executions += 1
        if execution.status == "step-limit":
            result.step_limit_hits += 1
        if execution.violation is not None:
            result.found = execution
            break
        index += stride
        tick(budget.used)
    tick(budget.used, force=True)
    return result

"""The explorer's entry point: `explore(scenario, ...) -> Report`.

It checks the request, runs the strategy (in this process, in worker processes, or on a Dask
cluster), shortens what it found, and reports: the strategy and seed always, "complete" only
when an exhaustive search ran out of interleavings with nothing cut, and otherwise loudly
"incomplete" with the reason.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sdei.explore import auto, dfs, pct, random_walk, swarm
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget, Progress
from sdei.explore.counterexample import Counterexample, make
from sdei.explore.parallel import SLICE_SECONDS, Pool, Task, TaskResult
from sdei.explore.shrink import shrink as shrink_execution
from sdei.explore.target import Target
from sdei.scenarios.api import ERAS, Scenario
from sdei.scenarios.registry import ScenarioError

STRATEGIES = ("auto", "dfs", "pct", "random", "swarm")
PROFILES = ("spec", "tfa")
DEFAULT_SECONDS = 10.0  # a randomized search given no budget at all
SPLIT_DEPTH = 3  # where a parallel dfs hands subtrees to workers
WARM_UP = 1.0  # seconds a parallel search runs in this process before starting workers
ScenarioBound = Literal["scenario"]


class UsageError(Exception):
    """A bad request (one line for the user)."""


@dataclass
class Report:
    scenario: str
    era: str
    profile: str
    strategy: str
    seed: int
    executions: int = 0
    elapsed: float = 0.0
    complete: bool = False
    cut: str | None = None  # time | executions | interrupted
    counterexample: Counterexample | None = None
    step_limit_hits: int = 0
    max_steps: int = 0
    pruned: int = 0
    bound: int | None = None
    reduction: str = ""
    jobs: int = 1
    backend: str = "inline"
    shrink_runs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.counterexample is not None

    @property
    def rate(self) -> float:
        return self.executions / self.elapsed if self.elapsed > 0 else 0.0

    def header(self) -> str:
        return (
            f"{self.scenario} (era {self.era}, profile {self.profile}): strategy "
            f"{self.strategy}, seed {self.seed}"
        )

    def status(self) -> str:
        """The verdict, one line."""
        n = self.executions
        runs = f"{n} execution{'s' if n != 1 else ''}"
        if self.counterexample is not None:
            cx = self.counterexample
            return (
                f"VIOLATION after {runs} ({self.elapsed:.2f} s): {cx.violation.invariant} "
                f"- shortened from {cx.found_choices} to {len(cx.choices)} choices, "
                f"{cx.preemptions} preemption{'s' if cx.preemptions != 1 else ''}"
            )
        if self.cut is not None:
            reason = {
                "time": "time budget reached",
                "executions": "execution budget reached",
                "interrupted": "interrupted",
            }.get(self.cut, self.cut)
            prefix = (
                "incomplete: budget reached"
                if self.cut != "interrupted"
                else ("incomplete: interrupted")
            )
            return (
                f"{prefix} after {runs} ({reason}, {self.elapsed:.2f} s); no violation found so far"
            )
        if self.complete and self.step_limit_hits:
            return (
                f"incomplete: {self.step_limit_hits} of {runs} reached the step limit "
                f"({self.max_steps} steps); no violation in what was explored"
            )
        if self.complete:
            within = f" within preemption bound {self.bound}" if self.bound is not None else ""
            return (
                f"complete{within}: no violation in {runs} ({self.elapsed:.2f} s, "
                f"reduction {self.reduction})"
            )
        return f"no violation in {runs} ({self.elapsed:.2f} s)"

    def details(self) -> list[str]:
        lines = [
            f"{self.executions} executions in {self.elapsed:.2f} s "
            f"({self.rate:.0f}/s, {self.jobs} job{'s' if self.jobs != 1 else ''}, "
            f"{self.backend})"
        ]
        if self.pruned:
            lines.append(f"{self.pruned} executions ended early by sleep sets")
        if self.step_limit_hits and not self.found:
            lines.append(
                f"{self.step_limit_hits} executions reached the step limit ({self.max_steps} steps)"
            )
        lines.extend(self.notes)
        return lines


def _check(
    strategy: str, era: str, profile: str, jobs: int, budget: float | None, executions: int | None
) -> None:
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r} (one of: {', '.join(STRATEGIES)})")
    if era not in ERAS:
        raise UsageError(f"unknown era {era!r} (one of: {', '.join(ERAS)})")
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r} (one of: {', '.join(PROFILES)})")
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if budget is not None and budget <= 0:
        raise UsageError("--budget must be a positive number of seconds")
    if executions is not None and executions <= 0:
        raise UsageError("--executions must be a positive number")


@contextmanager
def _sigint_stops(stop: threading.Event, enabled: bool) -> Iterator[None]:
    """While searching, the first Ctrl-C asks for a clean stop; a second one interrupts."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def explore(
    scenario: Scenario | str,
    *,
    era: str = "latest",
    profile: str = "spec",
    cpus: int | None = None,
    strategy: str = "auto",
    seed: int = 0,
    budget: float | None = None,
    executions: int | None = None,
    jobs: int = 1,
    cluster: str | None = None,
    reduction: str = "dpor",
    bound: int | ScenarioBound | None = "scenario",
    depth: int = pct.DEFAULT_DEPTH,
    max_steps: int | None = None,
    shrink: bool = True,
    shrink_seconds: float = 5.0,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    handle_sigint: bool = False,
    warm_up: bool = True,
) -> Report:
    """Search `scenario` (a Scenario, a built-in name or `file.py::name`) for a violation.

    `budget` is wall-clock seconds and `executions` a number of executions; either cuts the
    search, and the report says so. `bound` is the dfs preemption bound ("scenario": the
    scenario's own; None: unbounded). `jobs` > 1 uses worker processes, `cluster` a Dask
    scheduler address; with `warm_up` a parallel search first runs a second in this process
    (most searches end there, without paying for workers).
    """
    _check(strategy, era, profile, jobs, budget, executions)
    if reduction not in dfs.REDUCTIONS:
        raise UsageError(f"unknown reduction {reduction!r} (one of: {', '.join(dfs.REDUCTIONS)})")
    try:
        target = Target.make(scenario, era=era, profile=profile, cpus=cpus, max_steps=max_steps)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    found_scenario = target.scenario
    preemption_bound = found_scenario.preemption_bound if bound == "scenario" else bound
    if budget is None and executions is None and strategy in ("pct", "random", "swarm"):
        budget = DEFAULT_SECONDS
    limits = Budget(budget, executions, stop=stop or threading.Event())
    report = Report(
        target.name, era, profile, strategy, seed, max_steps=target.max_steps, jobs=jobs
    )
    with _sigint_stops(limits.stop, handle_sigint):
        result: SearchResult | None = None
        warm = SearchResult(strategy, seed)
        if jobs > 1 and not cluster and warm_up:
            # Most searches end within a second: start in this process, and pay for workers
            # only when the search goes on.
            result = _warm_up(
                strategy, target, limits, seed, reduction, preemption_bound, depth, progress
            )
            if result.found is not None or result.complete or limits.exhausted():
                report.notes.append(f"finished before starting workers ({WARM_UP:.0f} s)")
                report.jobs = 1
            else:
                warm, result = result, None
        if result is None and (jobs > 1 or cluster):
            pool = Pool(jobs, cluster)
            report.jobs, report.backend = pool.jobs, pool.backend
            try:
                offset = warm.executions
                result = _parallel(
                    strategy,
                    target,
                    limits,
                    seed,
                    reduction,
                    preemption_bound,
                    depth,
                    progress,
                    pool,
                    offset,
                )
                if offset:
                    result.absorb(warm)
            finally:
                if pool.restarts:
                    report.notes.append(
                        f"{pool.restarts} worker pool restart(s): lost tasks were run again"
                    )
                pool.close()
        elif result is None:
            result = _serial(
                strategy, target, limits, seed, reduction, preemption_bound, depth, progress
            )
    report.elapsed = limits.elapsed()
    report.executions = result.executions
    report.complete = result.complete and result.found is None
    report.cut = result.cut if result.found is None else None
    report.step_limit_hits = result.step_limit_hits
    report.pruned = result.pruned
    report.bound = result.bound if result.reduction else preemption_bound
    report.reduction = result.reduction
    report.notes.extend(n for n in result.notes if n not in report.notes)
    if result.found is not None:
        execution = result.found
        original = len(execution.choices)
        if shrink:
            execution, report.shrink_runs = shrink_execution(
                target, execution, seconds=shrink_seconds
            )
        report.counterexample = make(
            target, execution, strategy=strategy, seed=seed, found_choices=original
        )
    return report


def _serial(
    strategy: str,
    target: Target,
    budget: Budget,
    seed: int,
    reduction: str,
    bound: int | None,
    depth: int,
    progress: Progress | None,
) -> SearchResult:
    if strategy == "dfs":
        return dfs.search(target, budget, seed, reduction=reduction, bound=bound, progress=progress)
    if strategy == "pct":
        return pct.search(target, budget, seed, depth=depth, progress=progress)
    if strategy == "random":
        return random_walk.search(target, budget, seed, progress=progress)
    if strategy == "swarm":
        return swarm.search(target, budget, seed, progress=progress)
    return auto.search(target, budget, seed, reduction=reduction, bound=bound, progress=progress)


def _warm_up(
    strategy: str,
    target: Target,
    budget: Budget,
    seed: int,
    reduction: str,
    bound: int | None,
    depth: int,
    progress: Progress | None,
) -> SearchResult:
    """The first part of a parallel search, in this process: `auto`'s randomized phase, or
    WARM_UP seconds of the strategy itself."""
    if strategy == "auto":
        result = SearchResult("auto", seed)
        seconds, executions = auto.random_phase(budget)
        for search in (pct.search, random_walk.search):
            phase = budget.slice(seconds / 2, max(1, executions // 2))
            part = search(target, phase, seed, progress=_offset(progress, budget.used))
            budget.used += part.executions
            result.absorb(part)
            if result.found is not None:
                break
        return result
    phase = budget.slice(WARM_UP, None)
    result = _serial(strategy, target, phase, seed, reduction, bound, depth, progress)
    budget.used += phase.used
    return result


def _offset(progress: Progress | None, base: int) -> Progress | None:
    if progress is None:
        return None
    return lambda n: progress(base + n)


def _parallel(
    strategy: str,
    target: Target,
    budget: Budget,
    seed: int,
    reduction: str,
    bound: int | None,
    depth: int,
    progress: Progress | None,
    pool: Pool,
    offset: int = 0,
) -> SearchResult:
    """`offset`: how many randomized executions already ran (their indices are skipped)."""
    if strategy in ("pct", "random", "swarm"):
        return _parallel_random(strategy, target, budget, seed, depth, progress, pool, start=offset)
    if strategy == "dfs":
        return _parallel_dfs(target, budget, seed, reduction, bound, progress, pool)
    result = SearchResult("auto", seed)
    if not offset:  # on a cluster: the randomized phase there too
        seconds, executions = auto.random_phase(budget)
        for kind in ("pct", "random"):
            phase = budget.slice(seconds / 2, max(1, executions // 2))
            part = _parallel_random(kind, target, phase, seed, depth, progress, pool)
            budget.used += part.executions
            result.absorb(part)
            if result.found is not None:
                return result
    systematic = _parallel_dfs(target, budget, seed, reduction, bound, progress, pool)
    result.absorb(systematic)
    result.complete, result.cut = systematic.complete, systematic.cut
    result.bound, result.reduction = systematic.bound, systematic.reduction
    return result


def _parallel_random(
    kind: str,
    target: Target,
    budget: Budget,
    seed: int,
    depth: int,
    progress: Progress | None,
    pool: Pool,
    start: int = 0,
) -> SearchResult:
    result = SearchResult(kind, seed)
    jobs = pool.jobs

    def slice_task(start: int) -> Task | None:
        if budget.exhausted() is not None or result.found is not None:
            return None
        left = budget.remaining_seconds()
        seconds = SLICE_SECONDS if left is None else min(SLICE_SECONDS, left)
        remaining = budget.remaining_executions()
        cap = None if remaining is None else max(1, -(-remaining // jobs))
        return Task(
            kind,
            target,
            seed,
            start=start,
            stride=jobs,
            seconds=seconds,
            executions=cap,
            depth=depth,
        )

    def more(done: TaskResult) -> list[Task]:
        follow = slice_task(done.next_start)
        return [follow] if follow is not None else []

    tasks = [t for w in range(jobs) if (t := slice_task(start + w)) is not None]
    for done in pool.run(
        tasks, more, lambda: result.found is not None or budget.exhausted() is not None
    ):
        budget.used += done.result.executions
        result.absorb(done.result)
        if progress is not None:
            progress(budget.used)
    if result.found is None:
        result.cut = budget.exhausted() or "time"
    return result


def _parallel_dfs(
    target: Target,
    budget: Budget,
    seed: int,
    reduction: str,
    bound: int | None,
    progress: Progress | None,
    pool: Pool,
) -> SearchResult:
    head, frontier = dfs.split(target, budget, SPLIT_DEPTH, reduction=reduction, bound=bound)
    result = SearchResult(
        "dfs", seed, bound=bound, reduction=reduction if bound is None else "none"
    )
    result.absorb(head)
    if head.found is not None or head.cut is not None:
        result.cut = head.cut
        return result
    complete = True
    tasks = []
    for item in frontier:
        tasks.append(
            Task(
                "dfs-subtree",
                target,
                seed,
                frontier=item,
                seconds=budget.remaining_seconds(),
                executions=budget.remaining_executions(),
                reduction=reduction,
                bound=bound,
            )
        )
    for done in pool.run(
        tasks, lambda _: [], lambda: result.found is not None or budget.exhausted() is not None
    ):
        budget.used += done.result.executions
        result.absorb(done.result)
        complete = complete and done.result.complete
        if done.result.cut is not None:
            result.cut = done.result.cut
        if progress is not None:
            progress(budget.used)
    if result.found is None and not complete and result.cut is None:
        result.cut = budget.exhausted() or "time"
    result.complete = complete and result.found is None
    result.notes.append(f"dfs split into {len(frontier)} subtrees at depth {SPLIT_DEPTH}")
    return result


# ------------------------------------------------------------------ files


def safe_name(text: str) -> str:
    name = text.rpartition("::")[2] if "::" in text else Path(text).stem or text
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "scenario"


def save(report: Report, out: Path, *, png: bool = True) -> dict[str, Path]:
    """Write the counterexample's replay file, Perfetto trace and (if matplotlib is there) PNG
    timeline into `out`; returns what was written."""
    cx = report.counterexample
    if cx is None:
        return {}
    from sdei.explore.counterexample import replay
    from sdei.explore.visual import Spans, png_timeline, write_perfetto

    stem = f"{safe_name(cx.scenario)}-{cx.era}"
    written = {"replay": cx.save(out / f"{stem}.replay.json")}
    outcome = replay(cx, observers=[Spans])
    spans = outcome.observers[0]
    title = f"{cx.scenario} ({cx.era}): {cx.violation.invariant}"
    written["perfetto"] = write_perfetto(
        spans, out / f"{stem}.pftrace", title=title, annotations=_annotations(cx)
    )
    if png:
        path = png_timeline(spans, out / f"{stem}.png", title=title)
        if path is not None:
            written["png"] = path
    return written


def _annotations(cx: Counterexample) -> dict[str, Any]:
    return {
        "scenario": cx.scenario,
        "era": cx.era,
        "profile": cx.profile,
        "strategy": cx.strategy,
        "seed": cx.seed,
        "invariant": cx.violation.invariant,
        "message": cx.violation.message,
    }

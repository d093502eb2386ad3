"""The explorer's entry point: `explore(scenario, ...) -> Report`.

It checks the request, runs the strategy (in this process, in worker processes, or on a Dask
cluster), shortens what it found, and reports: the strategy and seed always, "complete" only
when an exhaustive search ran out of interleavings with nothing cut, and otherwise loudly
"incomplete" with the reason.
"""

from __future__ import annotations

import math
import re
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sdei.explore import auto, dfs, pct, random_walk, swarm
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget, Progress
from sdei.explore.counterexample import Counterexample, make
from sdei.explore.parallel import DfsPieces, Pool, Task, TaskResult
from sdei.explore.shrink import shrink as shrink_execution
from sdei.explore.target import Target
from sdei.machine.errors import ScenarioCodeError
from sdei.scenarios.api import ERAS, Scenario
from sdei.scenarios.registry import ScenarioError
from sdei.text import counted

STRATEGIES = ("auto", "dfs", "pct", "random", "swarm")
PROFILES = ("spec", "tfa")
DEFAULT_SECONDS = 10.0  # a randomized search given no budget at all
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
    cut: str | None = None  # time | executions | interrupted | worker-lost
    counterexample: Counterexample | None = None
    step_limit_hits: int = 0
    max_steps: int = 0
    pruned: int = 0
    states: int = 0  # a stateful dfs: distinct states reached
    bound: int | None = None
    reduction: str = ""
    jobs: int = 1
    backend: str = "inline"
    shrink_runs: int = 0
    pieces: int = 0  # a parallel dfs: the pieces it ran in (`dfs.Piece`)
    unfinished: int = 0  # ... and how many of them were not searched to the end
    lost: int = 0  # tasks lost with their workers on every retry
    patches: tuple[str, ...] = ()
    params: tuple[tuple[str, int], ...] = ()  # the scenario's parameters set
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.counterexample is not None

    @property
    def verdict(self) -> str:
        """`violation`; `complete` (every interleaving was searched); `complete-bounded`
        (every one within the preemption bound); or `incomplete`."""
        if self.counterexample is not None:
            return "violation"
        if (
            not self.complete
            or self.cut is not None
            or self.step_limit_hits
            or self.lost
            or self.unfinished
        ):
            return "incomplete"
        return "complete" if self.bound is None else "complete-bounded"

    @property
    def rate(self) -> float:
        return self.executions / self.elapsed if self.elapsed > 0 else 0.0

    def header(self) -> str:
        era = "+".join((self.era, *self.patches))
        params = "".join(f", {name}={value}" for name, value in self.params)
        return (
            f"{self.scenario} (era {era}, profile {self.profile}{params}): strategy "
            f"{self.strategy}, seed {self.seed}"
        )

    def reasons(self) -> list[str]:
        """Why a search without a violation is not a proof (empty when it is one)."""
        reasons = []
        if self.cut is not None:
            reasons.append(
                {
                    "time": "time budget reached",
                    "executions": "execution budget reached",
                    "interrupted": "interrupted",
                    "worker-lost": f"{self.lost} task(s) lost with their workers",
                }.get(self.cut, self.cut)
            )
        if self.unfinished:
            reasons.append(f"{self.unfinished} of {self.pieces} pieces not searched to the end")
        if self.step_limit_hits:
            reasons.append(
                f"{self.step_limit_hits} execution(s) reached the step limit "
                f"({self.max_steps} steps)"
            )
        if not reasons and not self.complete:
            reasons.append(f"{self.strategy} search never proves there is no violation")
        return reasons

    def status(self) -> str:
        """The verdict, one line."""
        runs = counted(self.executions, "execution")
        if self.counterexample is not None:
            cx = self.counterexample
            return (
                f"VIOLATION after {runs} ({self.elapsed:.2f} s): {cx.violation.invariant} "
                f"- shrunk to {counted(len(cx.choices), 'choice')}, "
                f"{counted(cx.preemptions, 'preemption')} (found with {cx.found_choices})"
            )
        if self.verdict == "incomplete":
            return (
                f"incomplete: {'; '.join(self.reasons())}, after {runs} "
                f"({self.elapsed:.2f} s); no violation found so far"
            )
        within = f" within preemption bound {self.bound}" if self.bound is not None else ""
        states = f", {self.states} states" if self.states else ""
        return (
            f"complete{within}: no violation in {runs} ({self.elapsed:.2f} s, "
            f"reduction {self.reduction}{states})"
        )

    def details(self) -> list[str]:
        lines = [
            f"{counted(self.executions, 'execution')} in {self.elapsed:.2f} s "
            f"({self.rate:.0f}/s, {counted(self.jobs, 'job')}, {self.backend})"
        ]
        if self.pruned:
            why = "sleep sets or a state searched before" if self.states else "sleep sets"
            lines.append(f"{counted(self.pruned, 'execution')} ended early by {why}")
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
    patches: tuple[str, ...] = (),
    params: dict[str, int] | None = None,
    strategy: str = "auto",
    seed: int = 0,
    budget: float | None = None,
    executions: int | None = None,
    jobs: int = 1,
    cluster: str | None = None,
    reduction: str = "dpor",
    states: bool = True,
    bound: int | ScenarioBound | None = "scenario",
    depth: int = pct.DEFAULT_DEPTH,
    max_steps: int | None = None,
    shrink: bool = True,
    shrink_seconds: float = 5.0,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    handle_sigint: bool = False,
    warm_up: bool = True,
    parallel_dfs: bool = True,
) -> Report:
    """Search `scenario` (a Scenario, a built-in name or `file.py::name`) for a violation.

    `budget` is wall-clock seconds and `executions` a number of executions; either cuts the
    search, and the report says so. `bound` is the dfs preemption bound ("scenario": the
    scenario's own; None: unbounded). `patches` are driver patches applied on top of the era
    (`sdei scenarios` lists them), `params` the scenario's own parameters. `jobs` > 1 uses
    worker processes, `cluster` a Dask scheduler address; with `warm_up` a parallel search
    first runs a second in this process (most searches end there, without paying for
    workers). With `states` (the default) the dfs is stateful: it fingerprints every state
    it reaches and does not search one twice.
    Without `parallel_dfs` the dfs (alone or as `auto`'s last phase) runs in this process whatever
    `jobs` is (the command line's default: a stateful dfs in pieces keeps its states per
    process, so its execution count would vary from run to run).

    An error in the scenario's own code (its set-up, an invariant, an operation that is not
    one) raises `UsageError` naming the file and line: it is never reported as a violation.
    """
    _check(strategy, era, profile, jobs, budget, executions)
    if reduction not in dfs.REDUCTIONS:
        raise UsageError(f"unknown reduction {reduction!r} (one of: {', '.join(dfs.REDUCTIONS)})")
    try:
        target = Target.make(
            scenario,
            era=era,
            profile=profile,
            cpus=cpus,
            patches=patches,
            max_steps=max_steps,
            params=(params or {}).items(),
        )
    except (ScenarioError, ValueError) as error:
        raise UsageError(str(error)) from None
    found_scenario = target.scenario
    preemption_bound = found_scenario.preemption_bound if bound == "scenario" else bound
    if budget is None and executions is None and strategy in ("pct", "random", "swarm"):
        budget = DEFAULT_SECONDS
    limits = Budget(budget, executions, stop=stop or threading.Event())
    report = Report(
        target.name,
        era,
        profile,
        strategy,
        seed,
        max_steps=target.max_steps,
        jobs=jobs,
        patches=target.options.patches,
        params=target.options.params,
    )
    pool: Pool | None = None
    try:
        with _sigint_stops(limits.stop, handle_sigint):
            if not parallel_dfs and strategy == "dfs" and not cluster:
                jobs = 1
                report.jobs = 1
            if jobs > 1 or cluster:
                pool = Pool(jobs, cluster, warm_up=WARM_UP if warm_up else 0.0)
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
                    states=states,
                    parallel_dfs=parallel_dfs or bool(cluster),
                )
                report.backend = pool.backend
                report.jobs = pool.jobs if report.backend != "inline" else 1
                if report.backend == "inline":
                    report.notes.append(
                        f"done in this process within the first {WARM_UP:g} s: no work for workers"
                    )
                if pool.restarts:
                    report.notes.append(
                        f"{pool.restarts} worker pool restart(s): lost tasks were run again"
                    )
            else:
                result = _serial(
                    strategy,
                    target,
                    limits,
                    seed,
                    reduction,
                    preemption_bound,
                    depth,
                    progress,
                    states=states,
                )
    except KeyboardInterrupt:
        if pool is not None:
            pool.close(kill=True)
            pool = None
        raise
    except ScenarioCodeError as error:
        raise UsageError(f"error in the scenario's code: {error}") from None
    finally:
        if pool is not None:
            pool.close()
    report.elapsed = limits.elapsed()
    report.executions = result.executions
    report.complete = result.complete and result.found is None
    report.cut = result.cut if result.found is None else None
    if report.cut is None and result.found is None and not report.complete:
        report.cut = limits.exhausted()
    report.step_limit_hits = result.step_limit_hits
    report.pruned = result.pruned
    report.states = result.states
    report.pieces, report.unfinished, report.lost = (
        result.pieces,
        result.unfinished,
        result.lost,
    )
    report.bound = result.bound if result.reduction else preemption_bound
    report.reduction = result.reduction
    report.notes.extend(n for n in result.notes if n not in report.notes)
    if result.found is not None:
        execution = result.found
        original = len(execution.choices)
        try:
            if shrink:
                execution, report.shrink_runs = shrink_execution(
                    target, execution, seconds=shrink_seconds
                )
            report.counterexample = make(
                target, execution, strategy=strategy, seed=seed, found_choices=original
            )
        except ScenarioCodeError as error:
            raise UsageError(f"error in the scenario's code: {error}") from None
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
    *,
    states: bool = True,
) -> SearchResult:
    if strategy == "dfs":
        return dfs.search(
            target, budget, seed, reduction=reduction, bound=bound, progress=progress, states=states
        )
    if strategy == "pct":
        return pct.search(target, budget, seed, depth=depth, progress=progress)
    if strategy == "random":
        return random_walk.search(target, budget, seed, progress=progress)
    if strategy == "swarm":
        return swarm.search(target, budget, seed, progress=progress)
    return auto.search(
        target, budget, seed, reduction=reduction, bound=bound, progress=progress, states=states
    )


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
    *,
    states: bool = True,
    parallel_dfs: bool = True,
) -> SearchResult:
    if strategy in ("pct", "random", "swarm"):
        return _parallel_random(strategy, target, budget, seed, depth, progress, pool)
    if strategy == "dfs":
        return _parallel_dfs(target, budget, seed, reduction, bound, progress, pool, states)
    result = SearchResult("auto", seed)
    if auto.openings(target, budget, result, reduction=reduction, bound=bound):
        return result
    for kind, seconds, executions in auto.phases(budget):
        phase = budget.slice(seconds, executions)
        part = _parallel_random(
            kind, target, phase, seed, depth, _offset(progress, budget.used), pool
        )
        budget.used += part.executions
        result.absorb(part)
        if result.found is not None or budget.exhausted() is not None:
            result.cut = None if result.found is not None else budget.exhausted()
            return result
    if parallel_dfs:
        systematic = _parallel_dfs(
            target, budget, seed, reduction, bound, progress, pool, states, openings=False
        )
    else:
        systematic = auto.dfs_phase(
            target, budget, seed, reduction=reduction, bound=bound, progress=progress, states=states
        )
        result.notes.append("dfs phase in one process (--jobs N runs it in pieces)")
    result.absorb(systematic)
    result.complete, result.cut = systematic.complete, systematic.cut
    result.bound, result.reduction = systematic.bound, systematic.reduction
    result.pieces, result.unfinished = systematic.pieces, systematic.unfinished
    return result


def _offset(progress: Progress | None, base: int) -> Progress | None:
    if progress is None:
        return None
    return lambda n: progress(base + n)


def _parallel_random(
    kind: str,
    target: Target,
    budget: Budget,
    seed: int,
    depth: int,
    progress: Progress | None,
    pool: Pool,
) -> SearchResult:
    """Worker w of N runs execution indices w, w+N, ... in slices."""
    result = SearchResult(kind, seed)
    jobs = pool.jobs
    tasks = [
        Task(kind, target, seed, ident=w, start=w, stride=jobs, depth=depth) for w in range(jobs)
    ]

    def follow(done: TaskResult) -> list[Task]:
        if done.lost or result.found is not None:
            return []
        return [replace(done.task, start=done.next_start, seconds=None, executions=None)]

    def stop() -> bool:
        return result.found is not None or budget.exhausted() is not None

    for done in pool.run(tasks, follow, stop, budget):
        if done.result is None:
            result.lost += 1
            continue
        budget.used += done.result.executions
        result.absorb(done.result)
        if progress is not None:
            progress(budget.used)
    if result.found is None:
        result.cut = "worker-lost" if result.lost else (budget.exhausted() or "time")
    return result


def _parallel_dfs(
    target: Target,
    budget: Budget,
    seed: int,
    reduction: str,
    bound: int | None,
    progress: Progress | None,
    pool: Pool,
    states: bool = True,
    *,
    openings: bool = True,
) -> SearchResult:
    """The dfs in pieces (`dfs.Piece`): one starts at the root; a worker running one hands
    part of it out when another is idle. A piece that reaches a part it handed out waits for
    it and takes in what it found there, so the pieces together run the executions one
    process would, and make the same verdict. Complete only when the root piece came back
    complete: a piece never finished - cut by a budget or an interrupt, or lost with its
    worker - leaves the search incomplete. The openings (`dfs.probe`) run as a task of their
    own beside the root piece (a worker's at first, unless it is slow to start): an opening
    that finds a violation, or exhausts the tree, ends the search as it would in one process;
    otherwise they add their executions, as they do there. `openings=False`: the caller ran
    `dfs.probe` already."""
    result = SearchResult(
        "dfs", seed, bound=bound, reduction=reduction if bound is None else "none"
    )
    root = Task(
        "dfs-piece",
        target,
        seed,
        piece=dfs.Piece(),
        give=1 if pool.backend == "dask" else 0,  # a cluster's workers cannot say they idle
        reduction=reduction,
        states=states,
        bound=bound,
        search=uuid.uuid4().hex,  # its slices share the states of their process
    )
    pieces = DfsPieces(root)
    tasks = [root]
    if openings and dfs.probes(reduction, bound):
        # run to their end (an opening cannot be resumed), within the search's budget
        tasks.append(replace(root, kind="dfs-probe", piece=None, search="", seconds=math.inf))
    opened = False  # an opening searched the whole tree

    def stop() -> bool:
        # Not on the execution budget alone: searches waiting for pieces still take them in
        # (`Pool._admit`).
        return opened or result.found is not None or budget.exhausted() not in (None, "executions")

    def follow(done: TaskResult) -> list[Task]:
        return [] if done.task.kind == "dfs-probe" else pieces.follow(done)

    kept: dict[int, int] = {}  # process -> the states it keeps (a slice counts them all)
    for done in pool.run(tasks, follow, stop, budget):
        if done.result is None:
            result.lost += 1
            continue
        budget.used += done.result.executions
        if done.task.kind == "dfs-probe":
            opened = done.result.complete
        else:  # a process's states only grow (a slice that dropped them reports none)
            process = done.process
            kept[process] = max(kept.get(process, 0), done.result.states)
            done.result.states = 0
        result.absorb(done.result)
        if progress is not None:
            progress(budget.used)
    result.states += sum(kept.values())
    # pieces stopped because an opening searched the tree are not unfinished work
    result.pieces, result.unfinished = pieces.count, 0 if opened else len(pieces.unfinished)
    searched = opened or (not pieces.unfinished and not result.lost)
    result.complete = searched and result.found is None
    if result.found is None and not result.complete:
        result.cut = "worker-lost" if result.lost else (budget.exhausted() or "interrupted")
    dropped = [note for note in result.notes if note.startswith(dfs.DROPPED)]
    if len(dropped) > 1:  # one note, not one per piece
        result.notes = [note for note in result.notes if note not in dropped]
        result.notes.append(f"{dfs.DROPPED} in {len(dropped)} pieces, where they did not pay")
    if pieces.count > 1:
        result.notes.append(f"dfs in {pieces.count} pieces")
    return result


# ------------------------------------------------------------------ files


def safe_name(text: str) -> str:
    name = text.rpartition("::")[2] if "::" in text else Path(text).stem or text
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "scenario"


def save(report: Report, out: Path) -> dict[str, Path]:
    """Write the counterexample's replay file, HTML report and Perfetto trace into `out`;
    returns what was written."""
    cx = report.counterexample
    if cx is None:
        return {}
    from sdei.explore.counterexample import replay
    from sdei.explore.html_report import write_report
    from sdei.explore.visual import Spans, write_perfetto
    from sdei.trace.state import StateLog

    paths = output_paths(cx, out)
    written = {"replay": cx.save(paths["replay"])}
    outcome = replay(cx, observers=[Spans, StateLog])
    spans, log = outcome.observers
    written["report"] = write_report(paths["report"], cx, outcome, log)
    title = f"{cx.scenario} ({cx.era}): {cx.violation.invariant}"
    written["perfetto"] = write_perfetto(
        spans, paths["perfetto"], title=title, annotations=_annotations(cx)
    )
    return written


def output_paths(cx: Counterexample, out: Path) -> dict[str, Path]:
    """Where `save` writes a counterexample's files."""
    stem = f"{safe_name(cx.scenario)}-{cx.era}"
    return {
        "replay": out / f"{stem}.replay.json",
        "report": out / f"{stem}.html",
        "perfetto": out / f"{stem}.pftrace",
    }


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

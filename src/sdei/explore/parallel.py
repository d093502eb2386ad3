"""Farming work out: tasks that run the same in this process, in worker processes
(`multiprocessing`: forked where the system can, else spawned) or on a Dask cluster.

A task is a slice of a search, at most SLICE_SECONDS long: for randomized strategies a stride
of execution indices, for dfs a piece of the tree (`dfs.Piece`), which comes back with a
continuation when its slice ends before the piece does, and with pieces of its own handed out
when a worker is idle. Every slice that was handed out
comes back - with its result, or marked lost if its worker died on every retry - so the caller
can account for all work, in flight or not: stopping (a budget, Ctrl-C, a violation) means
handing out nothing more and collecting what runs, which takes at most a slice.

Execution budgets are exact: a slice's cap is reserved from what is left before it is handed
out, so the slices in flight can never together run more than the budget allows.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sdei.explore import dfs, pct, random_walk, swarm
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget
from sdei.explore.target import Target

SLICE_SECONDS = 1.0  # how long a task runs before reporting back
RETRIES = 3  # how often a pool whose worker died is restarted
PAUSE_AFTER = 0.05  # seconds a dfs piece runs at least before it stops to hand out work
# Workers are forked where the system can (at once, and ready with everything this process
# imported; they are started before the pool's own thread), else spawned (half a second of
# imports each).
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
# The workers start in the background once a search has run this long here (`Pool`).
START_WORKERS_AFTER = 0.1
# This process's slices while no worker runs, and of randomized tasks: short, to start the
# workers and to take their results in (a dfs piece pauses for those itself).
WARM_SLICE = 0.1

# In a worker process: how many workers are idle (set by the parent, `Pool`), which a dfs
# piece reads after each execution to stop and hand out part of its tree; -1 once the search
# stops, which ends the dfs's openings (they cannot be sliced).
_IDLE: Any = None


@dataclass(frozen=True)
class Task:
    kind: str  # random | pct | swarm | dfs-piece | dfs-probe (the dfs's openings, `dfs.probe`)
    target: Target
    seed: int
    ident: int = 0  # the stride a randomized task continues (a dfs piece has its own name)
    start: int = 0
    stride: int = 1
    seconds: float | None = None  # the slice; None: SLICE_SECONDS (or until done, inline)
    executions: int | None = None
    piece: dfs.Piece | None = None
    # pieces handed out from this one that came back, to take in before it goes on
    taken: tuple[dfs.Returned, ...] = ()
    give: int = 0  # pieces a dfs slice hands out at its end (where idle workers are not known)
    reduction: str = "dpor"
    states: bool = True  # a stateful dfs
    search: str = ""  # which search a dfs slice belongs to: its process's states are shared
    bound: int | None = None
    depth: int = pct.DEFAULT_DEPTH
    crash_marker: str | None = None  # testing: die, the first time this file is absent
    crash_always: bool = False  # testing: die every time


@dataclass
class TaskResult:
    task: Task
    result: SearchResult | None  # None: lost with its worker, on every retry
    next_start: int = 0  # where a randomized task's indices continue
    continuation: dfs.Piece | None = None  # a dfs piece its slice did not finish
    handed: tuple[dfs.Piece, ...] = ()  # pieces of it handed out
    waiting: str | None = None  # the handed-out piece it cannot go on without
    returned: dfs.Returned | None = None  # a finished piece: what it gives back
    process: int = 0  # the process it ran in (a stateful dfs keeps one set of states in each)

    @property
    def lost(self) -> bool:
        return self.result is None


def run_task(
    task: Task,
    stop: threading.Event | None = None,
    idle: Callable[[], int] | None = None,
    waited: Callable[[], bool] | None = None,
) -> TaskResult:
    """Run one task (in whatever process this is). `idle()`: how many workers have nothing to
    do (by default what the pool says, in a worker), to whom a dfs piece hands out work;
    `waited()`: results are waiting for this process, and a dfs piece pauses for them."""
    if task.crash_always or (
        task.crash_marker is not None and not Path(task.crash_marker).exists()
    ):
        if task.crash_marker is not None:
            Path(task.crash_marker).write_text("crashed once\n")
        os._exit(3)
    budget = Budget(task.seconds, task.executions, stop=stop or threading.Event())
    if task.kind == "dfs-piece":
        return _run_piece(task, budget, idle or _idle_workers, waited)
    if task.kind == "dfs-probe":
        if stop is None:  # in a worker: the parent says when the search stops
            budget.stop = _SearchStopped()
        opening = dfs.probe(task.target, budget, reduction=task.reduction, bound=task.bound)
        if opening is None:  # the budget was spent before it began
            opening = SearchResult(dfs.NAME, task.seed, bound=task.bound, cut=budget.exhausted())
        return TaskResult(task, opening, process=os.getpid())
    if task.kind == "pct":
        result = pct.search(
            task.target, budget, task.seed, depth=task.depth, start=task.start, stride=task.stride
        )
    elif task.kind == "swarm":
        result = swarm.search(task.target, budget, task.seed, start=task.start, stride=task.stride)
    elif task.kind == "random":
        result = random_walk.search(
            task.target, budget, task.seed, start=task.start, stride=task.stride
        )
    else:
        raise ValueError(f"unknown task kind {task.kind!r}")
    return TaskResult(task, result, task.start + task.stride * result.executions)


def _idle_workers() -> int:
    return max(0, int(_IDLE.value)) if _IDLE is not None else 0


class _SearchStopped(threading.Event):
    """Set once the parent stops the search (`Pool`: a budget, Ctrl-C, a violation)."""

    def is_set(self) -> bool:
        return _IDLE is not None and int(_IDLE.value) < 0


def _run_piece(
    task: Task, budget: Budget, idle: Callable[[], int], waited: Callable[[], bool] | None
) -> TaskResult:
    assert task.piece is not None
    searcher = dfs.DfsSearch(
        task.target,
        reduction=task.reduction,
        bound=task.bound,
        piece=task.piece,
        states=task.states,
        visited=_states_of(task.search),
    )
    for back in task.taken:
        searcher.take_in(back)
    began = time.monotonic()

    def pause() -> bool:
        if time.monotonic() - began < PAUSE_AFTER:
            return False
        return (idle() > 0 and searcher.can_hand_out()) or (waited is not None and waited())

    if task.taken and not searcher.advance():  # it waited there: on from the piece taken in
        result = SearchResult(dfs.NAME, 0, bound=task.bound, reduction=searcher.reduction)
        result.complete = searcher.waiting is None
        result.states = len(searcher.visited) if searcher.visited is not None else 0
    else:
        result = searcher.run(budget, pause=pause)
    handed: list[dfs.Piece] = []
    if not result.complete and result.found is None:
        for _ in range(max(task.give, idle())):
            piece = searcher.hand_out()
            if piece is None:
                break
            handed.append(piece)
    return TaskResult(
        task,
        result,
        continuation=None if result.complete or result.found else searcher.continuation(),
        handed=tuple(handed),
        waiting=searcher.waiting,
        returned=searcher.returned() if result.complete else None,
        process=os.getpid(),
    )


_STATES: dict[str, dict[bytes, dfs.Visit]] = {}


def _states_of(search: str) -> dict[bytes, dfs.Visit] | None:
    """The states kept in this process by the slices of `search` that ran here: every subtree
    of one search may use them (a state searched to the end is searched, whichever subtree
    reached it). Only the latest search's are kept."""
    if not search:
        return None
    found = _STATES.get(search)
    if found is None:
        _STATES.clear()
        found = _STATES[search] = {}
    return found


class DfsPieces:
    """The bookkeeping of a dfs in pieces (`dfs.Piece`), from its `root` task: `follow` turns
    each slice's result into the tasks that go on - the pieces it handed out, its
    continuation, or, where it waits for a piece handed out from it, that search resumed with
    the piece taken in once the piece has come back (a piece that comes back first is kept
    until then). The pieces then run the executions of one process, whatever the order in
    which the slices run."""

    def __init__(self, root: Task) -> None:
        self.root = root
        self.count = 1  # pieces so far
        self.unfinished = {dfs.ROOT}
        self.back: dict[str, dfs.Returned] = {}  # came back before their search waits for them
        self.parked: dict[str, tuple[Task, dfs.Piece]] = {}  # waited for -> the search waiting

    def follow(self, done: TaskResult) -> list[Task]:
        task, found = done.task, done.result
        if found is None or found.found is not None:
            return []
        tasks = [
            replace(self.root, piece=piece, give=task.give, seconds=None, executions=None)
            for piece in done.handed
        ]
        self.count += len(done.handed)
        self.unfinished.update(piece.ident for piece in done.handed)
        returned = done.returned
        if returned is not None:
            self.unfinished.discard(returned.ident)
            waiting = self.parked.pop(returned.ident, None)
            if waiting is not None:
                tasks.append(_resumed(*waiting, returned))
            elif returned.ident != dfs.ROOT:
                self.back[returned.ident] = returned
        elif done.continuation is not None and done.waiting is not None:
            came = self.back.pop(done.waiting, None)
            if came is not None:
                tasks.append(_resumed(task, done.continuation, came))
            else:
                self.parked[done.waiting] = (task, done.continuation)
        elif done.continuation is not None:
            tasks.append(_resumed(task, done.continuation, None))
        return tasks


def _resumed(task: Task, where: dfs.Piece, taken: dfs.Returned | None) -> Task:
    return replace(
        task, piece=where, taken=() if taken is None else (taken,), seconds=None, executions=None
    )


def _quiet_worker(idle: Any = None) -> None:
    global _IDLE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _IDLE = idle
    _STATES.clear()  # a forked worker's own, not a copy of the parent's (counted there)


class ClusterError(Exception):
    """The Dask cluster cannot be used (one line for the user)."""


Follow = Callable[[TaskResult], list[Task]]


class Pool:
    """Submit tasks; iterate results as they complete. Backends: inline, processes, dask.

    With more than one job this process is one of them (`_run_processes`). With `warm_up`
    seconds it runs alone at first: most searches end there, without paying for workers,
    which start in the background after START_WORKERS_AFTER and get work once they are up,
    at the latest after `warm_up`.
    """

    def __init__(
        self,
        jobs: int = 1,
        cluster: str | None = None,
        *,
        warm_up: float = 0.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.jobs = max(1, jobs)
        self.cluster = cluster
        self.warm_up = warm_up
        self._executor: cf.ProcessPoolExecutor | None = None
        self._idle: Any = None  # shared with the workers: how many are idle
        self._starting: list[cf.Future[None]] = []  # workers started ahead (`_start_workers`)
        self._client: Any = None
        self.restarts = 0
        self.lost = 0  # tasks given up after every retry
        self.started_workers = False
        if cluster is not None:
            self._client = _dask_client(cluster, connect_timeout)
            self.jobs = max(1, _dask_workers(self._client))

    @property
    def backend(self) -> str:
        if self._client is not None:
            return "dask"
        return "processes" if self.jobs > 1 and self.started_workers else "inline"

    # ------------------------------------------------------------ admission

    def _admit(self, task: Task, budget: Budget, reserved: int, free: int) -> Task | None:
        """The task with its slice and execution cap, or None if the budget has nothing left
        for it beyond what the slices in flight have reserved. A dfs search that waited for
        pieces and takes them in is admitted with a cap of none: it may end without an
        execution more."""
        seconds = SLICE_SECONDS if task.seconds is None else task.seconds
        left_s = budget.remaining_seconds()
        if left_s is not None:
            if left_s <= 0:
                return None
            seconds = min(seconds, left_s)
        cap = task.executions
        left_e = budget.remaining_executions()
        if left_e is not None:
            left_e -= reserved
            if left_e <= 0:
                return replace(task, seconds=seconds, executions=0) if task.taken else None
            share = max(1, left_e // max(1, free))
            cap = share if cap is None else min(cap, share)
        return replace(task, seconds=seconds, executions=cap)

    # ------------------------------------------------------------ running

    def run(
        self, tasks: list[Task], follow: Follow, stop: Callable[[], bool], budget: Budget
    ) -> Iterator[TaskResult]:
        """Run `tasks`; after each result, `follow(result)` may add follow-up tasks. Once
        `stop()` is true nothing more is handed out, and what is in flight is still yielded:
        every task that was handed out comes back exactly once."""
        pending: deque[Task] = deque(tasks)
        if self._client is not None:
            yield from self._run_dask(pending, follow, stop, budget)
        elif self.jobs == 1:
            while pending and not stop():
                admitted = self._admit(pending.popleft(), budget, 0, 1)
                if admitted is None:
                    return
                if admitted.seconds == SLICE_SECONDS and budget.seconds is None:
                    admitted = replace(admitted, seconds=None)  # one process: no need to slice
                result = run_task(admitted, budget.stop)
                yield result
                if not stop():
                    pending.extend(follow(result))
        else:
            yield from self._run_processes(pending, follow, stop, budget)

    def _start_workers(self) -> None:
        """Start every worker now, in the background (each import takes a while)."""
        if self._executor is None:
            self._starting = [self._submit_call(_ready) for _ in range(self.jobs - 1)]

    def _processes(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context(START_METHOD)
            self._idle = context.Value("i", 0, lock=False)
            self._executor = cf.ProcessPoolExecutor(
                self.jobs - 1,
                mp_context=context,
                initializer=_quiet_worker,
                initargs=(self._idle,),
            )
        return self._executor

    def _submit(self, task: Task) -> cf.Future[TaskResult]:
        self.started_workers = True
        return self._submit_call(run_task, task)

    def _submit_call(self, call: Callable[..., Any], *args: Any) -> cf.Future[Any]:
        """Hand a call to the processes. A submit may start a worker: it starts with Ctrl-C
        ignored (a disposition a new process keeps, and Python leaves alone at start-up), so a
        Ctrl-C to the process group while it imports cannot stop it with a traceback. The
        parent's own Ctrl-C is held back meanwhile, not lost."""
        if threading.current_thread() is not threading.main_thread():
            return self._processes().submit(call, *args)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return self._processes().submit(call, *args)
        finally:
            signal.signal(signal.SIGINT, previous)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def _run_processes(
        self, pending: deque[Task], follow: Follow, stop: Callable[[], bool], budget: Budget
    ) -> Iterator[TaskResult]:
        """This process is one of the jobs, the workers the others. It runs tasks itself
        (a dfs piece pausing to hand work out when a worker idles, or to take a worker's
        result in), and alone during the warm-up: the workers start in the background after
        START_WORKERS_AFTER and get work once they are up, at the latest after `warm_up`."""
        workers = self.jobs - 1
        futures: dict[cf.Future[TaskResult], Task] = {}
        began = time.monotonic()
        if self.warm_up <= START_WORKERS_AFTER:
            self._start_workers()

        def ready() -> bool:  # the workers can take tasks
            if self._executor is None:
                return False
            return time.monotonic() >= began + self.warm_up or all(f.done() for f in self._starting)

        def idle_workers() -> int:  # with nothing to do, nor anything waiting for them
            if not ready():
                return 0
            return max(0, workers - sum(not f.done() for f in futures) - len(pending))

        def waited() -> bool:  # a worker's result, or a worker free for a task waiting
            return any(f.done() for f in futures) or (
                bool(pending) and len(futures) < workers and ready()
            )

        def reserved() -> int:
            return sum(t.executions or 0 for t in futures.values())

        def fill() -> None:
            while ready() and pending and len(futures) < workers and not stop():
                task = self._admit(pending[0], budget, reserved(), self.jobs - len(futures))
                if task is None:
                    return
                pending.popleft()
                futures[self._submit(task)] = task

        def share() -> None:  # what the workers read to hand out work, or stop (`_IDLE`)
            if self._idle is not None:
                self._idle.value = -1 if stop() else 0 if pending else workers - len(futures) + 1

        share()  # a search before this one in the pool may have left it stopped
        while pending or futures:
            fill()
            share()
            # The first task the budget still has room for (the tasks out may not use all
            # they reserved): none when it is spent. A dfs's openings are left to a worker
            # while this process has a piece to search (they run beside it).
            here, admitted = None, None
            for task in sorted(pending, key=_probe_last) if not stop() else ():
                if not _crashes(task):
                    admitted = self._admit(task, budget, reserved(), self.jobs - len(futures))
                    if admitted is not None:
                        here = task
                        break
            if here is not None and admitted is not None:
                pending.remove(here)
                if here.kind not in ("dfs-piece", "dfs-probe") or (
                    self._executor is None and here.kind == "dfs-piece"
                ):
                    # short, to take results in (a dfs piece pauses for them) or start workers
                    admitted = replace(admitted, seconds=min(admitted.seconds or 0, WARM_SLICE))
                result = run_task(admitted, budget.stop, idle_workers, waited)
                yield result
                if not stop():
                    pending.extend(follow(result))
                if pending and time.monotonic() >= began + START_WORKERS_AFTER:
                    self._start_workers()
            elif futures:
                cf.wait(futures, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            elif pending and all(_crashes(t) for t in pending) and not stop():
                self._start_workers()  # only tasks a worker must run are left
                cf.wait(self._starting, timeout=0.2)
            else:
                break
            yield from self._collect(futures, pending, follow, stop)

    def _collect(
        self,
        futures: dict[cf.Future[TaskResult], Task],
        pending: deque[Task],
        follow: Follow,
        stop: Callable[[], bool],
    ) -> Iterator[TaskResult]:
        """Yield the results of the workers' finished tasks. A task whose worker died is run
        again in a new pool, up to RETRIES times, then comes back lost."""
        retry: list[Task] = []
        for future in [f for f in futures if f.done()]:
            task = futures.pop(future)
            try:
                result = future.result()
            except cf.process.BrokenProcessPool:
                retry.append(task)
                continue
            except BaseException:
                self.close()
                raise
            yield result
            if not stop():
                pending.extend(follow(result))
        if not retry:
            return
        retry.extend(futures.values())  # the pool is gone: everything in it is lost
        futures.clear()
        self._shutdown_executor()
        if self.restarts < RETRIES:
            self.restarts += 1
            for task in retry:
                futures[self._submit(_retried(task))] = task
        else:
            for task in retry:
                self.lost += 1
                yield TaskResult(task, None, task.start)

    def _run_dask(
        self, pending: deque[Task], follow: Follow, stop: Callable[[], bool], budget: Budget
    ) -> Iterator[TaskResult]:
        distributed = importlib.import_module("dask.distributed")
        client = self._client
        futures: dict[Any, Task] = {}
        completed = distributed.as_completed()

        def fill() -> None:
            reserved = sum(t.executions or 0 for t in futures.values())
            while pending and len(futures) < self.jobs and not stop():
                task = self._admit(pending[0], budget, reserved, self.jobs - len(futures))
                if task is None:
                    return
                pending.popleft()
                future = client.submit(run_task, task, pure=False)
                futures[future] = task
                completed.add(future)
                reserved += task.executions or 0

        fill()
        while futures:
            future = next(completed)
            task = futures.pop(future)
            try:
                result: TaskResult = future.result()
            except Exception as error:
                if type(error).__name__ not in ("KilledWorker", "CancelledError"):
                    raise
                self.lost += 1  # the scheduler already retried it on other workers
                yield TaskResult(task, None, task.start)
                continue
            yield result
            if not stop():
                pending.extend(follow(result))
            fill()

    # ------------------------------------------------------------ shutting down

    def _shutdown_executor(self, *, kill: bool = False) -> None:
        executor = self._executor
        if executor is None:
            return
        self._executor = None
        if kill:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)

    def close(self, *, kill: bool = False) -> None:
        """Release the workers. Normally nothing runs any more; `kill` (an abort) ends
        whatever still does, and so does a search that ended before the workers it started
        had any work (they may still be importing)."""
        self._shutdown_executor(kill=kill or not self.started_workers)
        if self._client is not None:
            self._client.close()
            self._client = None


def _ready() -> None:
    """A worker's first task: it is up."""


def _probe_last(task: Task) -> bool:
    return task.kind == "dfs-probe"


def _crashes(task: Task) -> bool:
    """A test's task that kills its worker: never run in this process."""
    return task.crash_always or task.crash_marker is not None


def _retried(task: Task) -> Task:
    if task.crash_marker and Path(task.crash_marker).exists():
        return replace(task, crash_marker=None)
    return task


def _dask_client(address: str, timeout: float) -> Any:
    try:
        distributed = importlib.import_module("dask.distributed")
    except ImportError:
        raise ClusterError("--cluster needs Dask: pip install 'sdei-model[cluster]'") from None
    try:
        return distributed.Client(address, timeout=timeout)
    except Exception as error:  # OSError, TimeoutError, ValueError for a bad address
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None


def _dask_workers(client: Any) -> int:
    try:
        info = client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1
    except Exception:
        return 1

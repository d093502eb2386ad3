"""Farming work out: tasks that run the same in this process, in worker processes
(`multiprocessing`, spawn) or on a Dask cluster.

A task is a slice of a search: for randomized strategies a stride of execution indices for a
few seconds at most (the parent hands out the next slice), for dfs one subtree. Results come
back whole, so a found violation reaches the parent as soon as its slice ends; a slice lost
with its worker is run again from the same seeds, so what it would have found is found again.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sdei.explore import dfs, pct, random_walk, swarm
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget
from sdei.explore.target import Target

SLICE_SECONDS = 1.0  # how long a randomized task runs before reporting back
RETRIES = 3  # how often lost tasks are re-submitted


@dataclass(frozen=True)
class Task:
    kind: str  # random | pct | swarm | dfs-subtree
    target: Target
    seed: int
    start: int = 0
    stride: int = 1
    seconds: float | None = None
    executions: int | None = None
    frontier: dfs.Frontier | None = None
    reduction: str = "dpor"
    bound: int | None = None
    depth: int = pct.DEFAULT_DEPTH
    crash_marker: str | None = None  # testing: die once, the first time this file is absent


@dataclass
class TaskResult:
    task: Task
    result: SearchResult
    next_start: int  # where a randomized task's indices continue


def run_task(task: Task) -> TaskResult:
    """Run one task (in whatever process this is)."""
    if task.crash_marker is not None and not Path(task.crash_marker).exists():
        Path(task.crash_marker).write_text("crashed once\n")
        os._exit(3)
    budget = Budget(task.seconds, task.executions)
    if task.kind == "dfs-subtree":
        assert task.frontier is not None
        result = dfs.search_subtree(
            task.target, budget, task.frontier, reduction=task.reduction, bound=task.bound
        )
        return TaskResult(task, result, task.start)
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


def _quiet_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


class ClusterError(Exception):
    """The Dask cluster cannot be used (one line for the user)."""


class Pool:
    """Submit tasks; iterate results as they complete. Backends: inline, processes, dask."""

    def __init__(
        self, jobs: int = 1, cluster: str | None = None, *, connect_timeout: float = 10.0
    ) -> None:
        self.jobs = max(1, jobs)
        self.cluster = cluster
        self._executor: cf.ProcessPoolExecutor | None = None
        self._client: Any = None
        self.restarts = 0
        if cluster is not None:
            self._client = _dask_client(cluster, connect_timeout)
            self.jobs = max(1, _dask_workers(self._client))

    @property
    def backend(self) -> str:
        if self._client is not None:
            return "dask"
        return "processes" if self.jobs > 1 else "inline"

    def _processes(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = cf.ProcessPoolExecutor(
                self.jobs, mp_context=context, initializer=_quiet_worker
            )
        return self._executor

    def run(
        self, tasks: list[Task], more: Callable[[TaskResult], list[Task]], stop: Callable[[], bool]
    ) -> Iterator[TaskResult]:
        """Run `tasks`; after each result, `more(result)` may add follow-up tasks. Stops
        submitting when `stop()` is true, and yields what is still in flight."""
        if self.backend == "inline":
            queue = list(tasks)
            while queue:
                task = queue.pop(0)
                result = run_task(task)
                yield result
                if not stop():
                    queue.extend(more(result))
            return
        if self.backend == "dask":
            yield from self._run_dask(tasks, more, stop)
            return
        yield from self._run_processes(tasks, more, stop)

    def _run_processes(
        self, tasks: list[Task], more: Callable[[TaskResult], list[Task]], stop: Callable[[], bool]
    ) -> Iterator[TaskResult]:
        pending = list(tasks)
        while True:
            executor = self._processes()
            futures: dict[cf.Future[TaskResult], Task] = {}
            lost: list[Task] = []
            try:
                for task in pending:
                    futures[executor.submit(run_task, task)] = task
                pending = []
                while futures:
                    done, _ = cf.wait(futures, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                    if not done and stop():
                        self._terminate()  # nothing more is wanted from what still runs
                        return
                    for future in done:
                        task = futures.pop(future)
                        try:
                            result = future.result()
                        except cf.process.BrokenProcessPool:
                            lost.append(task)
                            continue
                        yield result
                        if not stop():
                            for follow in more(result):
                                futures[executor.submit(run_task, follow)] = follow
            except cf.process.BrokenProcessPool:
                pass
            if lost or futures:
                lost.extend(t for t in futures.values() if t not in lost)
            if not lost or self.restarts >= RETRIES or stop():
                return
            self.restarts += 1
            self._shutdown_executor()
            pending = [
                replace(t, crash_marker=None)
                if t.crash_marker and Path(t.crash_marker).exists()
                else t
                for t in lost
            ]

    def _run_dask(
        self, tasks: list[Task], more: Callable[[TaskResult], list[Task]], stop: Callable[[], bool]
    ) -> Iterator[TaskResult]:
        distributed = importlib.import_module("dask.distributed")
        client = self._client
        futures = [client.submit(run_task, t, pure=False) for t in tasks]
        completed = distributed.as_completed(futures)
        for future in completed:
            result: TaskResult = future.result()
            yield result
            if not stop():
                for follow in more(result):
                    completed.add(client.submit(run_task, follow, pure=False))

    def _terminate(self) -> None:
        executor = self._executor
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
        self._shutdown_executor()

    def _shutdown_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        self._shutdown_executor()
        if self._client is not None:
            self._client.close()
            self._client = None


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

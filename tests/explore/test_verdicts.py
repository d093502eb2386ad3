"""A verdict is a promise: "complete" only when every interleaving was searched, in every
backend; a budget, an execution cap, an interrupt or a lost worker makes it "incomplete",
with honest counts; `--require-complete` lets a script tell the two apart by exit status."""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.explore import Report, explore
from sdei.explore.api import _parallel_dfs
from sdei.explore.budget import Budget
from sdei.explore.parallel import Pool, Task, TaskResult, run_task
from sdei.explore.target import Target

HERE = Path(__file__).resolve().parent
BUSY = f"{HERE / 'data' / 'busy.py'}::busy"
FULL = 1696  # executions of a complete serial dfs of BUSY (its 16 opening executions included)

runner = CliRunner(env={"COLUMNS": "200"})  # long paths must not wrap what tests read


def _dask_address() -> Iterator[str]:
    if importlib.util.find_spec("distributed") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dask.distributed is missing: pip install 'sdei-model[cluster]'")
        pytest.skip("dask.distributed is not installed (pip install 'sdei-model[cluster]')")
    distributed = importlib.import_module("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        protocol="tcp",
        host="127.0.0.1",
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    yield from _dask_address()


BACKENDS = ["serial", "processes", "dask"]


def _run(backend: str, request: pytest.FixtureRequest, **kwargs: Any) -> Report:
    strategy = kwargs.pop("strategy", "dfs")
    if backend == "serial":
        return explore(BUSY, strategy=strategy, jobs=1, **kwargs)
    if backend == "processes":
        return explore(BUSY, strategy=strategy, jobs=2, warm_up=False, **kwargs)
    address = request.getfixturevalue("dask_address")
    return explore(BUSY, strategy=strategy, cluster=address, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_complete_search_says_complete(backend: str, request: pytest.FixtureRequest) -> None:
    report = _run(backend, request)
    assert report.verdict == "complete", report.status()
    assert report.executions >= FULL
    assert report.status().startswith("complete: no violation")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_execution_cap_is_exact_and_incomplete(
    backend: str, request: pytest.FixtureRequest
) -> None:
    report = _run(backend, request, executions=300)
    assert report.verdict == "incomplete", report.status()
    assert report.cut == "executions"
    assert report.executions == 300
    assert "execution budget reached" in report.status()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_time_budget_is_incomplete(backend: str, request: pytest.FixtureRequest) -> None:
    report = _run(backend, request, budget=0.3)
    assert report.verdict == "incomplete", report.status()
    assert 0 < report.executions < FULL
    assert "time budget reached" in report.status()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_interrupt_is_incomplete(backend: str, request: pytest.FixtureRequest) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    try:
        report = _run(backend, request, stop=stop)
    finally:
        timer.cancel()
    assert report.verdict == "incomplete", report.status()
    assert report.cut == "interrupted"
    assert report.executions > 0 and "interrupted" in report.status()
    if backend == "serial":  # stopped part-way; a split search runs more executions than one
        assert report.executions < FULL  # process, and under load can pass FULL before it lands


@pytest.mark.parametrize("strategy", ["auto", "random", "pct", "swarm"])
def test_other_strategies_never_overrun_or_claim_complete(strategy: str) -> None:
    for jobs in (1, 2):
        report = explore(BUSY, strategy=strategy, jobs=jobs, warm_up=False, executions=200)
        assert report.executions == 200, (strategy, jobs, report.status())
        assert report.verdict == "incomplete", report.status()


class _LosingPool:
    """A pool whose worker dies on the first piece handed out, every time: it comes back
    lost. Its slices are two executions long, and each hands a piece out."""

    jobs = 2
    backend = "processes"

    def run(
        self,
        tasks: list[Task],
        follow: Callable[[TaskResult], list[Task]],
        stop: Callable[[], bool],
        budget: Budget,
    ) -> Iterator[TaskResult]:
        queue = list(tasks)
        while queue:
            task = replace(queue.pop(0), executions=2, give=1)
            if task.piece is not None and task.piece.ident == "0.1":
                yield TaskResult(task, None)
                continue
            done = run_task(task)
            yield done
            queue.extend(follow(done))


def test_a_lost_subtree_leaves_the_search_incomplete() -> None:
    target = Target.make(BUSY)
    result = _parallel_dfs(target, Budget(), 0, "dpor", None, None, _LosingPool())  # type: ignore[arg-type]
    assert not result.complete and result.lost == 1 and result.cut == "worker-lost"
    # the lost piece, and the root, which waits for it
    assert result.unfinished == 2 and result.pieces > 2


def test_a_worker_that_always_dies_is_reported_lost() -> None:
    target = Target.make(BUSY)
    pool = Pool(2)
    try:
        tasks = [Task("random", target, 0, start=0, stride=1, crash_always=True)]
        results = list(pool.run(tasks, lambda _: [], lambda: False, Budget(10, None)))
    finally:
        pool.close()
    assert [r.lost for r in results] == [True]
    assert pool.restarts >= 1 and pool.lost == 1


def test_require_complete_exit_codes() -> None:
    complete = runner.invoke(
        app, ["explore", BUSY, "--strategy", "dfs", "--jobs", "1", "--require-complete"]
    )
    assert complete.exit_code == 0, complete.output
    cut = runner.invoke(
        app,
        [
            "explore",
            BUSY,
            "--strategy",
            "dfs",
            "--jobs",
            "1",
            "--executions",
            "10",
            "--require-complete",
        ],
    )
    assert cut.exit_code == 3, cut.output
    assert "incomplete: execution budget reached" in cut.output
    plain = runner.invoke(
        app, ["explore", BUSY, "--strategy", "dfs", "--jobs", "1", "--executions", "10"]
    )
    assert plain.exit_code == 0, plain.output
    randomized = runner.invoke(
        app,
        [
            "explore",
            BUSY,
            "--strategy",
            "random",
            "--jobs",
            "1",
            "--executions",
            "10",
            "--require-complete",
        ],
    )
    assert randomized.exit_code == 3, randomized.output


def test_ctrl_c_to_the_process_group_of_a_parallel_dfs() -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the group, workers too."""
    script = "import sys; from sdei.cli import main; sys.argv = ['sdei'] + sys.argv[1:]; main()"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "explore",
            "register-hotplug",  # a search of minutes: still running at 3 s
            "--era",
            "v5.7",
            "--cpus",
            "6",
            "--strategy",
            "dfs",
            "--jobs",
            "2",
            "--require-complete",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        import time

        time.sleep(3)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 3, output
    assert "incomplete: interrupted" in output
    assert "Traceback" not in output and "Error" not in output

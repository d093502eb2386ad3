"""Worker processes and a Dask cluster find the same bugs; lost workers lose nothing; seeds
are stable across processes."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from sdei.explore import dfs, explore, parallel
from sdei.explore.budget import Budget
from sdei.explore.parallel import Pool, Task, TaskResult, run_task
from sdei.explore.target import Target, stable_seed

from .toys import ABBA, LOST_UPDATE, ORDERED


def test_two_jobs_find_the_same_bugs() -> None:
    random = explore(LOST_UPDATE, strategy="random", seed=5, jobs=2, budget=20, warm_up=False)
    assert random.backend == "processes" and random.jobs == 2
    assert random.counterexample is not None
    assert random.counterexample.violation.invariant == "counter-sum"
    systematic = explore(ABBA, strategy="dfs", jobs=2, budget=20, warm_up=False)
    assert systematic.counterexample is not None
    assert systematic.counterexample.violation.invariant == "deadlock"


def test_two_jobs_dfs_completes() -> None:
    # 624 executions: more than this process does before the worker is ready, so the tree is
    # handed out in pieces.
    report = explore(
        "register-hotplug",
        era="v5.7",
        strategy="dfs",
        cpus=5,
        states=False,
        jobs=2,
        budget=60,
        warm_up=False,
    )
    assert report.complete and not report.found, report.status()
    assert any("pieces" in note for note in report.notes), report.notes


def test_warm_up_finishes_small_searches_without_workers() -> None:
    report = explore(ORDERED, strategy="dfs", jobs=2)
    assert report.complete and report.jobs == 1


def test_a_dying_worker_loses_nothing(tmp_path: Path) -> None:
    """The first task kills its worker; the pool is restarted and the task runs again."""
    target = Target.make(LOST_UPDATE)
    marker = tmp_path / "crashed"
    tasks = [
        Task(
            "random",
            target,
            1,
            start=0,
            stride=2,
            executions=50,
            seconds=10,
            crash_marker=str(marker),
        ),
        Task("random", target, 1, start=1, stride=2, executions=50, seconds=10),
    ]
    pool = Pool(2)
    results: list[TaskResult] = []
    try:
        results = list(pool.run(tasks, lambda _: [], lambda: False, Budget(60, None)))
    finally:
        pool.close()
    assert marker.exists() and pool.restarts >= 1
    assert sorted(r.task.start for r in results) == [0, 1]
    assert all(r.result is not None and r.result.found is not None for r in results)


def test_a_stopped_search_ends_the_openings_a_worker_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dfs's openings cannot be sliced: a worker running them stops when the parent
    says the search stopped (Ctrl-C, a violation elsewhere), not at their end."""
    task = Task("dfs-probe", Target.make("register-hotplug", era="v5.7", cpus=5), 0)
    monkeypatch.setattr(parallel, "_IDLE", SimpleNamespace(value=-1))
    stopped = run_task(task).result
    assert stopped is not None and (stopped.executions, stopped.cut) == (0, "interrupted")
    monkeypatch.setattr(parallel, "_IDLE", SimpleNamespace(value=0))
    going = run_task(task).result
    assert going is not None and going.executions == sum(n for _, n in dfs.OPENINGS)


def test_stable_seeds_across_processes() -> None:
    code = (
        "from sdei.explore.target import stable_seed, fingerprint; "
        "print(stable_seed('pct', 7, 3), fingerprint('x', 1))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outputs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
    assert len(outputs) == 1
    assert outputs.pop().split()[0] == str(stable_seed("pct", 7, 3))


def test_dask_local_cluster() -> None:
    if importlib.util.find_spec("distributed") is None:
        pytest.skip("dask.distributed is not installed (the optional 'cluster' extra)")
    distributed = importlib.import_module("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        protocol="tcp",
        host="127.0.0.1",
    ) as cluster:
        address = cluster.scheduler_address
        found = explore(ABBA, strategy="random", seed=2, budget=20, cluster=address)
        assert found.backend == "dask"
        assert found.counterexample is not None
        assert found.counterexample.violation.invariant == "deadlock"
        complete = explore(ORDERED, strategy="dfs", budget=20, cluster=address)
        assert complete.complete, complete.status()


def test_unreachable_cluster_is_a_usage_error() -> None:
    if importlib.util.find_spec("distributed") is None:
        pytest.skip("dask.distributed is not installed (the optional 'cluster' extra)")
    from sdei.explore.parallel import ClusterError

    with pytest.raises(ClusterError, match="cannot reach"):
        Pool(1, "tcp://127.0.0.1:9", connect_timeout=0.5)

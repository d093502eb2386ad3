"""A dfs in pieces (`dfs.Piece`, `parallel.DfsPieces`) runs exactly the executions of one
process, whatever order its slices run in: the pieces are handed out at every slice, their
slices run in a random order, and every task and result crosses a pickle as it would between
processes. Then the real thing, with two worker processes."""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from sdei.explore import dfs, explore
from sdei.explore.api import _parallel_dfs
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget
from sdei.explore.parallel import DfsPieces, Follow, Pool, Task, TaskResult, run_task
from sdei.explore.target import Target

from .toys import INDEPENDENT, ORDERED

SEARCHES = [  # (scenario, era, cpus, params): complete stateless searches of 40-111 executions
    ("register-hotplug", "v5.7", 3, {"callers": 2}),
    ("register-hotplug", "v5.7", 4, {}),
    ("hibernate-hotplug", "v6.12", None, {}),
]


def _target(name: str, era: str, cpus: int | None, params: dict[str, int]) -> Target:
    return Target.make(name, era=era, cpus=cpus, params=params.items())


def _in_pieces(
    target: Target, order: int, *, states: bool = False, per_slice: int = 3, **kwargs: object
) -> tuple[SearchResult, DfsPieces]:
    """Search in slices of `per_slice` executions, each handing a piece out, run in an order
    drawn from `order`, every task and result pickled as between processes."""
    root = Task(
        "dfs-piece", target, 0, piece=dfs.Piece(), give=1, states=states, search=f"t{order}"
    )
    pieces = DfsPieces(replace(root, **kwargs))  # type: ignore[arg-type]
    total = SearchResult("dfs", 0)
    pending, draw = [pieces.root], random.Random(order)
    while pending and total.found is None:
        task = pending.pop(draw.randrange(len(pending)))
        task = pickle.loads(pickle.dumps(replace(task, executions=per_slice)))
        done = pickle.loads(pickle.dumps(run_task(task)))
        assert done.result is not None
        total.absorb(done.result)
        pending += pieces.follow(done)
    return total, pieces


@pytest.mark.parametrize(("name", "era", "cpus", "params"), SEARCHES)
def test_pieces_run_the_executions_of_one_process(
    name: str, era: str, cpus: int | None, params: dict[str, int]
) -> None:
    target = _target(name, era, cpus, params)
    alone = dfs.DfsSearch(target, states=False).run(Budget(120, None))
    assert alone.complete and alone.found is None
    for order in range(3):
        together, pieces = _in_pieces(target, order)
        assert pieces.count > 3, "pieces were handed out"
        assert not pieces.unfinished and not pieces.parked and not pieces.back
        assert together.found is None
        assert (together.executions, together.pruned) == (alone.executions, alone.pruned), order


@pytest.mark.parametrize("reduction", ["sleep", "none"])
def test_pieces_under_other_reductions(reduction: str) -> None:
    """Sleep sets alone (9 executions) and no reduction (90): every node's options from the
    start, the first one searched first."""
    target = Target.make(INDEPENDENT, cpus=3)
    alone = dfs.DfsSearch(target, reduction=reduction, states=False).run(Budget(120, None))
    for order in range(2):
        together, pieces = _in_pieces(target, order, reduction=reduction, per_slice=1)
        assert alone.complete and not pieces.unfinished and pieces.count > 3
        assert (together.executions, together.pruned) == (alone.executions, alone.pruned)


def test_pieces_find_the_bug() -> None:
    target = _target("register-hotplug", "v4.16", 3, {"callers": 2})
    together, _ = _in_pieces(target, 1, per_slice=1)
    assert together.found is not None
    assert together.found.violation is not None
    bug = target.scenario  # the race B7 is about, by whichever of its invariants
    assert together.found.violation.invariant in (bug.expected_invariant, *bug.also_violates)


def test_stateful_pieces_keep_the_verdict() -> None:
    """States are kept per process: the count may differ from one process, the verdict not."""
    target = _target("register-hotplug", "v5.7", 3, {"callers": 2})
    for order in range(2):
        together, pieces = _in_pieces(target, order, states=True)
        assert together.found is None and not pieces.unfinished and pieces.count > 3
    buggy = _target("register-hotplug", "v4.16", 3, {"callers": 2})
    found, _ = _in_pieces(buggy, 0, states=True, per_slice=1)
    assert found.found is not None


def test_pieces_that_drop_their_states_keep_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces drop their states part-way (forced here, at the first check after a summary
    scheduled a branch): a piece handed out from one that dropped them goes on stateless, and
    one that dropped them leaves the states above it unused in the search it came from (their
    summaries miss what it did after). The verdict stays, fixed and buggy."""
    monkeypatch.setattr(dfs, "SAMPLE", 1)
    monkeypatch.setattr(dfs, "CHECK_FROM", 0)
    monkeypatch.setattr(dfs, "CHECK_EVERY", 2)
    monkeypatch.setattr(dfs, "MIN_SPENT", 1)
    monkeypatch.setattr(dfs, "PAYS", 10**9)
    target = _target("register-hotplug", "v5.7", 3, {"callers": 2})
    for order in range(2):
        together, pieces = _in_pieces(target, order, states=True)
        assert together.found is None and not pieces.unfinished and pieces.count > 3
        assert any(note.startswith(dfs.DROPPED) for note in together.notes), together.notes
    buggy = _target("register-hotplug", "v4.16", 3, {"callers": 2})
    found, _ = _in_pieces(buggy, 0, states=True, per_slice=1)
    assert found.found is not None


def test_two_processes_run_the_executions_of_one() -> None:
    run = {
        "scenario": "register-hotplug",
        "era": "v5.7",
        "cpus": 5,  # 757 executions: more than the openings
        "strategy": "dfs",
        "states": False,
        "budget": 120,
        "shrink": False,
    }
    one = explore(**run, jobs=1)  # type: ignore[arg-type]
    two = explore(**run, jobs=2, warm_up=False)  # type: ignore[arg-type]
    assert one.complete and two.complete, two.status()
    assert two.backend == "processes" and two.pieces > 1, two.notes
    assert (two.executions, two.verdict) == (one.executions, one.verdict)


def test_an_execution_budget_is_spent_to_the_last_execution() -> None:
    """Slices reserve their share of an execution budget; what they leave is run, not lost."""
    run = {
        "scenario": "ghes-ack-race",
        "era": "v5.7",
        "strategy": "dfs",
        "states": False,
        "shrink": False,
    }
    whole = explore(**run, jobs=1)  # type: ignore[arg-type]
    assert whole.complete and whole.executions > 300
    exact = explore(**run, jobs=2, warm_up=False, executions=whole.executions)  # type: ignore[arg-type]
    assert exact.complete and exact.executions == whole.executions, exact.status()
    cut = explore(**run, jobs=2, warm_up=False, executions=300)  # type: ignore[arg-type]
    assert not cut.complete and cut.executions == 300
    assert "execution budget reached" in cut.status(), cut.status()


class _Recording(Pool):
    """A pool that keeps every result it hands back."""

    def __init__(self, jobs: int) -> None:
        super().__init__(jobs)
        self.results: list[TaskResult] = []

    def run(
        self, tasks: list[Task], follow: Follow, stop: Callable[[], bool], budget: Budget
    ) -> Iterator[TaskResult]:
        for done in super().run(tasks, follow, stop, budget):
            self.results.append(done)
            yield done


def _two_jobs(target: Target) -> tuple[SearchResult, list[TaskResult]]:
    pool = _Recording(2)
    try:
        result = _parallel_dfs(target, Budget(120, None), 0, "dpor", None, None, pool, False)
    finally:
        pool.close()
    return result, pool.results


def test_the_openings_run_in_a_worker_beside_the_root_piece() -> None:
    """One process runs the openings, then the tree; with two, a worker runs the openings
    while this process starts on the tree: the same executions, without waiting for them."""
    target = _target("register-hotplug", "v5.7", 5, {})
    alone = dfs.search(target, Budget(120, None), states=False)
    together, results = _two_jobs(target)
    assert together.complete and alone.complete
    assert together.executions == alone.executions
    openings = [done for done in results if done.task.kind == "dfs-probe"]
    assert len(openings) == 1 and openings[0].result is not None
    assert openings[0].result.executions == sum(n for _, n in dfs.OPENINGS)
    first_piece = next(done for done in results if done.task.kind == "dfs-piece")
    assert first_piece.task.piece is not None and first_piece.task.piece.ident == dfs.ROOT
    assert first_piece.process != openings[0].process
    assert os.getpid() in (first_piece.process, openings[0].process)


def test_an_opening_that_searches_the_whole_tree_ends_a_parallel_search() -> None:
    """A tree the openings exhaust is searched: complete, nothing left unfinished."""
    target = Target.make(ORDERED)
    alone = dfs.search(target, Budget(120, None), states=False)
    assert alone.complete and alone.executions < sum(n for _, n in dfs.OPENINGS)
    together, results = _two_jobs(target)
    assert together.complete and together.found is None and together.unfinished == 0
    assert any(d.task.kind == "dfs-probe" and d.result and d.result.complete for d in results)

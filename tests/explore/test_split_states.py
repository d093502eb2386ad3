"""The subtrees of a split dfs share the states kept in one process (`parallel._states_of`):
a state searched to the end in one subtree ends the executions that reach it from another,
and the split search is still complete with the same verdict."""

from __future__ import annotations

from sdei.explore import dfs
from sdei.explore.budget import Budget
from sdei.explore.parallel import Task, run_task
from sdei.explore.target import Target


def _split_search(search: str) -> tuple[int, int, bool]:
    target = Target.make("register-hotplug", era="v5.7")
    head, frontier = dfs.split(target, Budget(60, None), 3)
    executions, pruned, complete = head.executions, head.pruned, True
    for item in frontier:
        pending: dfs.Frontier | None = item
        while pending is not None:  # slices of two executions: every subtree is resumed
            task = Task("dfs-subtree", target, 0, frontier=pending, executions=2, search=search)
            done = run_task(task)
            assert done.result is not None and done.result.found is None
            executions += done.result.executions
            pruned += done.result.pruned
            pending = done.continuation
            complete = complete and (done.result.complete or pending is not None)
    return executions, pruned, complete


def test_subtrees_share_the_states_of_their_process() -> None:
    alone = _split_search("")
    shared = _split_search("one-search")
    assert alone[2] and shared[2]
    assert shared[0] < alone[0], (shared, alone)
    assert shared[1] > alone[1]

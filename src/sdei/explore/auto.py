"""The default strategy: a short randomized phase (PCT and uniform random, alternating), which
finds shallow bugs fast, then a systematic dfs for the rest of the budget, which either finds
what is left or proves there is nothing (within the scenario's bounds)."""

from __future__ import annotations

from sdei.explore import dfs, pct, random_walk
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget, Progress
from sdei.explore.target import Target

NAME = "auto"
RANDOM_SECONDS = 2.0  # the randomized phase: at most this long,
RANDOM_SHARE = 0.1  # and at most this share of a time budget,
RANDOM_EXECUTIONS = 300  # and at most this many executions


def random_phase(budget: Budget) -> tuple[float, int]:
    """(seconds, executions) for the randomized phase under `budget`."""
    seconds = RANDOM_SECONDS
    if budget.seconds is not None:
        seconds = min(seconds, max(0.05, budget.seconds * RANDOM_SHARE))
    executions = RANDOM_EXECUTIONS
    if budget.executions is not None:
        executions = min(executions, max(1, budget.executions // 10))
    return seconds, executions


def search(
    target: Target,
    budget: Budget,
    seed: int,
    *,
    reduction: str = "dpor",
    bound: int | None = None,
    progress: Progress | None = None,
) -> SearchResult:
    result = SearchResult(NAME, seed)
    seconds, executions = random_phase(budget)

    def offset(base: int) -> Progress | None:
        if progress is None:
            return None
        return lambda n: progress(base + n)

    half = budget.slice(seconds / 2, executions // 2 or 1)
    first = pct.search(target, half, seed, progress=offset(budget.used))
    budget.used += first.executions
    result.absorb(first)
    if result.found is None:
        half = budget.slice(seconds / 2, executions - executions // 2 or 1)
        second = random_walk.search(target, half, seed, progress=offset(budget.used))
        budget.used += second.executions
        result.absorb(second)
    if result.found is not None:
        result.cut = None
        return result
    systematic = dfs.search(
        target, budget, seed, reduction=reduction, bound=bound, progress=progress
    )
    result.absorb(systematic)
    result.complete = systematic.complete
    result.cut = systematic.cut
    result.bound = systematic.bound
    result.reduction = systematic.reduction
    return result

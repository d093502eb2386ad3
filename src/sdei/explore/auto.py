"""The default strategy: the dfs's openings (a few systematic schedules, `dfs.probe`), a
short randomized phase (PCT, then uniform random), which finds shallow bugs fast, then the
systematic dfs for the rest of the budget, which either finds what is left or proves there
is nothing (within the scenario's bounds)."""

from __future__ import annotations

from sdei.explore import dfs, pct, random_walk
from sdei.explore.base import SearchResult
from sdei.explore.budget import Budget, Progress
from sdei.explore.target import Target

NAME = "auto"
RANDOM_SECONDS = 2.0  # the randomized phase: at most this long,
RANDOM_SHARE = 0.1  # and at most this share of a time budget,
RANDOM_EXECUTIONS = 450  # and at most this many executions,
PCT_SHARE = 2 / 3  # of which PCT (depth-bounded: the stronger for these races) gets this much


def random_phase(budget: Budget) -> tuple[float, int]:
    """(seconds, executions) for the randomized phase under `budget`."""
    seconds = RANDOM_SECONDS
    if budget.seconds is not None:
        seconds = min(seconds, max(0.05, budget.seconds * RANDOM_SHARE))
    executions = RANDOM_EXECUTIONS
    if budget.executions is not None:
        executions = min(executions, max(1, budget.executions // 10))
    return seconds, executions


def phases(budget: Budget) -> list[tuple[str, float, int]]:
    """The randomized phase as (strategy, seconds, executions): PCT, then uniform random."""
    seconds, executions = random_phase(budget)
    pct_executions = max(1, round(executions * PCT_SHARE))
    return [
        ("pct", seconds * PCT_SHARE, pct_executions),
        ("random", seconds * (1 - PCT_SHARE), max(1, executions - pct_executions)),
    ]


def search(
    target: Target,
    budget: Budget,
    seed: int,
    *,
    reduction: str = "dpor",
    bound: int | None = None,
    progress: Progress | None = None,
    states: bool = True,
) -> SearchResult:
    result = SearchResult(NAME, seed)

    def offset(base: int) -> Progress | None:
        if progress is None:
            return None
        return lambda n: progress(base + n)

    if openings(target, budget, result, reduction=reduction, bound=bound):
        return result
    for kind, seconds, executions in phases(budget):
        phase = budget.slice(seconds, executions)
        search_phase = pct.search if kind == "pct" else random_walk.search
        part = search_phase(target, phase, seed, progress=offset(budget.used))
        budget.used += part.executions
        result.absorb(part)
        if result.found is not None:
            break
    if result.found is not None:
        result.cut = None
        return result
    systematic = dfs_phase(
        target, budget, seed, reduction=reduction, bound=bound, progress=progress, states=states
    )
    result.absorb(systematic)
    result.complete = systematic.complete
    result.cut = systematic.cut
    result.bound = systematic.bound
    result.reduction = systematic.reduction
    return result


def openings(
    target: Target, budget: Budget, result: SearchResult, *, reduction: str, bound: int | None
) -> bool:
    """The first phase: the dfs's openings (`dfs.probe`), a few cheap systematic schedules that
    reach what PCT finds slowly or never (an event kept pending until a CPU is going down).
    Their counts go into `result`; True when the search is over (found, complete or cut)."""
    opening = dfs.probe(target, budget, reduction=reduction, bound=bound)
    if opening is None:
        return False
    result.absorb(opening)
    if opening.found is None and not opening.complete and opening.cut is None:
        return False
    result.complete, result.cut, result.reduction = opening.complete, opening.cut, opening.reduction
    return True


def dfs_phase(
    target: Target,
    budget: Budget,
    seed: int,
    *,
    reduction: str,
    bound: int | None,
    progress: Progress | None,
    states: bool,
) -> SearchResult:
    """The last phase in this process: the dfs proper (its openings ran first)."""
    return dfs.search(
        target,
        budget,
        seed,
        reduction=reduction,
        bound=bound,
        progress=progress,
        states=states,
        openings=False,
    )

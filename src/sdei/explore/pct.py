"""PCT, probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), with depth d.

Every schedulable thing (a context, a pending SDEI event or interrupt on a PE, a wake-up) gets a
random priority when first offered; the highest-priority option runs. At d-1 change points,
drawn uniformly over the expected number of choices, the option that runs is demoted below all
others. A bug of depth d is found with probability at least 1/(n k^(d-1)) per execution.
Fault choices are drawn uniformly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sdei.explore.base import SearchResult, seeded_loop
from sdei.explore.budget import Budget, Progress
from sdei.explore.execution import ExplorerChooser, execute
from sdei.explore.target import Target, stable_seed

NAME = "pct"
DEFAULT_DEPTH = 3


def _key(option: Any) -> Any:
    return ("ctx", option[2]) if option[0] == "run" else option


class PctChooser(ExplorerChooser):
    def __init__(self, seed: int, depth: int, length: int) -> None:
        super().__init__()
        self.random = random.Random(seed)
        self.priority: dict[Any, float] = {}
        points = max(1, length)
        self.change_points = {self.random.randrange(points) for _ in range(max(0, depth - 1))}
        self.step = 0
        self.low = 0.0  # demoted priorities go below every other

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        if kind != "step":
            return self.random.randrange(len(options))
        best, best_priority = 0, -1.0
        for i, option in enumerate(options):
            key = _key(option)
            priority = self.priority.get(key)
            if priority is None:
                priority = self.priority[key] = 1.0 + self.random.random()
            if priority > best_priority:
                best, best_priority = i, priority
        if self.step in self.change_points:
            self.low -= 1.0
            self.priority[_key(options[best])] = self.low
        self.step += 1
        self.count(kind, options, best)
        return best


def search(
    target: Target,
    budget: Budget,
    seed: int,
    *,
    depth: int = DEFAULT_DEPTH,
    length: int | None = None,
    start: int = 0,
    stride: int = 1,
    progress: Progress | None = None,
) -> SearchResult:
    """`length` is the expected number of choices per execution (default: measured by one
    probe execution, so every worker draws the same change points for the same index)."""
    guess = length if length is not None else _probe_length(target, seed)

    def make(seed_i: int) -> PctChooser:
        return PctChooser(seed_i, depth, guess)

    result = seeded_loop(
        NAME, target, budget, seed, make, start=start, stride=stride, progress=progress
    )
    result.notes.append(f"pct depth {depth}")
    return result


def _probe_length(target: Target, seed: int) -> int:
    chooser = PctChooser(stable_seed(NAME, seed, "probe"), 1, 1)
    execute(target, chooser)
    return max(2, chooser.step)

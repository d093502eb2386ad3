"""Uniform random search: every choice drawn uniformly, each execution from its own seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sdei.explore.base import SearchResult, seeded_loop
from sdei.explore.budget import Budget, Progress
from sdei.explore.execution import ExplorerChooser
from sdei.explore.target import Target

NAME = "random"


class UniformChooser(ExplorerChooser):
    def __init__(self, seed: int) -> None:
        super().__init__()
        self.random = random.Random(seed)

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        index = self.random.randrange(len(options))
        self.count(kind, options, index)
        return index


def search(
    target: Target,
    budget: Budget,
    seed: int,
    *,
    start: int = 0,
    stride: int = 1,
    progress: Progress | None = None,
) -> SearchResult:
    return seeded_loop(
        NAME, target, budget, seed, UniformChooser, start=start, stride=stride, progress=progress
    )

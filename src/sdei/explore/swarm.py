"""Swarm testing: each execution switches off a random subset of the scenario's environment
actions (`Options.disabled_actions`) and runs with random per-PE and per-kind biases, so that
rarely combined behaviours get room to interact (Groce et al., ISSTA 2012)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from sdei.explore.base import SearchResult, seeded_loop
from sdei.explore.budget import Budget, Progress
from sdei.explore.execution import ExplorerChooser
from sdei.explore.target import Target
from sdei.scenarios.api import Options

NAME = "swarm"
KINDS = ("run", "sdei", "irq", "wake")


class BiasedChooser(ExplorerChooser):
    """Weighted random choices: weight(option) = weight of its PE x weight of its kind."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.random = random.Random(seed ^ 0x5A5A)
        self.kind_weight = {k: self.random.choice((0.1, 1.0, 4.0)) for k in KINDS}
        self.pe_weight: dict[int, float] = {}

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        if kind != "step":
            index = self.random.randrange(len(options))
        else:
            weights = []
            for what, pe, _ in options:
                w = self.pe_weight.get(pe)
                if w is None:
                    w = self.pe_weight[pe] = self.random.choice((0.2, 1.0, 5.0))
                weights.append(w * self.kind_weight.get(what, 1.0))
            index = self.random.choices(range(len(options)), weights)[0]
        self.count(kind, options, index)
        return index


def disabled_for(actions: Sequence[str], seed: int) -> frozenset[str]:
    """Each action off with probability 1/2 (never all of them)."""
    rng = random.Random(seed)
    off = frozenset(a for a in actions if rng.random() < 0.5)
    if actions and len(off) == len(actions):
        off = off - {actions[rng.randrange(len(actions))]}
    return off


def search(
    target: Target,
    budget: Budget,
    seed: int,
    *,
    start: int = 0,
    stride: int = 1,
    progress: Progress | None = None,
) -> SearchResult:
    actions = target.scenario.actions

    def options(seed_i: int) -> Options:
        base = target.options
        off = base.disabled_actions | disabled_for(actions, seed_i)
        return dataclasses.replace(base, disabled_actions=off)

    result = seeded_loop(
        NAME,
        target,
        budget,
        seed,
        BiasedChooser,
        make_options=options if actions else None,
        start=start,
        stride=stride,
        progress=progress,
    )
    if not actions:
        result.notes.append("swarm: the scenario names no actions; only scheduler biases vary")
    return result

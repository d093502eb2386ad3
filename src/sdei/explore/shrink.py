"""Shortening a counterexample: delta debugging over its choice list.

A candidate is a list of choices where `None` means "the default": keep running the context
that ran last if it can, else the first option (and never fire a fault). It is replayed
leniently (a choice out of range also falls back to the default; past its end everything is
the default) and kept if it ends with a violation of the SAME invariant and is smaller. Smaller
means fewer preemptions first, then fewer choices. What is kept is the list the engine
recorded, so it replays exactly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sdei.explore.execution import Execution, ExplorerChooser, execute
from sdei.explore.target import Target

Candidate = list[int | None]


class GuidedChooser(ExplorerChooser):
    def __init__(self, choices: Sequence[int | None]) -> None:
        super().__init__()
        self.choices = choices
        self.position = 0

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        k = self.position
        self.position += 1
        wanted = self.choices[k] if k < len(self.choices) else None
        if wanted is None or not 0 <= wanted < len(options):
            wanted = 0
            if kind == "step" and self.log is not None:
                keep = self.log.continuing(options)
                if keep is not None:
                    wanted = keep
        self.count(kind, options, wanted)
        return wanted


def _measure(execution: Execution) -> tuple[int, int]:
    return (execution.preemptions, len(execution.choices))


class Shrinker:
    def __init__(
        self, target: Target, found: Execution, *, seconds: float = 5.0, max_runs: int = 400
    ) -> None:
        assert found.violation is not None
        self.target = target
        self.invariant = found.violation.invariant
        self.best = found
        self.deadline = time.monotonic() + seconds
        self.runs_left = max_runs
        self.runs = 0

    def _out_of_budget(self) -> bool:
        return self.runs_left <= 0 or time.monotonic() >= self.deadline

    def attempt(self, candidate: Sequence[int | None]) -> bool:
        """Run a candidate; keep it if it is smaller and breaks the same invariant."""
        if self._out_of_budget():
            return False
        self.runs_left -= 1
        self.runs += 1
        chooser = GuidedChooser(candidate)
        try:
            _, execution = execute(self.target, chooser, options=self.best.options)
        except Exception:
            return False
        v = execution.violation
        if v is None or v.invariant != self.invariant:
            return False
        if _measure(execution) < _measure(self.best):
            execution.seed = self.best.seed
            self.best = execution
            return True
        return False

    def shrink(self) -> Execution:
        self._truncate()
        self._ddmin()
        self._unpreempt()
        self._ddmin()
        return self.best

    def _truncate(self) -> None:
        """Keep the shortest prefix that still fails with default choices after it."""
        n = len(self.best.choices)
        length = 0
        while length < n and not self._out_of_budget():
            if self.attempt(list(self.best.choices[:length])):
                return
            length = length * 2 if length else 1

    def _ddmin(self) -> None:
        chunks = 2
        while not self._out_of_budget():
            choices: Candidate = list(self.best.choices)
            n = len(choices)
            if n < 1:
                return
            size = max(1, n // chunks)
            progressed = False
            for start in range(0, n, size):
                if self.attempt(choices[:start] + choices[start + size :]):
                    progressed = True
                    break
            if progressed:
                chunks = max(2, chunks - 1)
                continue
            if size == 1:
                return
            chunks = min(n, chunks * 2)

    def _unpreempt(self) -> None:
        """Replace choices one at a time by the default (no preemption), last first."""
        position = len(self.best.choices) - 1
        while position >= 0 and not self._out_of_budget():
            choices: Candidate = list(self.best.choices)
            if position < len(choices):
                choices[position] = None
                self.attempt(choices)
            position -= 1


def shrink(
    target: Target, found: Execution, *, seconds: float = 5.0, max_runs: int = 400
) -> tuple[Execution, int]:
    """The shortened execution and how many runs it took."""
    shrinker = Shrinker(target, found, seconds=seconds, max_runs=max_runs)
    return shrinker.shrink(), shrinker.runs

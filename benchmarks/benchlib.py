"""What every benchmark module shares: the result row and the timing loop.

A benchmark module is `bench_<topic>.py` with a function `run(duration: float, runs: int) ->
list[Row]`; `run.py` lists the modules it collects. Timings are best-of-`runs`, each run
repeating the work for about `duration` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure."""

    name: str  # what was measured, e.g. "dispatcher: mixed calls"
    profile: str  # the firmware profile, or "" when it does not apply
    value: float  # the best rate
    unit: str  # e.g. "calls/s"
    goal: float | None = None  # the figure we aim for, in `unit`
    detail: str = ""  # one line on what the figure covers
    lower: bool = False  # the goal is a most (a time, a slow-down), not a least (a rate)

    @property
    def ratio(self) -> float | None:
        """How far the figure is from its goal: 1.0 or more when it is met."""
        if not self.goal:
            return None
        if self.lower:
            return self.goal / self.value if self.value else None
        return self.value / self.goal

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def best_rate(batch: Callable[[], int], duration: float, runs: int) -> float:
    """The best of `runs` rates, each run calling `batch` (which returns how many operations it
    did) until `duration` seconds have passed."""
    if duration <= 0 or runs < 1:
        raise ValueError("duration must be positive and runs at least 1")
    best = 0.0
    clock = time.perf_counter
    for _ in range(runs):
        done = 0
        start = clock()
        deadline = start + duration
        while True:
            done += batch()
            now = clock()
            if now >= deadline:
                break
        best = max(best, done / (now - start))
    return best

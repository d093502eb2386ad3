"""Budgets: wall time and executions, and a stop flag for Ctrl-C. Cuts are reported, never
silent: whoever stops on a budget says which one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[int], None]  # called with the number of executions so far


@dataclass
class Budget:
    seconds: float | None = None
    executions: int | None = None
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)
    used: int = 0  # executions spent so far (kept by the strategies)

    @property
    def deadline(self) -> float | None:
        return None if self.seconds is None else self.started + self.seconds

    def remaining_seconds(self) -> float | None:
        if self.seconds is None:
            return None
        return max(0.0, self.started + self.seconds - time.monotonic())

    def remaining_executions(self) -> int | None:
        if self.executions is None:
            return None
        return max(0, self.executions - self.used)

    def exhausted(self) -> str | None:
        """Why the search must stop now ("interrupted", "time", "executions"), or None."""
        if self.stop.is_set():
            return "interrupted"
        if self.executions is not None and self.used >= self.executions:
            return "executions"
        if self.seconds is not None and time.monotonic() - self.started >= self.seconds:
            return "time"
        return None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def slice(self, seconds: float | None, executions: int | None) -> Budget:
        """A sub-budget sharing the stop flag, bounded by what is left here."""
        left_s = self.remaining_seconds()
        left_e = self.remaining_executions()
        s = seconds if left_s is None else (left_s if seconds is None else min(seconds, left_s))
        e = (
            executions
            if left_e is None
            else (left_e if executions is None else min(executions, left_e))
        )
        return Budget(s, e, stop=self.stop)

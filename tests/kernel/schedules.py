"""Hand-written schedules: a chooser driven by phases of preferences.

Each phase prefers the options of some contexts (by name prefix) until its condition holds;
interrupts, IPIs, wake-ups and SDEI deliveries the phase allows are taken at once. Outside
the preferred set the first option runs, so a schedule reads like the bug report's story.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdei.machine import Machine

Condition = Callable[[Machine], bool]


@dataclass
class Phase:
    prefer: tuple[str, ...]  # context-name prefixes to run
    until: Condition
    deliver: bool = True  # take SDEI deliveries in this phase
    note: str = ""


@dataclass
class Schedule:
    machine: Machine
    phases: list[Phase]
    log: list[str] = field(default_factory=list)

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        if kind != "step":
            return 0
        while self.phases and self.phases[0].until(self.machine):
            self.log.append(f"phase done: {self.phases[0].note}")
            self.phases.pop(0)
        phase = self.phases[0] if self.phases else None
        for i, option in enumerate(options):
            what = option[0]
            if what in ("irq", "wake"):
                return i
            if what == "sdei" and (phase is None or phase.deliver):
                return i
        runs = [
            (i, self.machine.context(o[2]).name) for i, o in enumerate(options) if o[0] == "run"
        ]
        if phase is not None:
            for i, name in runs:
                if name.startswith(phase.prefer):
                    return i
            # Hold back what later phases are waiting to start.
            later = tuple(p for ph in self.phases[1:] for p in ph.prefer if p not in phase.prefer)
            for i, name in runs:
                if not later or not name.startswith(later):
                    return i
        return runs[0][0] if runs else 0


def context_waits(machine: Machine, prefix: str, label: str) -> bool:
    """A live context named `prefix...` is waiting at an op whose label contains `label`."""
    for ctx in machine.contexts():
        if ctx.name.startswith(prefix) and label in repr(ctx.pending):
            return True
    return False

"""When two steps are dependent: they share a resource of their footprints and one writes it.

The footprints are the engine's (`sdei.machine.footprints`): every step names its PE and what
its operation touches, cross-PE effects included (IPIs, interrupts, PSCI, the parts of the
dispatcher an SDEI call reads or writes). Partial-order reduction is only sound when every
effect that can enable, disable or reorder another PE's step is named there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.machine.ops import Op

if TYPE_CHECKING:
    from sdei.machine import Machine

Footprint = tuple[tuple[str, bool], ...]
Option = tuple[str, int, int]


def option_footprint(machine: Machine, option: Option) -> Footprint:
    """The footprint of an option offered now (before it runs)."""
    return machine.footprint(option)


def step_footprint(machine: Machine, option: Option, op: Op | None) -> Footprint:
    """The footprint of a step that has just run (`op` is what a "run" step executed)."""
    if option[0] == "run":
        assert op is not None
        return machine.step_footprint(machine.context(option[2]), op)
    return machine.footprint(option)


def dependent(a: Footprint, b: Footprint) -> bool:
    """Two steps conflict when they share a resource and one of them writes it."""
    for name, write in a:
        for other, other_write in b:
            if name == other and (write or other_write):
                return True
    return False

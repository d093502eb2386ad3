"""When two steps are dependent: the engine's footprints, plus effects they leave out.

`Machine.footprint` names what an operation touches. A few cross-PE effects of the engine are
not in it, and partial-order reduction is only sound when every effect that can enable,
disable or reorder another PE's step is named, so the explorer adds them here:

- an IPI to PE p (`SendIpi`) queues a callback that p's IRQ handler pops: every step on p
  touches `ipi:p`;
- any interrupt assertion changes which interrupt a PE is offered: all `gic:*` resources also
  touch `gic`, and so do IPIs and wake-ups;
- PSCI `CPU_ON` starts a thread on its target, `AFFINITY_INFO` reads a PE's power state and
  `SYSTEM_OFF`/`SYSTEM_RESET` stop every PE: they touch the `pe:n` they act on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.abi import MASK32
from sdei.machine.ops import Hvc, Op, SendIpi, Smc
from sdei.machine.psci import PSCI_IDS, Psci, canonical

if TYPE_CHECKING:
    from sdei.machine import Machine

Footprint = tuple[tuple[str, bool], ...]
Option = tuple[str, int, int]

_GIC = ("gic", True)


def extend(machine: Machine, pe: int, base: Footprint, op: Op | None) -> Footprint:
    """`base` (the engine's footprint of a step on `pe`) with the effects listed above."""
    extra: list[tuple[str, bool]] = [(f"ipi:{pe}", True)]
    for name, _ in base:
        if name.startswith("gic:"):
            extra.append(_GIC)
            break
    kind = type(op)
    if kind is SendIpi:
        extra.append(_GIC)
    elif (kind is Smc or kind is Hvc) and op is not None:
        extra.extend(_psci_effects(machine, op))
    return base + tuple(extra)


def _psci_effects(machine: Machine, op: Op) -> list[tuple[str, bool]]:
    function = getattr(op, "function", 0) & MASK32
    if function not in PSCI_IDS:
        return []
    which = canonical(function)
    args: tuple[int, ...] = getattr(op, "args", ())
    if which in (Psci.CPU_ON, Psci.AFFINITY_INFO):
        target = machine.platform.pe_of(args[0]) if args else None
        if target is None:
            return []
        return [(f"pe:{target}", which == Psci.CPU_ON)]
    if which in (Psci.SYSTEM_OFF, Psci.SYSTEM_RESET):
        return [(f"pe:{n}", True) for n in range(len(machine.pes))]
    return []


def option_footprint(machine: Machine, option: Option) -> Footprint:
    """The footprint of an option offered now (before it runs)."""
    what, pe, arg = option
    base = machine.footprint(option)
    op = machine.context(arg).pending if what == "run" else None
    if what == "wake":
        base = (*base, _GIC)
    return extend(machine, pe, base, op)


def step_footprint(machine: Machine, option: Option, op: Op | None) -> Footprint:
    """The footprint of a step that has just run (`op` is what a "run" step executed)."""
    what, pe, arg = option
    key = (f"pe:{pe}", True)
    if what == "run":
        assert op is not None
        base: Footprint = (key, *op.footprint)
    elif what == "irq":
        base = (key, (f"gic:{arg}", True))
    elif what == "wake":
        base = (key, ("firmware", True), _GIC)
    else:
        base = (key, ("firmware", True))
    return extend(machine, pe, base, op)


def dependent(a: Footprint, b: Footprint) -> bool:
    """Two steps conflict when they share a resource and one of them writes it."""
    for name, write in a:
        for other, other_write in b:
            if name == other and (write or other_write):
                return True
    return False

"""What a step touches, for an explorer's partial-order reduction.

A footprint is a tuple of (resource, is_write); two steps are dependent when they share a
resource and one writes it. Every step on a PE touches `pe:N` (its registers, its context
stack, which options it offers). Beyond that:

- client operations name their own shared state (`Access`, locks, `WaitUntil` reads);
- an SDEI call touches the parts of the dispatcher its event lives in (`sdei.firmware.
  footprint`): its PE's part for private events, masks and dispatch stacks, the shared part
  for shared events - so calls on different PEs about different events commute;
- PSCI: CPU_ON and AFFINITY_INFO touch their target PE, CPU_OFF and CPU_SUSPEND their own
  PE's firmware part, SYSTEM_OFF/RESET everything;
- an interrupt: an SGI or PPI changes what its PE is offered (`pe:N`), an SPI what any PE is
  offered (`gic:spi`), and the interrupt's own state (`irq:N`);
- an IPI writes its target PE (its queue, its pending SGI); spawning a thread writes the PE it
  starts on; a jump into a new image with a system reset writes everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.abi import MASK32
from sdei.firmware.footprint import Footprints, irq_resource
from sdei.machine.ops import (
    AssertInterrupt,
    Footprint,
    Hvc,
    Jump,
    Op,
    RaiseEvent,
    SendIpi,
    Smc,
    Spawn,
)
from sdei.machine.psci import PSCI_IDS, Psci, canonical

if TYPE_CHECKING:
    from sdei.machine.machine import Machine, Option

SPI = ("gic:spi", True)
SDEI_FIRST, SDEI_LAST = 0xC400_0020, 0xC400_003F
IPI_SGI = 1


class StepFootprints:
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.firmware = Footprints(machine.platform)
        pes = len(machine.pes)
        self.pe_keys = tuple((f"pe:{i}", True) for i in range(pes))
        self.everything: Footprint = (
            self.pe_keys + self.firmware.everything + (SPI, ("faults", True))
        )
        self._faults: tuple[int, frozenset[int]] = (-1, frozenset())

    def option(self, option: Option) -> Footprint:
        """An option offered now (the step it would take)."""
        what, i, arg = option
        pe_key = self.pe_keys[i]
        if what == "run":
            return (pe_key, *self.op(i, self.machine.context(arg).pending))
        if what == "irq":
            taken = (pe_key, (irq_resource(arg, i), True))
            return (*taken, SPI) if arg >= 32 else taken
        if what == "sdei":
            return (pe_key, *self.firmware.delivery(i, arg))
        return (pe_key, *self.firmware.power(i), SPI)  # wake

    def op(self, pe: int, op: Op) -> Footprint:
        """A client operation run on `pe` (without the PE's own key)."""
        kind = type(op)
        if kind is Smc or kind is Hvc:
            assert isinstance(op, (Smc, Hvc))
            return self._call(pe, "smc" if kind is Smc else "hvc", op.function, op.args)
        if kind is SendIpi:
            assert isinstance(op, SendIpi)
            return (self.pe_keys[op.target], (irq_resource(IPI_SGI, op.target), True))
        if kind is AssertInterrupt:
            assert isinstance(op, AssertInterrupt)
            target = op.pe if op.intid < 32 else pe
            parts = (
                *self.firmware.interrupt(target, op.intid),
                (irq_resource(op.intid, target), True),
            )
            return (*parts, self.pe_keys[op.pe]) if op.intid < 32 else (*parts, SPI)
        if kind is RaiseEvent:
            assert isinstance(op, RaiseEvent)
            parts = self.firmware.event(op.pe, op.event)
            if op.event in self.machine.synchronous_events:
                parts = (*parts, *self.firmware.delivery(op.pe, op.event), self.pe_keys[op.pe])
            return parts
        if kind is Spawn:
            assert isinstance(op, Spawn)
            return (self.pe_keys[op.pe],)
        if kind is Jump:
            assert isinstance(op, Jump)
            return self.everything if op.reset_system else self.firmware.power(pe)
        return op.footprint

    def _call(self, pe: int, conduit: str, function: int, args: tuple[int, ...]) -> Footprint:
        if conduit != self.machine.conduit:
            return ()  # SMC_UNK: nothing is touched
        fid = function & MASK32
        if fid in PSCI_IDS:
            return self._psci(pe, canonical(fid), args)
        if SDEI_FIRST <= fid <= SDEI_LAST:
            parts = self.firmware.call(pe, fid, args)
            faults = self.machine.faults
            if self._faults[0] != len(faults):
                self._faults = (len(faults), frozenset(f.function & MASK32 for f in faults))
            if fid in self._faults[1]:  # injected faults share their budgets
                parts = (*parts, ("faults", True))
            return parts
        return ()

    def _psci(self, pe: int, which: int, args: tuple[int, ...]) -> Footprint:
        if which in (Psci.CPU_ON, Psci.AFFINITY_INFO):
            target = self.machine.platform.pe_of(args[0]) if args else None
            if target is None:
                return ()
            if which == Psci.AFFINITY_INFO:
                return ((f"pe:{target}", False),)
            return (self.pe_keys[target], *self.firmware.power(target))
        if which in (Psci.CPU_OFF, Psci.CPU_SUSPEND):
            return self.firmware.power(pe)
        if which in (Psci.SYSTEM_OFF, Psci.SYSTEM_RESET):
            return self.everything
        return ()

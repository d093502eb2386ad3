"""Which parts of a dispatcher's state a call or a trigger touches, for an explorer's
partial-order reduction: two steps that touch disjoint parts commute.

The state splits the way the dispatcher's own caches split it (`pe_generation`,
`shared_generation`): per PE - its mask, its dispatch stack, its private events (`sdei:peN`)
- and the shared events (`sdei:shared`). An interrupt's ownership and enable state is
`irq:N`, the name the machine gives the same interrupt on its GIC. Footprints depend only on
the platform and the call's arguments, never on the state, so they stay true from the moment
an option is offered until it runs; where the state would decide (a bind slot's interrupt, the
event on top of a dispatch stack), they name everything it could be.
"""

from __future__ import annotations

from collections.abc import Sequence

from sdei.abi import MASK32, Function, Info
from sdei.firmware.platform import Platform

Footprint = tuple[tuple[str, bool], ...]

SHARED = ("sdei:shared", True)
BIND = "sdei:bind"  # which interrupt a bind slot holds


def pe_part(pe: int) -> tuple[str, bool]:
    return (f"sdei:pe{pe}", True)


def irq_resource(intid: int, pe: int) -> str:
    """An interrupt's state: SGIs and PPIs are banked per PE."""
    return f"irq:{intid}@{pe}" if intid < 32 else f"irq:{intid}"


class Footprints:
    def __init__(self, platform: Platform) -> None:
        self._pes = platform.pes
        self._pe_by_mpidr = {m: i for i, m in enumerate(platform.mpidrs)}
        self._private = {e.number for e in platform.events if not e.shared}
        self._shared = {e.number for e in platform.events if e.shared}
        self._dynamic = {e.number for e in platform.events if e.dynamic}
        self._irq = {
            e.number: e.interrupt
            for e in platform.events
            if e.interrupt is not None and e.number != 0
        }
        self._static_irq = {i: n for n, i in self._irq.items()}
        self._has_private_slots = any(e.dynamic and not e.shared for e in platform.events)
        self._has_shared_slots = any(e.dynamic and e.shared for e in platform.events)
        parts = [pe_part(p) for p in range(platform.pes)]
        self.everything: Footprint = (*parts, SHARED, (BIND, True))

    def event(self, pe: int, event: int, *, write: bool = True) -> Footprint:
        """An event's state as seen from `pe`: its interrupt's state too, for a bound one."""
        if event in self._private:
            part: Footprint = ((f"sdei:pe{pe}", write),)
        elif event in self._shared:
            part = (("sdei:shared", write),)
        else:
            return ()  # not an event: the call fails without touching anything
        if event in self._dynamic:
            return (*part, (BIND, write))
        intid = self._irq.get(event)
        return part if intid is None else (*part, (irq_resource(intid, pe), write))

    def call(self, pe: int, function: int, args: Sequence[int]) -> Footprint:
        """An SDEI call made on `pe` with x1.. = `args`."""
        fid = function & MASK32
        event = args[0] & MASK32 if args else 0
        if fid in (Function.VERSION, Function.FEATURES):
            return ()
        if fid == Function.EVENT_GET_INFO:
            info = args[1] if len(args) > 1 else 0
            if info in (Info.EV_TYPE, Info.EV_SIGNALED, Info.EV_PRIORITY):
                return ()  # what the platform says of the event: constant
            return self.event(pe, event, write=False)
        if fid == Function.EVENT_STATUS:
            return self.event(pe, event, write=False)
        if fid in (
            Function.EVENT_REGISTER,
            Function.EVENT_ENABLE,
            Function.EVENT_DISABLE,
            Function.EVENT_UNREGISTER,
            Function.EVENT_ROUTING_SET,
        ):
            return self.event(pe, event)
        if fid == Function.EVENT_CONTEXT:
            return (pe_part(pe),)
        if fid in (Function.EVENT_COMPLETE, Function.EVENT_COMPLETE_AND_RESUME):
            return (pe_part(pe), SHARED)  # the event on top may be shared
        if fid in (Function.PE_MASK, Function.PE_UNMASK, Function.PRIVATE_RESET):
            return (pe_part(pe), (BIND, True)) if fid == Function.PRIVATE_RESET else (pe_part(pe),)
        if fid == Function.EVENT_SIGNAL:
            target = self._pe_by_mpidr.get(args[1]) if len(args) > 1 else None
            return (pe_part(target),) if target is not None else ()
        if fid == Function.SHARED_RESET:
            return (SHARED, (BIND, True))
        if fid in (Function.INTERRUPT_BIND, Function.INTERRUPT_RELEASE):
            return self.everything
        return ()

    def delivery(self, pe: int, event: int) -> Footprint:
        """An event starting on `pe`."""
        return (pe_part(pe), SHARED) if event in self._shared else (pe_part(pe),)

    def interrupt(self, pe: int, intid: int) -> Footprint:
        """A device asserting `intid` (a PPI of `pe`, or an SPI)."""
        number = self._static_irq.get(intid)
        own = (irq_resource(intid, pe), True)
        if number is not None:
            return (own, *self.delivery(pe, number))
        parts: list[tuple[str, bool]] = [own]
        if self._has_private_slots or self._has_shared_slots:
            parts.append((BIND, False))
            if self._has_private_slots:
                parts.append(pe_part(pe))
            if self._has_shared_slots:
                parts.append(SHARED)
        return tuple(parts)

    def power(self, pe: int) -> Footprint:
        """`pe` powering on, off, down or waking: its state, and shared handlers it ran."""
        return (pe_part(pe), SHARED)

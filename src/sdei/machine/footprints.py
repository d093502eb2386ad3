"""What a step touches, for an explorer's partial-order reduction.

A footprint is a tuple of (resource, is_write); two steps are dependent when they share a
resource and one writes it. What a step touches:

- client operations name their own shared state (`Access`, locks, `WaitUntil` reads);
- an SDEI call touches the parts of the dispatcher its event lives in (`sdei.firmware.
  footprint`): its PE's part for private events, masks and dispatch stacks, the shared part
  for shared events - so calls on different PEs about different events commute;
- PSCI: CPU_ON and AFFINITY_INFO touch their target PE, CPU_OFF and CPU_SUSPEND their own
  PE's firmware part, SYSTEM_OFF/RESET everything;
- an interrupt's own state (`irq:N`, banked per PE for SGIs and PPIs); an SPI also changes what
  any PE is offered (`gic:spi`); an IPI writes its target's SGI and queue. Making an SGI or
  PPI pending writes its PE's `pend:N`, which taking any interrupt there reads: the GIC takes
  the most urgent pending one, so a new one can take the choice from another.

Steps on one PE are not all dependent. What decides which of its contexts may run is split
in four, each written like a lock is taken: `sched:N` - whether another thread may run
there, written by the operations that take the PE from the others (`SCHED_OPS` masking IRQs
or disabling preemption, a spinlock's Acquire) and read by every thread step; `irqmask:N` -
PSTATE.I, written by masking IRQs and read by taking an IRQ (the preempt count does not stop
one); `stack:N` - the handlers stacked on it, written by taking an interrupt or an SDEI event
(or COMPLETE_AND_RESUME's exception); `pe:N` - its power. A thread's step writes only what it
changes: a nested preempt_disable or a spinlock inside a critical section writes no
`sched:N`, local_irq_save with IRQs already off nothing. Letting go (unmasking, a handler's
end) writes none of them: a step that had to wait for it is ordered against the taking,
which is where a race analysis must put it instead (`sdei.explore.execution.StepLog.blocked`
says where a context blocked under a handler could have gone instead: before the handler was
taken).

What code does between its yields on its own CPU - PSTATE, per-CPU variables, HCR_EL2 - is
named by no operation, yet an SDEI handler taken in the middle may see or change it: it is
NMI-like, nothing masks it but the firmware. So every step on a PE reads `nmi:N`, which taking
an SDEI event there writes: where an SDEI handler comes relative to the code it interrupts
always matters (B8 is exactly that). IRQs are not ordered that way, as in Linux: data a thread
shares with an IRQ handler of its CPU is touched with IRQs masked (`IrqSave`, which the IRQ's
taking is ordered against through `irqmask:N`) or named like any shared state, and per-CPU
data shared only with other threads with preemption disabled (`Preempt`, a spinlock). Where
an IRQ lands then matters only through what it touches: its steps race with the thread's
like any other process's, and a race with a step the handler kept from running is reversed
to before the IRQ was taken (`StepLog.blocked`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.abi import MASK32, PSTATE_I
from sdei.firmware.footprint import Footprints, irq_resource
from sdei.machine.contexts import Context, Kind
from sdei.machine.ops import (
    SCHED_OPS,
    Acquire,
    AssertInterrupt,
    Footprint,
    Hvc,
    IrqRestore,
    IrqSave,
    Jump,
    Op,
    Park,
    Preempt,
    RaiseEvent,
    Release,
    SendIpi,
    Smc,
)
from sdei.machine.psci import PSCI_IDS, Psci, canonical

if TYPE_CHECKING:
    from sdei.machine.engine import Option
    from sdei.machine.machine import Machine

SPI = ("gic:spi", True)
SPI_READ = ("gic:spi", False)
SDEI_FIRST, SDEI_LAST = 0xC400_0020, 0xC400_003F
IPI_SGI = 1


class StepFootprints:
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.firmware = Footprints(machine.platform)
        pes = range(len(machine.pes))
        self.sched_read = tuple((f"sched:{i}", False) for i in pes)
        # What code on a PE may touch between its yields without naming it (PSTATE, per-CPU
        # variables, HCR_EL2), which an SDEI handler taken there may change or see: `nmi:N`
        # is written by taking an SDEI event and read by every step there.
        self.nmi_read = tuple((f"nmi:{i}", False) for i in pes)
        self.nmi = tuple((f"nmi:{i}", True) for i in pes)
        self.sched = tuple((f"sched:{i}", True) for i in pes)
        # PSTATE.I of what runs on the PE: written by masking IRQs, read by taking one (which
        # the preempt count does not stop).
        self.irqmask = tuple((f"irqmask:{i}", True) for i in pes)
        self.irqmask_read = tuple((f"irqmask:{i}", False) for i in pes)
        self.stack = tuple((f"stack:{i}", True) for i in pes)
        self.power = tuple((f"pe:{i}", True) for i in pes)
        self.power_read = tuple((f"pe:{i}", False) for i in pes)
        # Which of a PE's interrupts it takes first is the GIC's choice among those pending:
        # making one pending there can take the choice from another.
        self.pend = tuple((f"pend:{i}", True) for i in pes)
        self.pend_read = tuple((f"pend:{i}", False) for i in pes)
        self.everything: Footprint = (
            *self.sched,
            *self.irqmask,
            *self.stack,
            *self.power,
            *self.firmware.everything,
            SPI,
        )

    def whole_pe(self, pe: int) -> Footprint:
        return (
            self.sched[pe],
            self.irqmask[pe],
            self.stack[pe],
            self.power[pe],
            self.nmi[pe],
        )

    def option(self, option: Option) -> Footprint:
        """An option offered now (the step it would take)."""
        what, i, arg = option
        if what == "run":
            ctx = self.machine.context(arg)
            return self.run(ctx, ctx.pending)
        if what == "irq":
            taken = (
                self.irqmask_read[i],
                self.stack[i],
                (irq_resource(arg, i), True),
                self.pend_read[i],
            )
            return (*taken, SPI) if arg >= 32 else (*taken, SPI_READ)
        if what == "sdei":
            return (self.stack[i], self.nmi[i], *self.firmware.delivery(i, arg))
        # A wake-up resumes the suspended context (whose code after CPU_SUSPEND runs in it).
        return (*self.whole_pe(i), *self.firmware.power(i), SPI)

    def run(self, ctx: Context, op: Op, masked: bool | None = None) -> Footprint:
        """`ctx` running `op`: a thread reads its PE's scheduling state (it runs only when the
        PE lets it), a handler does not (nothing below it runs until it ends). Both read the
        CPU's unnamed local state an SDEI event taken there may change or see. `masked`:
        PSTATE.I before the step, if not the PE's or the thread's own now."""
        after = masked is not None  # a step just run, not an option
        fp = self.op(ctx.pe, op)
        pe = ctx.pe
        if ctx.kind is not Kind.THREAD:
            return (self.nmi_read[pe], *fp)
        if masked is None:
            masked = self._masked(ctx)
        if fp and type(op) in _TAKING:
            fp = self._taken_already(ctx, op, fp, masked, after)
        return (self.sched_read[pe], self.nmi_read[pe], *fp)

    def _taken_already(
        self, ctx: Context, op: Op, fp: Footprint, masked: bool, after: bool
    ) -> Footprint:
        """A thread's step that takes its PE writes only what it changes: `sched:N` when no
        other thread could run there before (IRQs unmasked, preemption on), `irqmask:N` when
        an IRQ could come before (IRQs unmasked). A nested preempt_disable, a spinlock inside
        a critical section or local_irq_save with IRQs off changes nothing another context
        can see."""
        pe = ctx.pe
        if masked:
            drop: tuple[tuple[str, bool], ...] = (self.sched[pe], self.irqmask[pe])
        else:
            kind = type(op)
            if kind is Preempt:
                delta = op.delta  # type: ignore[attr-defined]
            elif kind is Acquire:
                delta = op.preempt  # type: ignore[attr-defined]
            else:
                delta = 0  # masking IRQs: counts nothing
            before = ctx.preempt - delta if after else ctx.preempt
            if before <= 0:
                return fp
            drop = (self.sched[pe],)
        return tuple(r for r in fp if r not in drop)

    def _masked(self, ctx: Context) -> bool:
        where = self.machine.pes[ctx.pe]
        if where.current is ctx:
            return bool(where.pstate & PSTATE_I)
        return bool(ctx.saved is not None and ctx.saved[1] & PSTATE_I)

    def ended(self, ctx: Context) -> Footprint:
        """What a context's last step adds: its end (waited for by `done:N`), and for an IRQ
        handler the end of its interrupt. Leaving the PE to what the context kept from running
        (a thread's preemption, a handler's place on the stack) is a release: what was kept
        out is ordered against the taking, not the letting go."""
        done = (f"done:{ctx.ident}", True)
        if ctx.kind is Kind.IRQ:
            return (done, (irq_resource(ctx.saved[0], ctx.pe), True))
        return (done,)

    def op(self, pe: int, op: Op) -> Footprint:
        """A client operation run on `pe`."""
        kind = type(op)
        if kind is Smc or kind is Hvc:
            assert isinstance(op, (Smc, Hvc))
            fp = self._call(pe, "smc" if kind is Smc else "hvc", op.function, op.args)
            return (*fp, *((name, False) for name in op.reads)) if op.reads else fp
        if kind in SCHED_OPS:
            if not _keeps_pe(op):
                return ()
            if kind is Preempt:
                assert isinstance(op, Preempt)
                return (self.sched[pe], *op.touches)
            return (self.sched[pe], self.irqmask[pe])
        if kind is Acquire or kind is Release:
            assert isinstance(op, (Acquire, Release))
            return (*op.footprint, self.sched[pe]) if op.preempt > 0 else op.footprint
        if kind is SendIpi:  # lost if the target is off: its power decides
            assert isinstance(op, SendIpi)
            target = op.target
            return (
                (irq_resource(IPI_SGI, target), True),
                self.pend[target],
                self.power_read[target],
            )
        if kind is AssertInterrupt:
            assert isinstance(op, AssertInterrupt)
            target = op.pe if op.intid < 32 else pe
            own = (irq_resource(op.intid, target), True)
            parts = (*self.firmware.interrupt(target, op.intid), own)
            return (*parts, self.pend[target]) if op.intid < 32 else (*parts, SPI)
        if kind is RaiseEvent:
            assert isinstance(op, RaiseEvent)
            parts = self.firmware.event(op.pe, op.event)
            if op.event in self.machine.synchronous_events:  # a handler stacked at once
                delivered = self.firmware.delivery(op.pe, op.event)
                parts = (*parts, *delivered, self.stack[op.pe], self.nmi[op.pe])
            return parts
        if kind is Jump:
            assert isinstance(op, Jump)
            if op.reset_system:
                return self.everything
            return (*self.whole_pe(pe), *self.firmware.power(pe))
        if kind is Park:
            return self.whole_pe(pe)
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
            if faults:
                parts = (*parts, *self._fault_parts(pe, fid, args))
            if fid == 0xC400_0026:  # COMPLETE_AND_RESUME may stack an exception
                parts = (*parts, self.stack[pe])
            return parts
        return ()

    def _fault_parts(self, pe: int, fid: int, args: tuple[int, ...]) -> Footprint:
        """The injected faults a call could meet: each has its own budget (`fault:N`), read
        and spent only by the calls it can fail (`FirmwareFault.meets`)."""
        return tuple(
            (f"fault:{n}", True)
            for n, fault in enumerate(self.machine.faults)
            if fault.meets(pe, fid, args)
        )

    def _psci(self, pe: int, which: int, args: tuple[int, ...]) -> Footprint:
        if which in (Psci.CPU_ON, Psci.AFFINITY_INFO):
            target = self.machine.platform.pe_of(args[0]) if args else None
            if target is None:
                return ()
            if which == Psci.AFFINITY_INFO:
                return ((f"pe:{target}", False),)
            return (*self.whole_pe(target), *self.firmware.power(target))
        if which in (Psci.CPU_OFF, Psci.CPU_SUSPEND):
            return (*self.whole_pe(pe), *self.firmware.power(pe))
        if which in (Psci.SYSTEM_OFF, Psci.SYSTEM_RESET):
            return self.everything
        return ()


_TAKING = (*SCHED_OPS, Acquire)  # the operations whose footprint may name `sched:N`


def _keeps_pe(op: Op) -> bool:
    """Does a scheduling operation take its PE (mask IRQs, disable preemption)? Only those are
    dependent with the steps they stop: letting go (unmask, preempt_enable) is like releasing
    a lock - what was kept out is ordered against the taking, which a race analysis reverses
    to before it."""
    kind = type(op)
    if kind is IrqSave:
        return True
    if kind is IrqRestore:
        return op.masked  # type: ignore[attr-defined,no-any-return]
    if kind is Preempt:
        return op.delta > 0  # type: ignore[attr-defined,no-any-return]
    return bool(op.value & PSTATE_I)  # type: ignore[attr-defined]  # SetPstate

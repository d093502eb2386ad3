"""The simulated board: PEs, a GIC, firmware (EL3 or a hypervisor's virtual SDEI), a code map.

`Machine` is the board the engine (`sdei.machine.engine`) drives: what each PE offers at a step
(a context's next operation, an SDEI event, an interrupt, a wake-up) with a cache that
recomputes only the PEs that changed; the conduits (SMC/HVC to the SDEI dispatcher and PSCI);
power (CPU_ON/OFF/SUSPEND, system off and reset, parking); SDEI delivery and completion; IRQs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, ClassVar, Final, Literal

from sdei.abi import (
    FUNCTION_BASE,
    MASK32,
    PSTATE_DAIF,
    PSTATE_I,
    Function,
    mode_for,
    to_signed64,
)
from sdei.firmware import Dispatcher, Exit, Interrupted, Platform
from sdei.machine.chooser import (
    Offered,
)
from sdei.machine.codemap import CodeFault, CodeMap, Image, Loaded
from sdei.machine.contexts import Code, Context, Kind
from sdei.machine.engine import GONE, Engine, Option, _Gone
from sdei.machine.errors import (
    ClientFault,
)
from sdei.machine.footprints import StepFootprints
from sdei.machine.gic import Gic
from sdei.machine.invariants import FirmwarePromises
from sdei.machine.ops import (
    NOT_MADE,
    AssertInterrupt,
    Footprint,
    Hvc,
    Jump,
    Op,
    Park,
    RaiseEvent,
    SendIpi,
    Smc,
)
from sdei.machine.pe import PE, Power
from sdei.machine.psci import (
    AFFINITY_OFF,
    AFFINITY_ON,
    POWER_STATE_TYPE_POWERDOWN,
    PSCI_IDS,
    PSCI_VERSION_1_1,
    Psci,
    PsciStatus,
    canonical,
)

IPI_SGI = 1  # the SGI the OS uses for cross-calls
FAULTS_BEFORE = "faults before its first step"  # Context.data: `_first_step`
SDEI_FIRST: Final = FUNCTION_BASE
SDEI_LAST: Final = 0xC400_003F
# Plain ints, which compiled code compares fastest (sdei.accel).
_COMPLETIONS: Final = frozenset(
    (int(Function.EVENT_COMPLETE), int(Function.EVENT_COMPLETE_AND_RESUME))
)
_REGISTER: Final = int(Function.EVENT_REGISTER)


@dataclass(frozen=True)
class FirmwareFault:
    """An injected firmware failure: `function` (optionally for `event`) returns `status`.

    With `always`, it fires every time (a deterministic bug); otherwise the chooser decides at
    each matching call whether it fires, up to `times`.
    """

    function: int
    status: int
    event: int | None = None
    times: int = 1
    always: bool = False
    pe: int | None = None  # only calls made on this PE

    def meets(self, pe: int, fid: int, args: tuple[int, ...]) -> bool:
        """Can this fault fail a call of `fid` (its 32-bit function ID) made on `pe` with
        x1.. = `args` (its budget aside)?"""
        return (
            self.function == fid
            and (self.pe is None or self.pe == pe)
            and (self.event is None or (bool(args) and args[0] == self.event))
        )


@dataclass
class MachineConfig:
    platform: Platform
    conduit: Literal["smc", "hvc"] = "smc"
    powered_on: tuple[int, ...] | None = None  # PEs on at start (default: all)
    faults: tuple[FirmwareFault, ...] = ()
    builtin_invariants: bool = True


class Machine(Engine):
    """A board: PEs, a GIC, firmware (EL3 or a hypervisor's virtual SDEI), a code map."""

    # What records the past or caches, not state (`sdei.explore.fingerprint`).
    __past__: ClassVar[tuple[str, ...]] = (
        "injected",
        "last_injected",
        "_deliverable_cache",
        "_footprints",
        # the options cache: follows from the state
        "_epoch",
        "_options_epoch",
        "_options_shared",
        "_pe_options",
        "_unsteady_pes",
        "_flat",
        "_takes",
    )
    # Tests: check the options cache against a full recomputation.
    CHECK_OPTIONS: ClassVar[bool] = False
    # Set at construction, never changed.
    __fixed__: ClassVar[tuple[str, ...]] = ("config", "platform", "client_el", "synchronous_events")

    def __init__(self, config: MachineConfig) -> None:
        super().__init__()
        self.config = config
        platform = config.platform
        self.platform = platform
        self.client_el = platform.client_el
        self.conduit = config.conduit
        secure = (
            frozenset(e.interrupt for e in platform.events if e.interrupt is not None)
            | platform.secure_interrupts
        )
        self.gic = Gic(platform.pes, platform.spi_count, secure)
        # With conduit "hvc" this dispatcher is the hypervisor's virtual SDEI instance.
        self.firmware = Dispatcher(platform, self.gic)
        self.code = CodeMap()
        self.pes = [PE(self, i, m, platform.client_el) for i, m in enumerate(platform.mpidrs)]
        for pe in self.pes:
            self.gic.enable(IPI_SGI, pe.index)  # SGIs are usable from reset
        self.irq_handlers: dict[int, Callable[..., Code]] = {}
        self.faults = list(config.faults)
        self._fault_budget = [f.times for f in self.faults]
        self._footprints: StepFootprints | None = None
        self._op_handlers.update(
            {
                Smc: self._smc,
                Hvc: self._hvc,
                SendIpi: self._send_ipi,
                AssertInterrupt: self._assert_interrupt_op,
                RaiseEvent: self._raise_event,
                Park: self._park_op,
                Jump: self._jump_op,
            }
        )
        self._deliverable_cache: list[tuple[int, int, tuple[int, ...]]] = [
            (-1, -1, ())
        ] * platform.pes
        # The options cache (`_options`): per PE, and when each was computed.
        self._epoch = 0  # bumped by changes that can reach any PE's options
        self._options_epoch = -1
        self._options_shared = -1
        self._pe_options: list[tuple[Option, ...]] = [()] * platform.pes
        self._unsteady_pes: set[int] = set()
        self._flat: Offered | None = None
        self._takes: set[int] = set()  # PEs offering an event, interrupt or wake-up
        # Explicit events dispatch at once where the profile has no pending state for them.
        self.synchronous_events = (
            frozenset(e.number for e in platform.events if e.interrupt is None and e.number != 0)
            if not self.firmware.rules.explicit_events_pend
            else frozenset()
        )
        self.last_injected = False  # the current firmware_call hook reports an injected fault
        self.injected: list[tuple[int, int, int, int]] = []  # (step, pe, function, status)
        self.faults_fired = 0  # len(injected), as state
        self.registered_symbols: dict[int, str] = {}  # entry address -> symbol at REGISTER
        self.shared: dict[str, Any] = {}  # state client code shares between CPUs
        if config.builtin_invariants:
            FirmwarePromises(self)
        on = set(range(platform.pes) if config.powered_on is None else config.powered_on)
        for pe in self.pes:
            if pe.index not in on:
                pe.power = Power.OFF
                self.firmware.power_off(pe.index)

    def load(self, image: Image, base: int) -> Loaded:
        return self.code.load(image, base)

    def unload(self, loaded: Loaded) -> None:
        self.code.unload(loaded)

    def request_irq(self, intid: int, handler: Callable[..., Code]) -> None:
        """The OS's handler for one of its interrupts: `handler(pe, intid)`."""
        self.irq_handlers[intid] = handler

    def firmware_call(self, pe: int, function: int, *args: int) -> int:
        """A call made during deterministic set-up (not a step; observers still see it)."""
        return int(self._conduit(self.pes[pe], None, self.conduit, function, args))

    def inject(self, fault: FirmwareFault) -> None:
        """Arm a firmware fault from now on (scenarios arm theirs after set-up)."""
        self.faults.append(fault)
        self._fault_budget.append(fault.times)

    def footprint(self, option: Option) -> Footprint:
        """The shared things a step would touch (`sdei.machine.footprints`): its PE (steps on
        one PE always depend on each other) and what its operation names."""
        return self.footprints.option(option)

    def step_footprint(self, ctx: Context, op: Op) -> Footprint:
        """What `ctx`'s step running `op` touched (call it just after the step)."""
        fp = self.footprints.run(ctx, op, masked=self.step_masked)
        return (*fp, *self.footprints.ended(ctx)) if ctx.done else fp

    @property
    def footprints(self) -> StepFootprints:
        found = self._footprints
        if found is None:
            found = self._footprints = StepFootprints(self)
        return found

    def _options(self) -> list[Option]:
        """What can happen next, PE by PE, recomputed only for the PEs whose options may have
        changed: the PE that stepped, PEs whose firmware state moved (`pe_generation`), PEs
        whose power or contexts changed (`_touched_pes`), PEs with a blocked operation or
        asleep (their options hang on any state), and every PE after a change that can reach
        any of them (a cold boot, the shared events, any pending interrupt)."""
        firmware = self.firmware
        touched = self._touched_pes
        moved = firmware.moved
        if moved:
            touched |= moved
            moved.clear()
        per_pe = self._pe_options
        if (
            self.gic.pending_count
            or self._epoch != self._options_epoch
            or firmware.shared_generation != self._options_shared
        ):
            self._options_epoch = self._epoch
            self._options_shared = firmware.shared_generation
            stale: Iterable[int] = range(len(self.pes))
        else:
            if self._unsteady_pes:
                touched |= self._unsteady_pes
            stale = touched
        changed: list[tuple[int, int]] = []  # (PE, how many options it had)
        volatile = self._unsteady_pes
        for i in stale:
            options, unsteady = self._pe_step_options(self.pes[i])
            if unsteady:
                volatile.add(i)
            else:
                volatile.discard(i)
            if options != per_pe[i]:
                changed.append((i, len(per_pe[i])))
                per_pe[i] = options
                # A PE's events, interrupts and wake-up come before its runs.
                if options and options[0][0] != "run":
                    self._takes.add(i)
                else:
                    self._takes.discard(i)
        touched.clear()
        old = self._flat
        if changed or old is None:
            if old is None or len(changed) > 4:
                flat = Offered(chain.from_iterable(per_pe))
            else:  # a new list (callers may keep the old one), spliced where PEs changed
                flat = Offered(old)
                changed.sort()
                for i, before in changed:
                    start = sum(map(len, islice(per_pe, i)))
                    flat[start : start + before] = per_pe[i]
            takes = self._takes
            if takes:  # where the first event, interrupt or wake-up offered is
                flat.first_take = sum(map(len, islice(per_pe, min(takes))))
            self._flat = old = flat
        if self.CHECK_OPTIONS:
            full = [o for pe in self.pes for o in self._pe_step_options(pe)[0]]
            assert full == old, f"options {old} != recomputed {full}"
        return old

    def _pe_step_options(self, pe: PE) -> tuple[tuple[Option, ...], bool]:
        """What `pe` offers, and whether that hangs on more than its own state and its
        firmware state (a blocked operation's condition, a sleeping PE's wake-up)."""
        firmware = self.firmware
        enabled = self._enabled
        i = pe.index
        if pe.power is not Power.ON:
            # A sleeping PE wakes for a pending event or interrupt, or its timer: the
            # chooser decides when (a suspended context always gets woken eventually).
            if pe.power is not Power.OFF and (
                pe.suspended is not None or firmware.wakes(i) or self.gic.pending_for(i, pe.mpidr)
            ):
                return (("wake", i, 0),), True
            return (), pe.power is not Power.OFF
        options: list[Option] = []
        add = options.append
        cached = self._deliverable_cache[i]
        shared_generation, pe_generation = firmware.shared_generation, firmware.pe_generation[i]
        if cached[0] != shared_generation or cached[1] != pe_generation:
            cached = self._deliverable_cache[i] = (
                shared_generation,
                pe_generation,
                firmware.deliverable(i),
            )
        for event in cached[2]:
            add(("sdei", i, event))
        stack = pe.stack
        unsteady = False
        if pe.parked:  # nothing but an NMI-like SDEI handler runs on a parked PE
            if stack:
                top = stack[-1]
                unsteady = top.pending.blocking
                if enabled(top):
                    add(("run", i, top.ident))
            return tuple(options), unsteady
        if self.gic.pending_count and not pe.pstate & PSTATE_I and not firmware.handler_running(i):
            irqs = self.gic.deliverable(i, pe.mpidr)
            if irqs:
                add(("irq", i, irqs[0]))
        if stack:
            top = stack[-1]
            if not top.pending.blocking:
                add(("run", i, top.ident))
            elif enabled(top):
                add(("run", i, top.ident))
                unsteady = True
            else:
                unsteady = True
            return tuple(options), unsteady
        current = pe.current
        # A thread with preemption or IRQs off keeps its PE until it lets go of it.
        if current is not None and (current.preempt or pe.pstate & PSTATE_I) and not current.done:
            if current.pending.blocking:
                unsteady = True
                if enabled(current):
                    add(("run", i, current.ident))
            else:
                add(("run", i, current.ident))
            return tuple(options), unsteady
        for thread in pe.threads:
            if not thread.pending.blocking:
                add(("run", i, thread.ident))
            else:
                unsteady = True
                if enabled(thread):
                    add(("run", i, thread.ident))
        return tuple(options), unsteady

    def _perform(self, option: Option) -> None:
        what, i, arg = option
        pe = self.pes[i]
        self._touched_pes.add(i)
        if what == "run":
            self._run_context(pe, self._contexts[arg])
        elif what == "sdei":
            self.running = None
            self._deliver(pe, arg)
        elif what == "irq":
            self.running = None
            self._take_irq(pe, arg)
        else:
            self._wake(pe)

    def _first_step(self, ctx: Context) -> None:
        if self.faults:  # what a call the context began before its first step met (core.py)
            ctx.data[FAULTS_BEFORE] = self.faults_fired

    def _end_context(self, pe: PE, ctx: Context, value: Any) -> None:
        ctx.done = True
        ctx.result = value
        for hook in self._hooks["context_end"]:
            hook(self.step_count, pe.index, ctx)
        if ctx.kind is Kind.THREAD:
            if ctx in pe.threads:
                pe.threads.remove(ctx)
            if pe.current is ctx:
                pe.current = None
            return
        if ctx.kind.is_sdei:
            self.violate(
                "handler-falls-off", f"{ctx.name} returned without EVENT_COMPLETE", pe.index
            )
        # IRQ or synthetic exception: ERET to ELR/SPSR of the handler's EL.
        pe.stack.remove(ctx)
        el = pe.el
        if ctx.kind is Kind.IRQ:
            intid, pc, pstate = ctx.saved
            self.gic.end_of_interrupt(intid, pe.index)
            pe.pc, pe.pstate = pc, pstate
        else:
            pe.pc, pe.pstate = pe.elr[el], pe.spsr[el]

    # ------------------------------------------------------------------ operations on the board

    def _smc(self, pe: PE, ctx: Context, op: Smc) -> Any:
        if op.unless is not None and op.unless():
            return NOT_MADE
        return self._conduit(pe, ctx, "smc", op.function, op.args)

    def _hvc(self, pe: PE, ctx: Context, op: Hvc) -> Any:
        if op.unless is not None and op.unless():
            return NOT_MADE
        return self._conduit(pe, ctx, "hvc", op.function, op.args)

    def _send_ipi(self, pe: PE, ctx: Context, op: SendIpi) -> bool:
        target = self.pes[op.target]
        if target.power is Power.OFF:
            return False  # lost: nothing receives it
        target.ipi_queue.append(op.callback)
        self.gic.assert_line(IPI_SGI, op.target)
        return True

    def _assert_interrupt_op(self, pe: PE, ctx: Context, op: AssertInterrupt) -> bool:
        return self.assert_interrupt(op.intid, op.pe)

    def _raise_event(self, pe: PE, ctx: Context, op: RaiseEvent) -> bool:
        taken = self.firmware.raise_event(op.event, op.pe)
        if taken and op.event in self.synchronous_events:
            target = self.pes[op.pe]
            if target is pe:  # the handler interrupts this call: ELR_EL3 is after it
                pe.pc = ctx.address + 4 * ((ctx.steps + 1) % 1024)
            self._deliver(target, op.event)  # TF-A sdei_dispatch_event
        return taken

    def _park_op(self, pe: PE, ctx: Context, op: Park) -> _Gone:
        self._park(pe)
        return GONE

    def _jump_op(self, pe: PE, ctx: Context, op: Jump) -> _Gone:
        if op.reset_system:
            self._cold_boot(pe)
        self._jump(pe, op.address, op.x0)
        return GONE

    def assert_interrupt(self, intid: int, pe: int = 0) -> bool:
        """A device raises `intid`: firmware's if SDEI owns it, else an OS IRQ. True if SDEI's."""
        if self.firmware.interrupt_asserted(intid, pe):
            return True
        self.gic.assert_line(intid, pe)
        return False

    def _conduit(
        self, pe: PE, ctx: Context | None, conduit: str, function: int, args: tuple[int, ...]
    ) -> Any:
        fid = function & MASK32
        self.last_injected = False
        if fid in PSCI_IDS:
            result: Any = (
                self._psci(pe, ctx, canonical(fid), args)
                if conduit == self.conduit
                else PsciStatus.NOT_SUPPORTED
            )
        elif SDEI_FIRST <= fid <= SDEI_LAST and conduit == self.conduit:
            result = self._sdei(pe, ctx, fid, args)
        else:
            result = -1  # SMC_UNK / no hypervisor call of that number (SMCCC)
        for hook in self._hooks["firmware_call"]:
            hook(
                self.step_count,
                pe.index,
                conduit,
                fid,
                args,
                int(result) if not isinstance(result, _Gone) else 0,
            )
        return result

    def _sdei(self, pe: PE, ctx: Context | None, fid: int, args: tuple[int, ...]) -> Any:
        if self.faults:
            injected = self._injected_fault(pe.index, fid, args)
            if injected is not None:
                self.last_injected = True
                return injected
        result = self.firmware.call(pe.index, fid, *args, el=pe.el)
        if result == 0 and fid in _COMPLETIONS:
            exit_ = self.firmware.pop_exit(pe.index)
            assert exit_ is not None
            self._apply_exit(pe, exit_)
            return GONE
        if result == 0 and fid == _REGISTER and len(args) > 1:
            found = self.code.symbol_at(args[1])
            self.registered_symbols[args[1]] = found.symbol if found else "?"
        return to_signed64(result)

    def _injected_fault(self, pe: int, fid: int, args: tuple[int, ...]) -> int | None:
        for n, fault in enumerate(self.faults):
            if self._fault_budget[n] <= 0 or not fault.meets(pe, fid, args):
                continue
            if fault.always or self._choose("fault", ("pass", "fire")) == 1:
                if not fault.always:
                    self._fault_budget[n] -= 1
                self.injected.append((self.step_count, pe, fid, fault.status))
                self.faults_fired += 1
                return fault.status
        return None

    def _psci(self, pe: PE, ctx: Context | None, fid: int, args: tuple[int, ...]) -> Any:
        a = (*args, 0, 0, 0)
        if fid == Psci.VERSION:
            return PSCI_VERSION_1_1
        if fid == Psci.FEATURES:
            return 0 if a[0] & MASK32 in PSCI_IDS else PsciStatus.NOT_SUPPORTED
        if fid == Psci.AFFINITY_INFO:
            target = self.platform.pe_of(a[0])
            if target is None:
                return PsciStatus.INVALID_PARAMETERS
            return AFFINITY_OFF if self.pes[target].power is Power.OFF else AFFINITY_ON
        if fid == Psci.CPU_ON:
            return self._cpu_on(a[0], a[1], a[2])
        if fid == Psci.CPU_OFF:
            self.power_off(pe.index)
            return GONE
        if fid == Psci.CPU_SUSPEND:
            if ctx is None:
                return PsciStatus.DENIED
            new = Power.POWERDOWN if a[0] & POWER_STATE_TYPE_POWERDOWN else Power.STANDBY
            self._set_power(pe, new)
            pe.suspended = ctx
            ctx.steps += 1
            return GONE
        if fid in (Psci.SYSTEM_OFF, Psci.SYSTEM_RESET):
            for other in self.pes:
                if other.power is not Power.OFF:
                    self._complete_implicitly(other)
            if fid == Psci.SYSTEM_RESET:
                self.firmware.system_reset()
            self.halted = "system-off" if fid == Psci.SYSTEM_OFF else "system-reset"
            return GONE
        return PsciStatus.NOT_SUPPORTED

    def _cpu_on(self, mpidr: int, entry: int, context_id: int) -> int:
        target = self.platform.pe_of(mpidr)
        if target is None:
            return PsciStatus.INVALID_PARAMETERS
        pe = self.pes[target]
        if pe.power is not Power.OFF:
            return PsciStatus.ALREADY_ON
        try:
            code = self.code.resolve(entry)
        except CodeFault:
            return PsciStatus.INVALID_ADDRESS
        self._set_power(pe, Power.ON)
        self.firmware.power_on(target)
        pe.parked = False
        pe.elr = [0, 0, 0, 0]
        pe.spsr = [0, 0, 0, 0]
        pe.x = [0] * 31
        pe.x[0] = context_id
        pe.pstate = mode_for(self.client_el) | PSTATE_DAIF
        pe.pc = entry
        pe.stack.clear()
        pe.ipi_queue.clear()
        gen = code.code(pe)
        ctx = self._new_context(Kind.THREAD, target, code.symbol, gen, entry, code.symbol)
        pe.threads.insert(0, ctx)
        pe.current = ctx  # the PE comes out of reset in this code, DAIF masked
        return PsciStatus.SUCCESS

    def power_off(self, index: int) -> None:
        """CPU_OFF: handlers complete implicitly in `spec` (DEN0054C 6.5.4); the caller ends.
        Other threads of the PE stay parked until it comes back (the scheduler's migration is
        not modelled)."""
        pe = self.pes[index]
        self._complete_implicitly(pe)
        for ctx in pe.stack:
            ctx.done = True
        pe.stack.clear()
        if pe.current is not None:
            pe.current.done = True
            if pe.current in pe.threads:
                pe.threads.remove(pe.current)
            pe.current = None
        self._set_power(pe, Power.OFF)

    def _complete_implicitly(self, pe: PE) -> None:
        for exit_ in self.firmware.power_off(pe.index):
            for hook in self._hooks["complete"]:
                hook(self.step_count, pe.index, exit_)

    def _set_power(self, pe: PE, new: Power) -> None:
        self._touched_pes.add(pe.index)
        old = pe.power
        pe.power = new
        for hook in self._hooks["power"]:
            hook(self.step_count, pe.index, old.value, new.value)

    def _abandon(self, pe: PE) -> None:
        self._touched_pes.add(pe.index)
        for ctx in [*pe.stack, *pe.threads]:
            ctx.done = True
            ctx.gen.close()
        pe.stack.clear()
        pe.threads.clear()
        pe.current = None

    def _park(self, pe: PE) -> None:
        self._abandon(pe)
        pe.mask_all()
        pe.parked = True
        for hook in self._hooks["power"]:
            hook(self.step_count, pe.index, pe.power.value, "parked")

    def _cold_boot(self, boot: PE) -> None:
        """Power cycle: every other PE off, firmware back to its boot state, `boot` masked."""
        self._epoch += 1
        for pe in self.pes:
            if pe is not boot and pe.power is not Power.OFF:
                self._abandon(pe)
                self._set_power(pe, Power.OFF)
                self.firmware.power_off(pe.index)
            pe.parked = False
        self.firmware.system_reset()
        self.firmware.power_on(boot.index)
        for hook in self._hooks["note"]:
            hook(self.step_count, boot.index, "system-reset", {})

    def _jump(self, pe: PE, address: int, x0: int) -> None:
        try:
            code = self.code.resolve(address)
        except CodeFault as fault:
            self.violate("stale-entry", f"jump to {fault}", pe.index)
            raise AssertionError("unreachable") from None
        self._abandon(pe)
        pe.x = [0] * 31
        pe.x[0] = x0
        pe.pc = address
        pe.pstate = mode_for(self.client_el) | PSTATE_DAIF
        ctx = self._new_context(
            Kind.THREAD, pe.index, code.symbol, code.code(pe), address, code.symbol
        )
        pe.threads.append(ctx)
        pe.current = ctx

    def _wake(self, pe: PE) -> None:
        """Leave standby or power-down; CPU_SUSPEND returns 0 (a power-down wake masks the PE:
        DEN0054C 6.5.2.2)."""
        if pe.power is Power.POWERDOWN:
            self.firmware.resume_from_powerdown(pe.index)
        self._set_power(pe, Power.ON)
        ctx = pe.suspended
        pe.suspended = None
        self.running = ctx
        if ctx is not None and not ctx.done:
            try:
                self._advance(pe, ctx, PsciStatus.SUCCESS)
            except ClientFault as fault:
                self.violate(fault.invariant, fault.message, pe.index)

    def _deliver(self, pe: PE, event: int) -> None:
        el = self.client_el
        interrupted = Interrupted(
            pe.pc, pe.pstate, tuple(pe.x[:18]), pe.vbar[el], pe.hcr_e2h and pe.hcr_tge
        )
        entry = self.firmware.dispatch(pe.index, event, interrupted)
        if entry is None:
            return
        pe.x[0:4] = entry.x
        pe.pc = entry.pc
        pe.pstate = entry.pstate
        try:
            code = self.code.resolve(entry.pc)
        except CodeFault as fault:
            self.violate("stale-entry", f"event {event:#x} entered {fault}", pe.index)
            raise AssertionError("unreachable") from None
        expected = self.registered_symbols.get(entry.pc)
        if expected is not None and expected not in ("?", code.symbol):
            self.violate(
                "stale-entry",
                f"event {event:#x} entered {entry.pc:#x}, registered as "
                f"{expected} but now {code.symbol}",
                pe.index,
            )
        kind = Kind.SDEI_CRITICAL if entry.critical else Kind.SDEI
        ctx = self._new_context(
            kind, pe.index, f"{code.symbol}({event:#x})", code.code(pe), entry.pc, code.symbol
        )
        ctx.event = event
        ctx.saved = interrupted
        pe.stack.append(ctx)
        for hook in self._hooks["deliver"]:
            hook(self.step_count, pe.index, entry, ctx)

    def _apply_exit(self, pe: PE, exit_: Exit) -> None:
        """COMPLETE resumes the interrupted context exactly; COMPLETE_AND_RESUME enters the
        resume address as a synthetic exception (DEN0054C 5.4)."""
        handler = next((c for c in reversed(pe.stack) if c.kind.is_sdei), None)
        if handler is None or handler.event != exit_.event:
            self.violate(
                "complete-context",
                f"firmware completed event {exit_.event:#x} but no handler for it runs here",
                pe.index,
            )
            raise AssertionError("unreachable")
        saved: Interrupted = handler.saved
        if (
            exit_.x != saved.x
            or (exit_.kind == "complete" and (exit_.pc, exit_.pstate) != (saved.pc, saved.pstate))
            or (exit_.kind == "resume" and (exit_.elr, exit_.spsr) != (saved.pc, saved.pstate))
        ):
            self.violate(
                "complete-context",
                f"completion of {exit_.event:#x} does not restore the interrupted context",
                pe.index,
            )
        while pe.stack:
            ctx = pe.stack.pop()
            ctx.done = True
            ctx.gen.close()
            if ctx is handler:
                break
        pe.x[:18] = exit_.x
        pe.pc, pe.pstate = exit_.pc, exit_.pstate
        for hook in self._hooks["complete"]:
            hook(self.step_count, pe.index, exit_)
        if exit_.kind != "resume":
            return
        el = self.client_el
        assert exit_.elr is not None and exit_.spsr is not None
        pe.elr[el], pe.spsr[el] = exit_.elr, exit_.spsr
        if exit_.pc == saved.pc:
            # Resuming at the interrupted PC (tf-a-tests' usual handler): the interrupted
            # context goes on from where it was, in the exception state C&R gives it.
            return
        try:
            code = self.code.resolve(exit_.pc)
        except CodeFault as fault:
            self.violate("stale-entry", f"COMPLETE_AND_RESUME entered {fault}", pe.index)
            raise AssertionError("unreachable") from None
        ctx = self._new_context(
            Kind.EXCEPTION, pe.index, code.symbol, code.code(pe), exit_.pc, code.symbol
        )
        pe.stack.append(ctx)

    def _take_irq(self, pe: PE, intid: int) -> None:
        self.gic.acknowledge(intid, pe.index)
        handler = self.irq_handlers.get(intid)
        if intid == IPI_SGI and handler is None:
            handler = _ipi_handler
        if handler is not None:
            el = pe.el
            pe.elr[el], pe.spsr[el] = pe.pc, pe.pstate
            ctx = self._new_context(Kind.IRQ, pe.index, f"irq{intid}", handler(pe, intid))
            ctx.saved = (intid, pe.pc, pe.pstate)
            pe.pstate |= PSTATE_DAIF
            pe.stack.append(ctx)
        for hook in self._hooks["interrupt"]:
            hook(self.step_count, pe.index, intid)
        if handler is None:  # spurious for the OS: acknowledge and end
            self.gic.end_of_interrupt(intid, pe.index)


def _ipi_handler(pe: PE, intid: int) -> Code:
    """Run every callback queued for this PE (smp_call_function's IPI handler)."""
    while pe.ipi_queue:
        callback = pe.ipi_queue.pop(0)
        yield from callback(pe)
    return None

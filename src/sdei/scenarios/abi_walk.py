"""A scripted walk through the SDEI ABI on the reference platform: what `sdei demo` shows.

Until the simulated machine exists, the demo drives the dispatcher directly: the client side is
`Dispatcher.call`, and the hardware side (an interrupt fired, which event may start on a PE,
start it, where the client continues) is played by hand. `abi_walk()` returns the steps and
their decoded results as data; it never prints, and its output is the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sdei.abi import (
    MASK64,
    EventType,
    Feature,
    Function,
    Info,
    Priority,
    RoutingMode,
    Status,
    decode_bind_slots,
    decode_version,
    pstate_el,
)
from sdei.firmware import Dispatcher, Entry, Exit, Interrupted, Platform
from sdei.firmware.states import STATE_NAMES

# Where the made-up client lives: all inside the reference platform's non-secure DRAM.
EVENT0_ENTRY = 0x8008_1000
BOUND_ENTRY = 0x8008_2000
RAS_ENTRY = 0x8008_3000
CRITICAL_ENTRY = 0x8008_4000
EVENT0_ARG = 0x1000
BOUND_ARG = 0x2000
RAS_ARG = 0x3000
CRITICAL_ARG = 0x4000

PPI = 23  # a client PPI (the PMU overflow interrupt on many boards)
SPI = 100  # a client SPI
RAS_EVENT = 0x4000_0010  # static shared normal event on secure SPI 200
RAS_SPI = 200
CRITICAL_EVENT = 0x4000_0011  # static shared critical event on secure SPI 201
CRITICAL_SPI = 201

# The context event 0 interrupts: kernel code at EL1h, IRQs unmasked, Z and C flags set.
INTERRUPTED_PC = 0xFFFF_8000_8012_3450
INTERRUPTED_PSTATE = 0x6000_0005
INTERRUPTED_X = tuple(0x1111 * (n + 1) for n in range(18))


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the walk: an SDEI call made by `pe`, or (function None) a hardware step."""

    pe: int
    function: Function | None
    args: tuple[int, ...]
    call: str  # "EVENT_REGISTER(0x0, 0x80081000, ...)" or the hardware step's description
    value: int | None  # x0 as the call returned it (signed); None for a hardware step
    result: str  # the value decoded: a Status name, a version, status bits, an entry state...
    error: bool
    note: str = ""

    @property
    def hardware(self) -> bool:
        return self.function is None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    intro: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Walk:
    profile: str
    pes: int
    sections: tuple[Section, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for section in self.sections for step in section.steps)


def format_call(function: Function, args: Sequence[int]) -> str:
    """`NAME(0x.., 0x..)`, arguments as the registers hold them."""
    return f"{function.name}({', '.join(hex(a & MASK64) for a in args)})"


_ERRORS = frozenset(int(s) for s in Status if s < 0)


def is_error(function: Function, value: int) -> bool:
    """Is x0 an error? Every negative value is, except for EVENT_CONTEXT, whose register values
    can be negative: like Linux, only the values of the error codes count there."""
    if function is Function.EVENT_CONTEXT:
        return value in _ERRORS
    return value < 0


def _state(value: int) -> str:
    return f"{value:#05b} {STATE_NAMES.get(value, 'undefined state')}"


def describe_result(function: Function, args: Sequence[int], value: int) -> str:
    """x0 of a call, decoded for a reader: the Status name of an error, else what it means."""
    if is_error(function, value):
        return Status(value).name if value in _ERRORS else f"error {value}"
    arg = [*args, 0, 0][:2]
    if function is Function.VERSION:
        version = decode_version(value)
        return f"v{version.major}.{version.minor}, vendor {version.vendor:#x}"
    if function is Function.FEATURES:
        if arg[0] == Feature.BIND_SLOTS:
            shared, private = decode_bind_slots(value)
            return f"bind slots: {shared} shared, {private} private"
        if arg[0] == Feature.RELATIVE_MODE:
            return "relative mode supported" if value else "relative mode not supported"
    if function is Function.EVENT_STATUS:
        return _state(value)
    if function is Function.EVENT_GET_INFO:
        info = arg[1]
        if info == Info.EV_TYPE:
            return f"EV_TYPE: {EventType(value).name.lower()}"
        if info == Info.EV_SIGNALED:
            return "EV_SIGNALED: " + ("can be signalled" if value == 0 else "cannot be signalled")
        if info == Info.EV_PRIORITY:
            return f"EV_PRIORITY: {Priority(value).name.lower()}"
        if info == Info.EV_ROUTING_MODE:
            return f"EV_ROUTING_MODE: {RoutingMode(value).name}"
        if info == Info.EV_ROUTING_AFF:
            return f"EV_ROUTING_AFF: MPIDR {value:#x}"
    if function is Function.EVENT_CONTEXT:
        return f"x{arg[0]} = {value & MASK64:#x}"
    if function is Function.PE_MASK:
        return "masked by this call" if value == 1 else "was already masked"
    if function is Function.INTERRUPT_BIND:
        return f"event {value:#x}" + ("" if value & 0x4000_0000 else f" ({value})")
    if value == 0:
        return "SUCCESS"
    return hex(value)


def describe_entry(entry: Entry) -> str:
    """The handler's entry state, one fact per line."""
    x = ", ".join(hex(v) for v in entry.x)
    kind = "critical" if entry.critical else "normal"
    return (
        f"{kind} handler at {entry.pc:#x}\nx0-x3 = {x}\n"
        f"PSTATE {entry.pstate:#x}: EL{pstate_el(entry.pstate)}h, DAIF masked"
    )


def describe_exit(exit_: Exit | None) -> str:
    if exit_ is None:
        return "no exit"
    return f"{exit_.kind}: resume at {exit_.pc:#x}\nPSTATE {exit_.pstate:#x}"


class _Walker:
    """Makes the calls and records each one as a Step."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.sdei = Dispatcher(platform)
        self.sections: list[Section] = []
        self._steps: list[Step] = []
        self._title = ""
        self._intro = ""

    def section(self, title: str, intro: str) -> None:
        self._flush()
        self._title, self._intro = title, intro

    def _flush(self) -> None:
        if self._title:
            self.sections.append(Section(self._title, self._intro, tuple(self._steps)))
        self._steps = []

    def finish(self) -> tuple[Section, ...]:
        self._flush()
        self._title = ""
        return tuple(self.sections)

    def call(self, pe: int, function: Function, *args: int, note: str = "") -> int:
        registers = tuple(int(a) for a in args)
        value = self.sdei.call(pe, function, *registers)
        call = format_call(function, registers)
        result = describe_result(function, registers, value)
        step = Step(pe, function, registers, call, value, result, is_error(function, value), note)
        self._steps.append(step)
        return value

    def hardware(self, pe: int, what: str, result: str, note: str = "") -> None:
        self._steps.append(Step(pe, None, (), what, None, result, False, note))

    def deliverable(self, pe: int, note: str = "") -> tuple[int, ...]:
        events = self.sdei.deliverable(pe)
        shown = "events " + ", ".join(hex(e) for e in events) if events else "nothing"
        self.hardware(pe, f"deliverable(PE{pe})", shown, note)
        return events

    def dispatch(self, pe: int, event: int, interrupted: Interrupted, note: str = "") -> Entry:
        entry = self.sdei.dispatch(pe, event, interrupted)
        if entry is None:  # only a refused relative-mode entry point does this
            raise RuntimeError(f"dispatch of {event:#x} on PE{pe} was refused")
        what = (
            f"dispatch(PE{pe}, {event:#x})\n  interrupted pc {interrupted.pc:#x}\n"
            f"  pstate {interrupted.pstate:#x}"
        )
        self.hardware(pe, what, describe_entry(entry), note)
        return entry

    def exit(self, pe: int, note: str = "") -> Exit | None:
        exit_ = self.sdei.pop_exit(pe)
        self.hardware(pe, f"pop_exit(PE{pe})", describe_exit(exit_), note)
        return exit_

    def interrupt(self, intid: int, pe: int, note: str = "") -> bool:
        taken = self.sdei.interrupt_asserted(intid, pe)
        result = "taken by SDEI (pending)" if taken else "left to the client"
        self.hardware(pe, f"interrupt {intid} asserted", result, note)
        return taken


def abi_walk(profile: str = "spec", pes: int = 4) -> Walk:
    """Run the walk on `Platform.reference(pes, profile=profile)`; needs at least 3 PEs."""
    if pes < 3:
        raise ValueError("the walk uses PEs 0, 1 and 2: it needs at least 3 PEs")
    platform = Platform.reference(pes, profile=profile)
    w = _Walker(platform)
    F = Function
    mpidr = platform.mpidrs
    interrupted = Interrupted(INTERRUPTED_PC, INTERRUPTED_PSTATE, INTERRUPTED_X)

    # fmt: off
    w.section("Discovery", "What a client asks first: the version and the bind slots.")
    w.call(0, F.VERSION)
    w.call(0, F.FEATURES, Feature.BIND_SLOTS)
    w.call(0, F.FEATURES, Feature.RELATIVE_MODE, note="a v1.1 feature")

    w.section("Event 0 on PE0", "The software-signalled event: private, normal, signalable.")
    w.call(0, F.EVENT_REGISTER, 0, EVENT0_ENTRY, EVENT0_ARG, 0, 0,
           note="private: registers for the calling PE only")
    w.call(0, F.EVENT_STATUS, 0)
    w.call(0, F.EVENT_ENABLE, 0)
    w.call(0, F.EVENT_STATUS, 0)
    for info in Info:
        note = "routing is for shared events only" if info == Info.EV_ROUTING_MODE else ""
        w.call(0, F.EVENT_GET_INFO, 0, info, note=note)
    w.call(1, F.EVENT_STATUS, 0, note="PE1's copy of the private event")

    w.section("Signal and dispatch", "PE1 signals event 0 to PE0; firmware starts the handler.")
    w.call(0, F.PE_UNMASK, note="every PE starts masked")
    w.call(1, F.EVENT_SIGNAL, 0, mpidr[0], note="from PE1, target MPIDR of PE0")
    w.deliverable(0)
    w.dispatch(0, 0, interrupted)
    w.call(0, F.EVENT_STATUS, 0)
    w.call(0, F.EVENT_CONTEXT, 0, note="the interrupted x0-x3, overwritten at entry")
    for n in range(1, 4):
        w.call(0, F.EVENT_CONTEXT, n)
    w.call(0, F.EVENT_CONTEXT, 18, note="only x0-x17 are saved")
    w.call(0, F.EVENT_COMPLETE, 0, note="EV_HANDLED")
    w.exit(0, note="back where event 0 struck")
    w.call(0, F.EVENT_STATUS, 0)
    w.call(0, F.EVENT_CONTEXT, 0, note="no handler is running")

    w.section("Bound interrupts", "The client hands a PPI and an SPI of its own to SDEI.")
    private_bound = w.call(0, F.INTERRUPT_BIND, PPI, note="a PPI gives a private event")
    shared_bound = w.call(0, F.INTERRUPT_BIND, SPI, note="an SPI gives a shared event")
    w.call(0, F.INTERRUPT_BIND, SPI, note="binding again gives the same number")
    w.call(0, F.INTERRUPT_BIND, 8, note="SGIs cannot be bound")
    w.call(0, F.EVENT_REGISTER, shared_bound, BOUND_ENTRY, BOUND_ARG, RoutingMode.RM_PE,
           mpidr[2], note="shared, RM_PE: only PE2 takes it")
    w.call(0, F.EVENT_GET_INFO, shared_bound, Info.EV_ROUTING_MODE)
    w.call(0, F.EVENT_GET_INFO, shared_bound, Info.EV_ROUTING_AFF)
    w.call(0, F.EVENT_ENABLE, shared_bound)
    w.call(1, F.EVENT_STATUS, shared_bound, note="shared: one state, seen from every PE")
    w.call(0, F.EVENT_ROUTING_SET, shared_bound, RoutingMode.RM_ANY, 0,
           note="routing changes only while registered and disabled")
    w.call(0, F.EVENT_DISABLE, shared_bound)
    w.call(0, F.EVENT_ROUTING_SET, shared_bound, RoutingMode.RM_ANY, 0)
    w.call(0, F.EVENT_GET_INFO, shared_bound, Info.EV_ROUTING_MODE)

    w.section("Critical preempts normal",
              "Two static shared events on PE0: a normal one runs, a critical one preempts it.")
    w.call(0, F.EVENT_REGISTER, RAS_EVENT, RAS_ENTRY, RAS_ARG, RoutingMode.RM_PE, mpidr[0])
    w.call(0, F.EVENT_ENABLE, RAS_EVENT)
    w.call(0, F.EVENT_REGISTER, CRITICAL_EVENT, CRITICAL_ENTRY, CRITICAL_ARG,
           RoutingMode.RM_ANY, 0)
    w.call(0, F.EVENT_ENABLE, CRITICAL_EVENT)
    w.interrupt(RAS_SPI, 0)
    w.deliverable(0)
    normal = w.dispatch(0, RAS_EVENT, interrupted)
    w.interrupt(CRITICAL_SPI, 0, note="while the normal handler runs")
    w.deliverable(0, note="critical may preempt a normal handler")
    # The critical event interrupts the normal handler a few instructions in.
    in_handler = Interrupted(normal.pc + 0x40, normal.pstate, normal.x + INTERRUPTED_X[4:])
    w.dispatch(0, CRITICAL_EVENT, in_handler)
    w.hardware(0, "running(PE0)", ", ".join(hex(e) for e in w.sdei.running(0)),
               note="the dispatch stack, outermost first")
    w.call(0, F.EVENT_CONTEXT, 0, note="x0 of the normal handler it preempted")
    w.call(0, F.EVENT_UNREGISTER, CRITICAL_EVENT, note="unregistering a running event")
    w.call(0, F.EVENT_STATUS, CRITICAL_EVENT)
    w.call(0, F.EVENT_UNREGISTER, CRITICAL_EVENT, note="still pending")
    w.call(0, F.EVENT_ENABLE, CRITICAL_EVENT, note="nothing but CONTEXT and COMPLETE now")
    w.call(0, F.EVENT_COMPLETE, 0)
    w.exit(0, note="back in the normal handler")
    w.call(0, F.EVENT_STATUS, CRITICAL_EVENT, note="the unregistration is done")
    w.call(0, F.EVENT_COMPLETE, 0)
    w.exit(0, note="back where the RAS event struck")

    w.section("PE mask", "Masking is per PE; the return value says whether this call masked it.")
    w.call(0, F.PE_MASK)
    w.call(0, F.PE_MASK)
    w.call(1, F.PE_MASK, note="PE1 was never unmasked")

    w.section("Resets", "What a kexec'd kernel or a crash kernel calls to start clean.")
    w.call(0, F.PRIVATE_RESET, note="unregisters PE0's private events")
    w.call(0, F.EVENT_STATUS, 0)
    w.call(0, F.SHARED_RESET, note="unregisters shared events and releases every binding")
    w.call(0, F.EVENT_STATUS, RAS_EVENT)
    w.call(0, F.INTERRUPT_RELEASE, shared_bound, note="already released by SHARED_RESET")
    w.call(0, F.INTERRUPT_RELEASE, private_bound, note="already released by SHARED_RESET")
    w.call(0, F.FEATURES, Feature.BIND_SLOTS, note="the total, not the free slots")
    # fmt: on

    return Walk(profile, pes, w.finish())

"""Random SDEI traffic from every PE, checked step by step against an independent oracle.

The oracle below is plain Python written from sdei-spec.md (§2 check orders, §3 states, §5
dispatch, §7 profile differences). It does not import sdei.firmware.states or look inside the
dispatcher: it reads only the platform description (the input) and compares through the public
contract (`call`, the hardware-side methods and the views). Where the reference leaves a choice
IMPLEMENTATION DEFINED, the oracle follows the choice the dispatcher documents:

* a trigger of an unregistered static event is dropped; event 0's signal is kept (§5.7);
* UNREGISTER discards a pending trigger, except event 0's signal (§2.8 "queued or discarded");
* BIND may hand out any free slot of the right kind (§4.6): the oracle accepts any;
* firmware-raised (explicit) events pend in `spec`; in `tfa` they are taken only if they can
  start at once (§5.1 "Explicit dispatch").

CPU_ON gives a bound PPI registered on that PE back to the client (its GIC state resets).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sdei.firmware import Dispatcher, Entry, Exit, FirmwareInterrupts, Interrupted, Platform

from .helpers import Profile

T = TypeVar("T")
M32 = (1 << 32) - 1
M64 = (1 << 64) - 1
PES = 2
MAX_EXAMPLES = 150
STEPS = 80

# Function ids (§2 quick table), literal.
VERSION = 0xC4000020
REGISTER = 0xC4000021
ENABLE = 0xC4000022
DISABLE = 0xC4000023
CONTEXT = 0xC4000024
COMPLETE = 0xC4000025
RESUME_CALL = 0xC4000026
UNREGISTER = 0xC4000027
STATUS = 0xC4000028
GET_INFO = 0xC4000029
ROUTING_SET = 0xC400002A
PE_MASK = 0xC400002B
PE_UNMASK = 0xC400002C
BIND = 0xC400002D
RELEASE = 0xC400002E
SIGNAL = 0xC400002F
FEATURES = 0xC4000030
PRIVATE_RESET = 0xC4000031
SHARED_RESET = 0xC4000032
# STATUS first: Hypothesis favours the first element of sampled_from.
ALL_IDS = (STATUS, *(f for f in range(0xC4000020, 0xC4000033) if f != STATUS))


def signed(value: int) -> int:
    value &= M64
    return value - (1 << 64) if value >> 63 else value


def is_ppi(intid: int) -> bool:
    return 16 <= intid <= 31


@dataclass
class Copy:
    """One event's state for one PE (private) or for the system (shared)."""

    reg: bool = False
    ena: bool = False
    run: bool = False
    pending: bool = False
    ep: int = 0
    arg: int = 0
    rm_pe: bool = False
    aff: int = 0

    @property
    def status(self) -> int:
        return int(self.reg) | int(self.ena) << 1 | int(self.run) << 2

    def forget(self) -> None:
        self.ep = self.arg = self.aff = 0
        self.rm_pe = False


@dataclass
class Ev:
    number: int
    shared: bool
    critical: bool
    signalable: bool
    dynamic: bool
    static_intid: int | None
    copies: list[Copy]
    bound: int | None = None
    runner: int | None = None

    @property
    def intid(self) -> int | None:
        return self.bound if self.dynamic else self.static_intid


@dataclass(frozen=True)
class Frame:
    event: int
    critical: bool
    saved: Interrupted


@dataclass
class Oracle:
    platform: Platform
    profile: Profile
    events: dict[int, Ev] = field(default_factory=dict)
    masked: list[bool] = field(default_factory=list)
    online: list[bool] = field(default_factory=list)
    stacks: list[list[Frame]] = field(default_factory=list)
    exits: list[Exit | None] = field(default_factory=list)
    failed: list[tuple[int, int]] = field(default_factory=list)
    claimed: set[tuple[int, int]] = field(default_factory=set)
    active: set[tuple[int, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tfa = self.profile == "tfa"
        self.mpidrs = list(self.platform.mpidrs)
        self.n = len(self.mpidrs)
        self.secure = set(self.platform.secure_interrupts)
        self.ns_ranges = [(r.base, r.base + r.size) for r in self.platform.nonsecure_memory]
        self.slots = sum(1 << 16 if e.shared else 1 for e in self.platform.events if e.dynamic)
        for e in self.platform.events:
            if e.interrupt is not None and e.number != 0:
                for pe in range(self.n) if is_ppi(e.interrupt) else [-1]:
                    self.claimed.add((e.interrupt, pe))
        self.boot()

    def boot(self) -> None:
        self.events = {
            e.number: Ev(
                e.number,
                e.shared,
                e.critical,
                e.signalable,
                e.dynamic,
                e.interrupt,
                [Copy() for _ in range(1 if e.shared else self.n)],
            )
            for e in self.platform.events
        }
        self.masked = [True] * self.n
        self.online = [True] * self.n
        self.stacks = [[] for _ in range(self.n)]
        self.exits = [None] * self.n
        self.failed = []

    # ---------------------------------------------------------------- small rules

    def key(self, intid: int, pe: int) -> tuple[int, int]:
        return (intid, pe if is_ppi(intid) else -1)

    def nonsecure(self, intid: int, pe: int) -> bool:
        return intid not in self.secure and self.key(intid, pe) not in self.claimed

    def copy(self, ev: Ev, pe: int) -> Copy:
        return ev.copies[0 if ev.shared else pe]

    def lookup(self, x1: int) -> Ev | None:
        return self.events.get(x1 & M32)  # int32 event in x1: low 32 bits

    def pe_of(self, mpidr: int) -> int | None:
        mpidr &= M64
        return self.mpidrs.index(mpidr) if mpidr in self.mpidrs else None

    def address_ok(self, address: int) -> bool:
        if address == 0 or (not self.tfa and address & 3):
            return False
        return any(lo <= address < hi for lo, hi in self.ns_ranges)

    def take_exception_pstate(self, old: int) -> int:
        """EL1h, DAIF set, NZCV and DIT kept, PAN set (SCTLR_EL1.SPAN = 0) (§5.2)."""
        return 0x5 | 0x3C0 | (old & (0xF << 28 | 1 << 24)) | 1 << 22

    # ---------------------------------------------------------------- calls

    def call(self, pe: int, fid: int, args: Sequence[int], actual: int) -> int:
        a = [*args[:5], 0, 0, 0, 0, 0][:5]
        f = fid & M32
        if f == VERSION:
            return 1 << 48 if self.tfa else 1 << 48 | 1 << 32
        if f == REGISTER:
            return self.register(pe, *a)
        if f == ENABLE:
            return self.set_enabled(pe, a[0], True)
        if f == DISABLE:
            return self.set_enabled(pe, a[0], False)
        if f == CONTEXT:
            return self.context(pe, a[0])
        if f == COMPLETE:
            return self.complete(pe, a[0])
        if f == RESUME_CALL:
            return self.complete_and_resume(pe, a[0])
        if f == UNREGISTER:
            return self.unregister(pe, a[0])
        if f == STATUS:
            ev = self.lookup(a[0])
            return -2 if ev is None else self.copy(ev, pe).status
        if f == GET_INFO:
            return self.get_info(pe, a[0], a[1])
        if f == ROUTING_SET:
            return self.routing_set(a[0], a[1], a[2])
        if f == PE_MASK:
            was = self.masked[pe]
            self.masked[pe] = True
            return 0 if was else 1
        if f == PE_UNMASK:
            self.masked[pe] = False
            return 0
        if f == BIND:
            return self.bind(pe, a[0], actual)
        if f == RELEASE:
            return self.release(pe, a[0])
        if f == SIGNAL:
            return self.signal(a[0], a[1])
        if f == FEATURES:
            feature = a[0] & M32
            if feature == 0:
                return self.slots
            return 0 if feature == 1 and not self.tfa else -2
        if f == PRIVATE_RESET:
            results = [self.unregister(pe, e.number) for e in self.sorted(shared=False)]
            return -3 if -5 in results else 0
        if f == SHARED_RESET:
            results = [self.unregister(pe, e.number) for e in self.sorted(shared=True)]
            if -5 in results:
                return -3
            errors = [
                self.release(pe, e.number)
                for e in sorted(self.events.values(), key=lambda e: e.number)
                if e.dynamic and e.bound is not None
            ]
            return next((r for r in errors if r), 0)
        return -1

    def sorted(self, *, shared: bool) -> list[Ev]:
        return sorted(
            (e for e in self.events.values() if e.shared == shared), key=lambda e: e.number
        )

    def register(self, pe: int, event: int, ep: int, arg: int, flags: int, aff: int) -> int:
        ep, flags, aff = ep & M64, flags & M64, aff & M64
        if not self.address_ok(ep):
            return -2
        if flags & ~1:  # bit1 (relative mode) is unsupported on the reference platform
            return -2
        if self.tfa and flags & 1 and self.pe_of(aff) is None:  # even for private events
            return -2
        ev = self.lookup(event)
        if ev is None:
            return -2
        if ev.shared and flags & 1 and self.pe_of(aff) is None:
            return -2
        c = self.copy(ev, pe)
        if c.status != 0:  # registered, or unregister pending
            return -3
        if ev.dynamic:
            if ev.bound is None:
                return -3
            k = self.key(ev.bound, pe)
            if k in self.active or not self.nonsecure(ev.bound, pe):
                return -3
            self.claimed.add(k)
        c.reg, c.ep, c.arg = True, ep, arg & M64
        if ev.shared:
            c.rm_pe = bool(flags & 1)
            c.aff = aff if c.rm_pe else 0
        else:  # routing is meaningless for a private event: it is this PE's
            c.rm_pe, c.aff = True, self.mpidrs[pe]
        return 0

    def set_enabled(self, pe: int, event: int, enabled: bool) -> int:
        ev = self.lookup(event)
        if ev is None:
            return -2
        c = self.copy(ev, pe)
        if not c.reg:
            return -3
        c.ena = enabled
        return 0

    def context(self, pe: int, param: int) -> int:
        p = param & M32
        if p >= 18:
            return -2
        if not self.stacks[pe]:
            return -3
        top = self.stacks[pe][-1]
        if not self.copy(self.events[top.event], pe).run:
            return -3
        return signed(top.saved.x[p])

    def _pop(self, pe: int) -> Frame | None:
        stack = self.stacks[pe]
        if not stack:
            return None
        ev = self.events[stack[-1].event]
        c = self.copy(ev, pe)
        if not c.run:
            return None
        c.run = False
        if ev.shared:
            ev.runner = None
        return stack.pop()

    def complete(self, pe: int, status: int) -> int:
        frame = self._pop(pe)
        if frame is None:
            return -3
        s = frame.saved
        status &= M64
        if status == 1:
            self.failed.append((pe, frame.event))
        self.exits[pe] = Exit("complete", frame.event, s.pc, s.pstate, s.x, None, None, status)
        return 0

    def complete_and_resume(self, pe: int, address: int) -> int:
        if not self.stacks[pe]:
            return -3
        address &= M64
        if not self.address_ok(address):
            return -3 if self.tfa else -2
        frame = self._pop(pe)
        if frame is None:
            return -3
        s = frame.saved
        pstate = 0x3C5 if self.tfa else self.take_exception_pstate(s.pstate)
        self.exits[pe] = Exit("resume", frame.event, address, pstate, s.x, s.pc, s.pstate, 0)
        return 0

    def unregister(self, pe: int, event: int) -> int:
        ev = self.lookup(event)
        if ev is None:
            return -2
        c = self.copy(ev, pe)
        if not c.reg:
            return -5 if c.run else -3
        c.reg = c.ena = False
        if ev.dynamic and ev.bound is not None:
            self.claimed.discard(self.key(ev.bound, pe))
        if ev.number != 0:
            c.pending = False
        c.forget()
        return -5 if c.run else 0

    def get_info(self, pe: int, event: int, info: int) -> int:
        ev = self.lookup(event)
        if ev is None:
            return -2
        i = info & M32
        if i == 0:
            return int(ev.shared)
        if i == 1:
            return 0 if ev.signalable else 1
        if i == 2:
            return int(ev.critical)
        if i in (3, 4):
            if not ev.shared:
                return -2
            c = ev.copies[0]
            if not c.reg:
                return -3
            if i == 3:
                return int(c.rm_pe)
            return c.aff if c.rm_pe else -2
        return -2

    def routing_set(self, event: int, mode: int, aff: int) -> int:
        mode, aff = mode & M64, aff & M64
        if mode & ~1:
            return -2
        if mode and self.pe_of(aff) is None:
            return -2
        ev = self.lookup(event)
        if ev is None or not ev.shared or (ev.dynamic and ev.bound is None):
            return -2
        c = ev.copies[0]
        if c.status != 1:
            return -3
        c.rm_pe, c.aff = bool(mode), aff if mode else 0
        return 0

    def bind(self, pe: int, interrupt: int, actual: int) -> int:
        i = interrupt & M32
        if not (is_ppi(i) or 32 <= i < min(1020, 32 + self.platform.spi_count)):
            return -2
        for ev in self.events.values():
            if ev.intid == i:
                return ev.number if ev.dynamic else -2
        free = [e for e in self.events.values() if e.dynamic and e.bound is None]
        free = [e for e in free if e.shared != is_ppi(i)]
        if not free:
            return -10
        if not self.nonsecure(i, pe):
            return -3 if self.tfa else -2
        if not self.tfa and self.key(i, pe) in self.active:
            return -3
        # Any free slot of the right kind is acceptable (IMP DEF).
        chosen = next((e for e in free if e.number == actual), free[0])
        chosen.bound = i
        return chosen.number

    def release(self, pe: int, event: int) -> int:
        ev = self.lookup(event)
        if ev is None or not ev.dynamic:
            return -2
        if self.tfa:
            if any(c.reg for c in ev.copies) or self.copy(ev, pe).status != 0:
                return -3
        elif any(c.status for c in ev.copies):
            return -3
        if ev.bound is None:
            return -2
        if self.key(ev.bound, pe) in self.active:
            return -3
        ev.bound = None
        return 0

    def signal(self, event: int, target: int) -> int:
        if event & M32:
            return -2
        t = self.pe_of(target)
        if t is None:
            return -2
        c = self.events[0].copies[t]
        if self.tfa and (self.masked[t] or not (c.reg and c.ena)):
            return -2
        c.pending = True
        return 0

    # ---------------------------------------------------------------- hardware side

    def asserted(self, intid: int, pe: int) -> bool:
        ev = next((e for e in self.events.values() if e.intid == intid), None)
        if ev is None:
            return False
        c = self.copy(ev, pe)
        if not c.reg and ev.number != 0 and (ev.dynamic or self.tfa):
            return False  # the client's own interrupt (tfa: a static one too, until REGISTER)
        if c.reg or ev.number == 0:
            c.pending = True
        return True

    def raise_event(self, event: int, pe: int) -> bool:
        ev = self.events[event]
        if ev.intid is not None:
            return self.asserted(ev.intid, pe)
        c = self.copy(ev, pe)
        if not c.reg:
            return False
        c.pending = True
        if self.tfa and event not in self.deliverable(pe):
            c.pending = False
            return False
        return True

    def deliverable(self, pe: int) -> set[int]:
        if self.masked[pe] or not self.online[pe]:
            return set()
        stack = self.stacks[pe]
        if any(f.critical for f in stack):
            return set()  # a critical handler runs to completion
        ready = set()
        for ev in self.events.values():
            c = self.copy(ev, pe)
            if not (c.pending and c.reg and c.ena and not c.run):
                continue
            if ev.shared and c.rm_pe and c.aff != self.mpidrs[pe]:
                continue
            ready.add(ev.number)
        critical = {e for e in ready if self.events[e].critical}
        if critical:
            return critical
        return set() if stack else ready

    def dispatch(self, pe: int, event: int, it: Interrupted) -> Entry:
        ev = self.events[event]
        c = self.copy(ev, pe)
        c.pending, c.run = False, True
        if ev.shared:
            ev.runner = pe
        x = (tuple(it.x[:18]) + (0,) * 18)[:18]
        saved = Interrupted(it.pc, it.pstate, x, it.vbar, it.e2h_tge)
        self.stacks[pe].append(Frame(event, ev.critical, saved))
        return Entry(
            event,
            c.ep,
            (event, c.arg, it.pc & M64, it.pstate & M64),
            self.take_exception_pstate(it.pstate),
            1,
            ev.critical,
        )

    def power_on(self, pe: int) -> None:
        self.masked[pe] = True
        self.online[pe] = True
        for ev in self.events.values():
            if not ev.shared:
                c = ev.copies[pe]
                if ev.bound is not None and c.reg:
                    self.claimed.discard(self.key(ev.bound, pe))
                ev.copies[pe] = Copy()
        if not self.tfa:
            self.stacks[pe].clear()

    def power_off(self, pe: int) -> list[Exit]:
        exits: list[Exit] = []
        if not self.tfa:  # PSCI CPU_OFF in a handler completes it (§5.8)
            while (frame := self._pop(pe)) is not None:
                s = frame.saved
                exits.append(Exit("implicit", frame.event, s.pc, s.pstate, s.x, None, None, 0))
        self.online[pe] = False
        return exits

    def resume_from_powerdown(self, pe: int) -> None:
        """Registrations kept; the PE wakes masked (§5.8, SPEC 6.5.2.2)."""
        self.masked[pe] = True

    def system_reset(self) -> None:
        for ev in self.events.values():
            if ev.dynamic and ev.bound is not None:
                for pe in range(self.n) if is_ppi(ev.bound) else [-1]:
                    self.claimed.discard(self.key(ev.bound, pe))
        self.boot()


# ==================================================================== the state machine

EP, EP2 = 0x8000_0000, 0x8FFF_FFFC
RESUME = 0x8000_2000
BAD_MPIDR = 0x55
UNKNOWN_EVENTS = [5, 0x4000_0002, -1, 0x8000_0000, 0x7FFF_FFFF]
INTERRUPTS = [20, 21, 22, 23, 29, 40, 41, 42, 43, 200, 201, 8, 3, 288, (1 << 32) | 21]
ADDRESSES = [EP, EP2, RESUME, EP + 2, 0x1000, 0, -4, EP + (1 << 64), 0x1_0000_0000]
GARBAGE = [0, 1, 2, 3, 17, 18, -1, 1 << 32, 1 << 63, (1 << 64) + 1, -(1 << 70)]
REGS = st.one_of(st.sampled_from(GARBAGE + ADDRESSES + INTERRUPTS), st.integers(-(2**66), 2**66))
ODD_IDS = [0x84000021, 0x84000020, 0xC4000033, 0xC400003F, 0, -1, (1 << 32) | VERSION]
FUNCTION_IDS = st.one_of(st.sampled_from(ALL_IDS), st.sampled_from(ODD_IDS))
# Interrupted PSTATE: small values are what Hypothesis likes; make sure NZCV/DIT/PAN/EL show up.
PSTATES = st.one_of(
    st.integers(0, M32),
    st.sampled_from([0x6000_0005, 0xF140_03C4, 0x9100_0000, 0x8040_0009, 0x2000_0004]),
)
CONTEXTS = st.builds(
    Interrupted,
    st.integers(0, M64),
    PSTATES,
    st.lists(st.integers(0, M64), max_size=20).map(tuple),
)


@functools.cache
def _pick(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def pick(values: Iterable[T]) -> st.SearchStrategy[T]:
    """sampled_from, built once per distinct value tuple: fresh strategies are costly."""
    strategy: st.SearchStrategy[T] = _pick(tuple(values))
    return strategy


@functools.cache
def event_strategy(
    known: tuple[int, ...], live: tuple[int, ...], garbage: bool
) -> st.SearchStrategy[int]:
    """Any defined event, twice as likely one that is bound/registered, sometimes garbage."""
    pools = [st.sampled_from(known)]
    if live:
        pools += [st.sampled_from(live)] * 2
    if garbage:
        pools.append(st.sampled_from(UNKNOWN_EVENTS))
    return st.one_of(pools)


@functools.cache
def first_argument(known: tuple[int, ...]) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(known + tuple(UNKNOWN_EVENTS)), REGS)


class SdeiMachine(RuleBasedStateMachine):
    """Every rule acts through the dispatcher and the oracle alike and compares the results;
    the invariant then compares every observable view."""

    profile: Profile = "spec"

    def __init__(self) -> None:
        super().__init__()
        self.platform = Platform.reference(pes=PES, profile=self.profile)
        self.port = FirmwareInterrupts(self.platform.secure_interrupts)
        self.d = Dispatcher(self.platform, self.port)
        self.o = Oracle(self.platform, self.profile)
        self.known = sorted(e.number for e in self.platform.events)
        self.affinities = [*self.platform.mpidrs, BAD_MPIDR, 1 << 40, -1]

    # ---------------------------------------------------------------- helpers

    def online_pe(self, data: st.DataObject) -> int:
        pes = [pe for pe in range(PES) if self.o.online[pe]]
        return data.draw(pick(pes), label="pe")

    def live_events(self) -> list[int]:
        """Events that are bound, registered or running somewhere: the interesting ones."""
        return sorted(
            n
            for n, ev in self.o.events.items()
            if ev.bound is not None or any(c.status for c in ev.copies)
        )

    def event(self, data: st.DataObject, garbage: bool = True) -> int:
        return data.draw(event_strategy(tuple(self.known), tuple(self.live_events()), garbage))

    def do(self, pe: int, fid: int, *args: int) -> int:
        """One call on both; the results and any Exit must agree."""
        got = self.d.call(pe, fid, *args)
        want = self.o.call(pe, fid, args, got)
        assert got == want, f"PE{pe} {fid:#x}{tuple(hex(a) for a in args)}: {got} != {want}"
        assert self.d.pop_exit(pe) == self.o.exits[pe]
        self.o.exits[pe] = None
        return got

    def dispatch_any(self, data: st.DataObject) -> None:
        """Start one of the events the oracle says are deliverable, if any."""
        ready = [p for p in range(PES) if self.o.deliverable(p)]
        if ready:
            pe = data.draw(pick(ready), label="dispatch pe")
            ev = data.draw(pick(sorted(self.o.deliverable(pe))), label="dispatch ev")
            it = data.draw(CONTEXTS, label="interrupted")
            assert self.d.dispatch(pe, ev, it) == self.o.dispatch(pe, ev, it)

    def raise_both(self, event: int, pe: int) -> None:
        assert self.d.raise_event(event, pe) == self.o.raise_event(event, pe)

    # ---------------------------------------------------------------- calls

    @precondition(lambda self: any(self.o.online))
    @rule(data=st.data())
    def any_call(self, data: st.DataObject) -> None:
        """Any function id (incl. unknown ones) with any register values, any arity."""
        pe = self.online_pe(data)
        fid = data.draw(FUNCTION_IDS, label="fid")
        first = data.draw(first_argument(tuple(self.known)))
        rest = data.draw(st.lists(REGS, max_size=6), label="more args")
        argc = data.draw(st.integers(0, 1 + len(rest)), label="argc")
        self.do(pe, fid, *[first, *rest][:argc])

    @precondition(lambda self: any(self.o.online))
    @rule(data=st.data())
    def register(self, data: st.DataObject) -> None:
        pe = self.online_pe(data)
        ev = self.event(data)
        ep = data.draw(pick([EP, EP, EP2, *ADDRESSES]), label="ep")
        arg = data.draw(st.integers(-(2**64), 2**65), label="arg")
        flags = data.draw(pick([0, 1, 0, 1, 2, 3, -1]), label="flags")
        aff = data.draw(pick(self.affinities), label="affinity")
        self.do(pe, REGISTER, ev, ep, arg, flags, aff)

    @precondition(lambda self: any(self.o.online))
    @rule(data=st.data(), fire=st.booleans(), bind=st.sampled_from([None, 20, 21, 40, 41]))
    def make_ready(self, data: st.DataObject, fire: bool, bind: int | None) -> None:
        """(BIND +) REGISTER + ENABLE + PE_UNMASK, then maybe trigger and dispatch: makes
        handlers and nesting likely even when swarm testing switches other rules off."""
        pe = self.online_pe(data)
        usable = sorted(n for n, e in self.o.events.items() if not e.dynamic or e.bound is not None)
        ev = data.draw(pick(usable), label="event")
        if bind is not None and (bound := self.do(pe, BIND, bind)) >= 0:
            ev = bound
        aff = data.draw(pick(self.platform.mpidrs), label="affinity")
        self.do(pe, REGISTER, ev, EP, ev, data.draw(pick([0, 1])), aff)
        self.do(pe, ENABLE, ev)
        self.do(pe, PE_UNMASK)
        if fire:
            self.raise_both(ev, pe)
            self.dispatch_any(data)

    @precondition(lambda self: any(self.o.online))
    @rule(
        data=st.data(),
        fid=st.sampled_from(
            [ENABLE, DISABLE, UNREGISTER, RELEASE, STATUS, ROUTING_SET, GET_INFO, ENABLE, DISABLE]
        ),
    )
    def event_call(self, data: st.DataObject, fid: int) -> None:
        pe = self.online_pe(data)
        ev = self.event(data)
        if fid == ROUTING_SET:
            mode = data.draw(pick([0, 1, 1, 2]), label="mode")
            self.do(pe, fid, ev, mode, data.draw(pick(self.affinities)))
        elif fid == GET_INFO:
            self.do(pe, fid, ev, data.draw(st.integers(0, 5), label="info"))
        else:
            self.do(pe, fid, ev)

    @precondition(lambda self: any(self.o.online))
    @rule(
        data=st.data(),
        fid=st.sampled_from(
            [
                PE_UNMASK,
                PE_MASK,
                PE_UNMASK,
                SIGNAL,
                SIGNAL,
                BIND,
                BIND,
                FEATURES,
                PRIVATE_RESET,
                SHARED_RESET,
                VERSION,
            ]
        ),
    )
    def pe_call(self, data: st.DataObject, fid: int) -> None:
        pe = self.online_pe(data)
        if fid == SIGNAL:
            event = data.draw(pick([0, 0, 0, 1, 1 << 32]), label="event")
            self.do(pe, fid, event, data.draw(pick(self.affinities), label="target"))
        elif fid == BIND:
            self.do(pe, fid, data.draw(pick(INTERRUPTS), label="intid"))
        else:
            self.do(pe, fid, data.draw(pick([0, 1, 2]), label="x1"))

    @precondition(lambda self: any(self.o.online))
    @rule(data=st.data(), mode=st.sampled_from([1, 0, 2]), disable_first=st.booleans())
    def routing(self, data: st.DataObject, mode: int, disable_first: bool) -> None:
        """ROUTING_SET on a shared event (valid arguments mostly), then read it back."""
        pe = self.online_pe(data)
        shared = sorted(n for n, e in self.o.events.items() if e.shared)
        ev = data.draw(pick(shared), label="event")
        if disable_first:
            self.do(pe, DISABLE, ev)
        aff = data.draw(pick([*self.platform.mpidrs, BAD_MPIDR]), label="affinity")
        self.do(pe, ROUTING_SET, ev, mode, aff)
        self.do(pe, GET_INFO, ev, 3)
        self.do(pe, GET_INFO, ev, 4)

    @precondition(
        lambda self: any(self.o.online) and any(e.bound is not None for e in self.o.events.values())
    )
    @rule(data=st.data(), unregister_first=st.booleans())
    def release_bound(self, data: st.DataObject, unregister_first: bool) -> None:
        bound = sorted(n for n, e in self.o.events.items() if e.bound is not None)
        ev = data.draw(pick(bound), label="event")
        pe = self.online_pe(data)
        if unregister_first:
            self.do(pe, UNREGISTER, ev)
        self.do(pe, RELEASE, ev)

    @precondition(lambda self: any(self.o.online[p] and self.o.stacks[p] for p in range(PES)))
    @rule(
        data=st.data(),
        action=st.sampled_from(
            [
                "complete",
                "resume",
                "nested",
                "complete",
                "context",
                "resume",
                "unregister",
                "unregister+release",
                "disable",
                "nested",
                "mask",
                "reset",
                "power_off",
            ]
        ),
    )
    def in_handler(self, data: st.DataObject, action: str) -> None:
        """Something a running handler does (on its own PE)."""
        pe = data.draw(
            pick(p for p in range(PES) if self.o.online[p] and self.o.stacks[p]),
            label="pe",
        )
        top = self.o.stacks[pe][-1].event
        if action == "complete":
            self.do(pe, COMPLETE, data.draw(pick([0, 1, 2, -1]), label="status"))
        elif action == "resume":
            address = data.draw(pick([RESUME, RESUME, EP + 2, 0x1000, 0, -4]))
            self.do(pe, RESUME_CALL, address)
        elif action == "context":  # every param: x0-x17 and the first bad ones
            for param in (*range(20), (1 << 32) | 5, -1):
                self.do(pe, CONTEXT, param)
        elif action in ("unregister", "disable"):
            self.do(pe, UNREGISTER if action == "unregister" else DISABLE, top)
        elif action == "unregister+release":  # RELEASE while unregister-pending (§2.15)
            self.do(pe, UNREGISTER, top)
            self.do(self.online_pe(data), RELEASE, top)
        elif action == "mask":
            self.do(pe, PE_MASK)
        elif action == "power_off":
            assert self.d.power_off(pe) == self.o.power_off(pe)
        elif action == "reset":
            self.do(pe, data.draw(pick([PRIVATE_RESET, SHARED_RESET])))
        else:  # make a critical event arrive on top of whatever runs here
            critical = sorted(n for n, e in self.o.events.items() if e.critical)
            ev = data.draw(pick(critical), label="critical")
            self.do(pe, REGISTER, ev, EP2, 0, 0, 0)
            self.do(pe, ENABLE, ev)
            self.raise_both(ev, pe)
            self.dispatch_any(data)

    @rule(
        pe=st.integers(0, PES - 1),
        secure=st.booleans(),
        fid=st.sampled_from([REGISTER, PE_UNMASK, SIGNAL, BIND, COMPLETE]),
    )
    def refused_caller(self, pe: int, secure: bool, fid: int) -> None:
        el = None if secure else 2
        assert self.d.call(pe, fid, 0, EP, 0, 0, 0, secure=secure, el=el) == -1

    # ---------------------------------------------------------------- the hardware side

    @rule(data=st.data(), pe=st.integers(0, PES - 1), how=st.integers(0, 3))
    def trigger(self, data: st.DataObject, pe: int, how: int) -> None:
        """An interrupt (static, bound, unbound, secure, garbage), a firmware raise, or the
        source of an event registered somewhere; then maybe a dispatch."""
        registered = sorted(n for n, e in self.o.events.items() if any(c.reg for c in e.copies))
        if how == 0:
            intid = data.draw(pick(INTERRUPTS[:-1]), label="intid")
            assert self.d.interrupt_asserted(intid, pe) == self.o.asserted(intid, pe)
        elif how == 1 or not registered:
            self.raise_both(self.event(data, garbage=False), pe)
        else:
            ev = self.o.events[data.draw(pick(registered), label="event")]
            pes = [p for p in range(PES) if ev.shared or ev.copies[p].reg]
            target = data.draw(pick(pes), label="at")
            if ev.number == 0 and how == 3 and any(self.o.online):
                self.do(self.online_pe(data), SIGNAL, 0, self.platform.mpidrs[target])
            else:
                self.raise_both(ev.number, target)
        if data.draw(st.booleans(), label="then dispatch"):
            self.dispatch_any(data)

    @precondition(lambda self: any(self.o.deliverable(pe) for pe in range(PES)))
    @rule(data=st.data())
    def dispatch(self, data: st.DataObject) -> None:
        self.dispatch_any(data)

    @rule(intid=st.sampled_from([20, 21, 40, 41]), pe=st.integers(0, PES - 1), on=st.booleans())
    def set_active(self, intid: int, pe: int, on: bool) -> None:
        """Model an interrupt the client left active (GIC state), on our port and the oracle."""
        key = self.o.key(intid, pe)
        for active in (self.port.active, self.o.active):
            if on:
                active.add(key)
            else:
                active.discard(key)

    @rule(data=st.data(), what=st.sampled_from(["off", "on", "on", "resume", "reset"]))
    def power(self, data: st.DataObject, what: str) -> None:
        offline = [p for p in range(PES) if not self.o.online[p]]
        online = [p for p in range(PES) if self.o.online[p]]
        if what == "on" and offline:
            pe = data.draw(pick(offline), label="pe")
            self.d.power_on(pe)
            self.o.power_on(pe)
        elif what == "off" and online:
            pe = data.draw(pick(online), label="pe")
            assert self.d.power_off(pe) == self.o.power_off(pe)
        elif what == "resume" and online:
            pe = data.draw(pick(online), label="pe")
            self.d.resume_from_powerdown(pe)
            self.o.resume_from_powerdown(pe)
        elif what == "reset" and data.draw(st.integers(0, 3), label="really") == 0:
            self.d.system_reset()  # rare: it throws away everything built up so far
            self.o.system_reset()

    # ---------------------------------------------------------------- invariants

    @invariant()
    def agrees_with_the_oracle(self) -> None:
        d, o = self.d, self.o
        for pe in range(PES):
            assert d.is_masked(pe) == o.masked[pe], pe
            assert d.running(pe) == tuple(f.event for f in o.stacks[pe]), pe
            assert tuple(d.saved_context(pe)) == tuple(f.saved for f in o.stacks[pe])
            want = o.deliverable(pe)
            got = d.deliverable(pe)
            assert len(got) == len(set(got))
            assert set(got) == want, (pe, got, want)
            if o.masked[pe]:
                assert got == ()
            for number, ev in o.events.items():
                c = o.copy(ev, pe)
                assert d.call(pe, STATUS, number) == c.status, (pe, hex(number))
                assert d.pending(number, pe) == c.pending, (pe, hex(number))
                # Private registrations are stored as RM_PE to the own PE (TF-A step 4).
                stored = (c.ep, c.arg, int(c.rm_pe), c.aff) if c.reg else (0, 0, 0, 0)
                assert d.registration(number, pe) == stored, (pe, hex(number))
            for number in UNKNOWN_EVENTS:
                assert d.call(pe, STATUS, number) == -2
        for number, ev in o.events.items():
            if ev.dynamic:
                assert d.bound_interrupt(number) == ev.bound, hex(number)
            if ev.shared:
                assert d.runner(number) == ev.runner, hex(number)
                targets = tuple(pe for pe in range(PES) if number in o.deliverable(pe))
                assert d.targets(number) == targets
        assert d.failed_completions == o.failed


# Deterministic and bounded: about 10 s per profile on a 2-core machine.
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@SETTINGS
class SpecMachine(SdeiMachine):
    profile: Profile = "spec"


@SETTINGS
class TfaMachine(SdeiMachine):
    profile: Profile = "tfa"


TestSpecProfile = SpecMachine.TestCase
TestTfaProfile = TfaMachine.TestCase

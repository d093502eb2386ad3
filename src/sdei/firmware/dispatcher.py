"""The SDEI dispatcher at EL3: every call, the state machine, pending and dispatch (DEN0054C).

Sans-IO: the client side is `call(pe, function, *args) -> int`; the hardware side is a handful of
methods a machine calls (an interrupt was asserted, a PE powered on, which event may start on
this PE now, start it). Checks run in TF-A's order so that the first failing check gives the
reference's code (sdei-spec.md §2); where the profiles differ, `self._rules` says how.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from mypy_extensions import mypyc_attr

from sdei.abi import (
    MASK32,
    MASK64,
    PSTATE_DAIF,
    PSTATE_DIT,
    PSTATE_NZCV,
    PSTATE_PAN,
    CompleteStatus,
    Function,
    encode_bind_slots,
    encode_version,
    is_ppi,
    is_spi,
    mode_for,
    to_signed64,
)
from sdei.firmware.platform import EventDesc, Platform
from sdei.firmware.ports import FirmwareInterrupts, InterruptPort
from sdei.firmware.profile import Rules, rules_for
from sdei.firmware.states import INVALID, SAME, TRANSITIONS, Action

_REGISTERED, _ENABLED, _RUNNING = 1, 2, 4
_ENABLED_IDLE = _REGISTERED | _ENABLED  # the only state DISPATCH leaves from
SAVED_REGISTERS = 18  # x0-x17 (DEN0054C 5.1.5)

_T_REGISTER = TRANSITIONS[Action.REGISTER]
_T_RELEASE = TRANSITIONS[Action.RELEASE]
_T_ENABLE = TRANSITIONS[Action.ENABLE]
_T_DISABLE = TRANSITIONS[Action.DISABLE]
_T_UNREGISTER = TRANSITIONS[Action.UNREGISTER]
_T_ROUTING = TRANSITIONS[Action.ROUTING]
_T_CONTEXT = TRANSITIONS[Action.CONTEXT]
_T_COMPLETE = TRANSITIONS[Action.COMPLETE]
_T_COMPLETE_RESUME = TRANSITIONS[Action.COMPLETE_RESUME]
_T_DISPATCH = TRANSITIONS[Action.DISPATCH]

NOT_SUPPORTED, INVALID_PARAMETERS, DENIED, PENDING, OUT_OF_RESOURCE = -1, -2, -3, -5, -10


class DispatchError(Exception):
    """The machine asked to start an event the dispatcher would not start: a caller bug."""


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The client context an event interrupts, as EL3 sees it (ELR_EL3, SPSR_EL3, x0-x17)."""

    pc: int
    pstate: int
    x: tuple[int, ...]
    vbar: int = 0  # VBAR_ELC, for v1.1 relative-mode entry points
    e2h_tge: bool = False  # an EL2 host with HCR_EL2.{E2H,TGE} = {1,1} (PAN rule, §5.2)


@dataclass(frozen=True, slots=True)
class Entry:
    """The state the handler starts in (DEN0054C 5.2.1 Table 5)."""

    event: int
    pc: int
    x: tuple[int, int, int, int]  # x0 event, x1 argument, x2 interrupted PC, x3 interrupted PSTATE
    pstate: int
    el: int
    critical: bool


@dataclass(frozen=True, slots=True)
class Exit:
    """Where the client continues after COMPLETE or COMPLETE_AND_RESUME (DEN0054C 5.4).

    For COMPLETE: pc/pstate/x are the interrupted context, elr/spsr None. For
    COMPLETE_AND_RESUME: pc is the resume address, pstate the synthetic exception state, and
    elr/spsr the values for ELR_ELC/SPSR_ELC (the interrupted PC and PSTATE).
    """

    kind: Literal["complete", "resume", "implicit"]
    event: int
    pc: int
    pstate: int
    x: tuple[int, ...]
    elr: int | None
    spsr: int | None
    status: int


class _Event:
    """Run-time record of one event. Lists are per PE for private events, length 1 if shared."""

    __slots__ = (
        "affinity",
        "arg",
        "critical",
        "desc",
        "dynamic",
        "ep",
        "flags",
        "intid",
        "number",
        "pending",
        "private",
        "runner",
        "signalable",
        "state",
    )

    def __init__(self, desc: EventDesc, pes: int) -> None:
        width = 1 if desc.shared else pes
        self.desc = desc
        self.number = desc.number
        self.private = not desc.shared
        self.critical = desc.critical
        self.signalable = desc.signalable
        self.dynamic = desc.dynamic
        self.intid: int | None = desc.interrupt
        self.state = [0] * width
        self.ep = [0] * width
        self.arg = [0] * width
        self.flags = [0] * width
        self.affinity = [0] * width
        self.pending = [False] * width
        self.runner: int | None = None  # the PE running a shared event

    def __fingerprint__(self) -> tuple[object, ...]:
        """What can change (`sdei.explore.fingerprint`): the rest is the platform's."""
        return (
            self.number,
            self.intid,
            self.runner,
            tuple(self.state),
            tuple(self.ep),
            tuple(self.arg),
            tuple(self.flags),
            tuple(self.affinity),
            tuple(self.pending),
        )


class _Record:
    """One entry of a PE's dispatch stack (depth two: normal, then critical)."""

    __slots__ = ("event", "interrupted")

    def __init__(self, event: _Event, interrupted: Interrupted) -> None:
        self.event = event
        self.interrupted = interrupted


_Handler = Callable[..., int]


def _number(ev: _Event) -> int:
    return ev.number


@mypyc_attr(allow_interpreted_subclasses=True)  # dispatchers with a bug (conformance tests)
class Dispatcher:
    """One SDEI instance: physical (EL3) or virtual (a hypervisor's, with client EL1)."""

    # Cache counters, not state; and what is set from the platform at construction
    # (`sdei.explore.fingerprint`).
    __past__: ClassVar[tuple[str, ...]] = ("shared_generation", "pe_generation", "moved")
    __fixed__: ClassVar[tuple[str, ...]] = (
        "platform",
        "_rules",
        "_pes",
        "_client_el",
        "_mpidrs",
        "_pe_by_mpidr",
        "_ns_ranges",
        "_relative_ok",
        "_version",
        "_bind_slots",
        "_calls",
    )

    def __init__(self, platform: Platform, interrupts: InterruptPort | None = None) -> None:
        self.platform = platform
        self._rules = rules_for(platform.profile)
        self._pes = platform.pes
        self._client_el = platform.client_el
        self._mpidrs = platform.mpidrs
        self._pe_by_mpidr = {m: i for i, m in enumerate(platform.mpidrs)}
        self._ns_ranges = tuple((r.base, r.base + r.size) for r in platform.nonsecure_memory)
        self._relative_ok = platform.relative_mode
        self._port: InterruptPort = interrupts or FirmwareInterrupts(platform.secure_interrupts)
        self._version = encode_version(platform.version)
        self._bind_slots = encode_bind_slots(platform.shared_slots, platform.private_slots)
        self._events: dict[int, _Event] = {}
        self._by_intid: dict[int, _Event] = {}
        self._reset_state()
        self._calls: dict[int, _Handler] = {
            Function.VERSION: self._version_call,
            Function.EVENT_REGISTER: self._register,
            Function.EVENT_ENABLE: self._enable,
            Function.EVENT_DISABLE: self._disable,
            Function.EVENT_CONTEXT: self._context,
            Function.EVENT_COMPLETE: self._complete,
            Function.EVENT_COMPLETE_AND_RESUME: self._complete_and_resume,
            Function.EVENT_UNREGISTER: self._unregister,
            Function.EVENT_STATUS: self._status,
            Function.EVENT_GET_INFO: self._get_info,
            Function.EVENT_ROUTING_SET: self._routing_set,
            Function.PE_MASK: self._pe_mask,
            Function.PE_UNMASK: self._pe_unmask,
            Function.INTERRUPT_BIND: self._bind,
            Function.INTERRUPT_RELEASE: self._release,
            Function.EVENT_SIGNAL: self._signal,
            Function.FEATURES: self._features,
            Function.PRIVATE_RESET: self._private_reset,
            Function.SHARED_RESET: self._shared_reset,
        }

    def _reset_state(self) -> None:
        n = self._pes
        # What may have changed, for callers that cache `deliverable`: a counter per PE (its
        # private events, mask and dispatch stack) and one for shared events.
        self.shared_generation = getattr(self, "shared_generation", 0) + 1
        old = getattr(self, "pe_generation", [0] * n)
        self.pe_generation = [g + 1 for g in old]
        self.moved: set[int] = set(range(n))  # PEs whose generation moved (a reader clears it)
        self._events = {d.number: _Event(d, n) for d in self.platform.events}
        self._event_list = sorted(self._events.values(), key=lambda e: e.number)
        self._private_events = [e for e in self._event_list if e.private]
        self._shared_events = [e for e in self._event_list if not e.private]
        self._by_intid = {}
        for ev in self._event_list:
            if ev.intid is not None:
                self._by_intid[ev.intid] = ev
                if ev.number != 0:  # event 0's SGI is never programmed (TF-A: not BOUND)
                    for pe in range(n if is_ppi(ev.intid) else 1):
                        self._port.claim(ev.intid, pe, ev.critical)
        self._masked = [True] * n  # every PE starts masked (DEN0054C 5.1.12.3)
        self._online = [True] * n
        self._stack: list[list[_Record]] = [[] for _ in range(n)]
        self._exits: list[Exit | None] = [None] * n
        self._pending_count = 0
        self._pending_events: dict[_Event, int] = {}  # events with a pending trigger somewhere
        self.refused_entries: list[tuple[int, int, int]] = []  # (pe, event, address)
        self.failed_completions: list[tuple[int, int]] = []  # (pe, event): EV_FAILED

    # ------------------------------------------------------------------ the SMC face

    def call(
        self, pe: int, function: int, *args: int, el: int | None = None, secure: bool = False
    ) -> int:
        """One SDEI call from `pe`: x0 = function, x1.. = args; returns x0 as signed int64.

        Missing arguments read as zero, extra ones are ignored, and any integer is a register
        value. Calls from secure state or from an EL other than the client EL get
        NOT_SUPPORTED (TF-A sdei_smc_handler), as does any function id SDEI does not define.
        """
        if secure or (el is not None and el != self._client_el):
            return NOT_SUPPORTED
        if not 0 <= pe < self._pes:
            raise ValueError(f"PE {pe} does not exist (0..{self._pes - 1})")
        handler = self._calls.get(function & MASK32)
        if handler is None:
            return NOT_SUPPORTED
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        return handler(pe, *args[:5])

    @property
    def rules(self) -> Rules:
        """The profile's behaviour switches this dispatcher follows."""
        return self._rules

    def pop_exit(self, pe: int) -> Exit | None:
        """The context a successful COMPLETE / COMPLETE_AND_RESUME on `pe` hands back."""
        exit_ = self._exits[pe]
        self._exits[pe] = None
        return exit_

    # ------------------------------------------------------------------ helpers

    def _entry_ok(self, address: int) -> bool:
        """A non-secure address the client may enter at (TF-A plat_sdei_validate_entry_point)."""
        if address == 0 or (self._rules.check_alignment and address & 3):
            return False
        return any(lo <= address < hi for lo, hi in self._ns_ranges)

    def _touch(self, ev: _Event, i: int) -> None:
        if ev.private:
            self.pe_generation[i] += 1
            self.moved.add(i)
        else:
            self.shared_generation += 1

    def _set_pending(self, ev: _Event, i: int, value: bool) -> None:
        if ev.pending[i] != value:
            self._touch(ev, i)
            ev.pending[i] = value
            self._pending_count += 1 if value else -1
            count = self._pending_events.get(ev, 0) + (1 if value else -1)
            if count:
                self._pending_events[ev] = count
            else:
                del self._pending_events[ev]

    def _clear_registration(self, ev: _Event, i: int) -> None:
        ev.ep[i] = ev.arg[i] = ev.flags[i] = ev.affinity[i] = 0

    # ------------------------------------------------------------------ calls

    def _version_call(self, pe: int, *_: int) -> int:
        return self._version

    def _register(
        self,
        pe: int,
        event: int = 0,
        ep: int = 0,
        arg: int = 0,
        flags: int = 0,
        affinity: int = 0,
        *_: int,
    ) -> int:
        ep &= MASK64
        flags &= MASK64
        affinity &= MASK64
        relative = bool(flags & 2) and self._relative_ok
        if not relative and not self._entry_ok(ep):  # DEN0054C 5.1.2.3
            return INVALID_PARAMETERS
        if flags & ~(3 if self._relative_ok else 1):  # reserved bits MBZ
            return INVALID_PARAMETERS
        rm_pe = flags & 1
        if rm_pe and self._rules.affinity_checked_for_private and affinity not in self._pe_by_mpidr:
            return INVALID_PARAMETERS
        ev = self._events.get(event & MASK32)
        if ev is None:
            return INVALID_PARAMETERS
        if ev.private:  # routing is ignored for private events (DEN0054C 5.1.2)
            i = pe
            flags = (flags & 2) | 1
            affinity = self._mpidrs[pe]
        else:
            i = 0
            if rm_pe and affinity not in self._pe_by_mpidr:
                return INVALID_PARAMETERS
        if _T_REGISTER[ev.state[i]] == INVALID:
            return DENIED
        intid = ev.intid
        if ev.dynamic:
            if intid is None:  # a bind slot with nothing bound
                return DENIED
            if self._port.is_active(intid, pe) or not self._port.is_nonsecure(intid, pe):
                return DENIED
            self._port.claim(intid, pe, ev.critical)
        if intid is not None and not ev.private:
            self._port.route(intid, affinity if rm_pe else None)
        ev.ep[i], ev.arg[i], ev.flags[i] = ep, arg & MASK64, flags
        ev.affinity[i] = affinity if (rm_pe or ev.private) else 0
        ev.state[i] = _T_REGISTER[0]
        self._touch(ev, i)
        return 0

    def _enable(self, pe: int, event: int = 0, *_: int) -> int:
        ev = self._events.get(event & MASK32)
        if ev is None:
            return INVALID_PARAMETERS
        i = pe if ev.private else 0
        state = ev.state[i]
        target = _T_ENABLE[state]
        if target < 0:
            return 0 if target == SAME else DENIED
        ev.state[i] = target
        self._touch(ev, i)
        if ev.intid is not None and ev.number:
            self._port.set_enabled(ev.intid, pe, True)
        return 0

    def _disable(self, pe: int, event: int = 0, *_: int) -> int:
        ev = self._events.get(event & MASK32)
        if ev is None:
            return INVALID_PARAMETERS
        i = pe if ev.private else 0
        target = _T_DISABLE[ev.state[i]]
        if target < 0:
            return 0 if target == SAME else DENIED
        ev.state[i] = target
        self._touch(ev, i)
        if ev.intid is not None and ev.number:
            self._port.set_enabled(ev.intid, pe, False)
        return 0

    def _context(self, pe: int, param: int = 0, *_: int) -> int:
        param &= MASK32
        if param >= SAVED_REGISTERS:  # checked before the running check (TF-A, ACS 025)
            return INVALID_PARAMETERS
        stack = self._stack[pe]
        if not stack:
            return DENIED
        record = stack[-1]
        ev = record.event
        if _T_CONTEXT[ev.state[pe if ev.private else 0]] == INVALID:
            return DENIED
        return to_signed64(record.interrupted.x[param])

    def _finish(self, pe: int, transitions: tuple[int, ...]) -> _Record | None:
        """Pop the top dispatch of `pe` if the transition allows it (COMPLETE, C&R)."""
        stack = self._stack[pe]
        if not stack:
            return None
        record = stack[-1]
        ev = record.event
        i = pe if ev.private else 0
        target = transitions[ev.state[i]]
        if target < 0:
            return None
        stack.pop()
        ev.state[i] = target
        self._touch(ev, i)
        if not ev.private:
            ev.runner = None
        return record

    def _complete(self, pe: int, status: int = 0, *_: int) -> int:
        record = self._finish(pe, _T_COMPLETE)
        if record is None:
            return DENIED
        interrupted = record.interrupted
        status &= MASK64
        if status == CompleteStatus.EV_FAILED:  # action is platform specific (DEN0054C 5.1.6)
            self.failed_completions.append((pe, record.event.number))
        self._exits[pe] = Exit(
            "complete",
            record.event.number,
            interrupted.pc,
            interrupted.pstate,
            interrupted.x,
            None,
            None,
            status,
        )
        return 0

    def _complete_and_resume(self, pe: int, resume: int = 0, *_: int) -> int:
        if not self._stack[pe]:
            return DENIED
        resume &= MASK64
        if not self._entry_ok(resume):
            return self._rules.resume_refused_status
        record = self._finish(pe, _T_COMPLETE_RESUME)
        if record is None:
            return DENIED
        interrupted = record.interrupted
        if self._rules.resume_pstate_takes_exception:
            pstate = self._exception_pstate(interrupted)
        else:  # TF-A: DAIF, EL_C, SP_ELx and nothing else (0x3C5 / 0x3C9)
            pstate = mode_for(self._client_el) | PSTATE_DAIF
        self._exits[pe] = Exit(
            "resume",
            record.event.number,
            resume,
            pstate,
            interrupted.x,
            interrupted.pc,
            interrupted.pstate,
            0,
        )
        return 0

    def _unregister(self, pe: int, event: int = 0, *_: int) -> int:
        ev = self._events.get(event & MASK32)
        if ev is None:
            return INVALID_PARAMETERS
        i = pe if ev.private else 0
        state = ev.state[i]
        target = _T_UNREGISTER[state]
        if target == INVALID:
            return PENDING if state & _RUNNING else DENIED
        ev.state[i] = target
        self._touch(ev, i)
        intid = ev.intid
        if intid is not None and ev.number:
            if ev.dynamic:  # a bound interrupt goes back to the client (TF-A sdei_event_unregister)
                self._port.give_back(intid, pe)
            else:
                self._port.set_enabled(intid, pe, False)
        if ev.number:  # queued or discarded is IMP DEF (5.1.8.1); event 0 keeps its signal (TF-A)
            self._set_pending(ev, i, False)
        self._clear_registration(ev, i)
        return PENDING if target & _RUNNING else 0

    def _status(self, pe: int, event: int = 0, *_: int) -> int:
        ev = self._events.get(event & MASK32)
        if ev is None:
            return INVALID_PARAMETERS
        return ev.state[pe if ev.private else 0]

    def _get_info(self, pe: int, event: int = 0, info: int = 0, *_: int) -> int:
        ev = self._events.get(event & MASK32)
        if ev is None:
            return INVALID_PARAMETERS
        info &= MASK32
        if info == 0:
            return 0 if ev.private else 1
        if info == 1:
            return 0 if ev.signalable else 1  # 0 = can be signalled (DEN0054C 5.1.10)
        if info == 2:
            return 1 if ev.critical else 0
        if info in (3, 4):
            if ev.private:
                return INVALID_PARAMETERS
            if not ev.state[0] & _REGISTERED:
                return DENIED
            if info == 3:
                return ev.flags[0] & 1
            if not ev.flags[0] & 1:
                return INVALID_PARAMETERS
            return ev.affinity[0]
        return INVALID_PARAMETERS

    def _routing_set(
        self, pe: int, event: int = 0, mode: int = 0, affinity: int = 0, *_: int
    ) -> int:
        mode &= MASK64
        affinity &= MASK64
        if mode & ~1:
            return INVALID_PARAMETERS
        if mode and affinity not in self._pe_by_mpidr:
            return INVALID_PARAMETERS
        ev = self._events.get(event & MASK32)
        if ev is None or ev.private:
            return INVALID_PARAMETERS
        if ev.dynamic and ev.intid is None:
            return INVALID_PARAMETERS
        if _T_ROUTING[ev.state[0]] == INVALID:
            return DENIED
        ev.flags[0] = (ev.flags[0] & ~1) | mode
        ev.affinity[0] = affinity if mode else 0
        if ev.intid is not None:
            self._port.route(ev.intid, affinity if mode else None)
        return 0

    def _pe_mask(self, pe: int, *_: int) -> int:
        # Inside a handler the mask "takes full effect" at completion (DEN0054C 5.2.1.2); like
        # TF-A we set it at once - it can only affect dispatch decisions made after this call.
        if self._masked[pe]:
            return 0
        self._masked[pe] = True
        return 1

    def _pe_unmask(self, pe: int, *_: int) -> int:
        self._masked[pe] = False  # pending events become deliverable (DEN0054C 5.1.13)
        return 0

    def _bind(self, pe: int, interrupt: int = 0, *_: int) -> int:
        intid = interrupt & MASK32
        if not (is_ppi(intid) or is_spi(intid)) or not self.platform.interrupt_exists(intid):
            return INVALID_PARAMETERS  # SGIs cannot be bound (DEN0054C 5.1.14)
        existing = self._by_intid.get(intid)
        if existing is not None:  # re-binding gives the same number; static ones are refused
            return existing.number if existing.dynamic else INVALID_PARAMETERS
        pool = self._private_events if is_ppi(intid) else self._shared_events
        slot = next((e for e in pool if e.dynamic and e.intid is None), None)
        if slot is None:
            return OUT_OF_RESOURCE
        if not self._port.is_nonsecure(intid, pe):
            return self._rules.bind_secure_status
        if self._rules.bind_checks_active and self._port.is_active(intid, pe):
            return DENIED
        slot.intid = intid
        self._by_intid[intid] = slot
        return slot.number

    def _release(self, pe: int, event: int = 0, *_: int) -> int:
        ev = self._events.get(event & MASK32)
        if ev is None or not ev.dynamic:
            return INVALID_PARAMETERS
        if self._rules.release_checks_all_pes:
            if any(ev.state):  # every PE unregistered, none pending (DEN0054C 5.1.15)
                return DENIED
        else:
            if any(s & _REGISTERED for s in ev.state):  # TF-A: registration count
                return DENIED
            if _T_RELEASE[ev.state[pe if ev.private else 0]] == INVALID:
                return DENIED
        intid = ev.intid
        if intid is None:
            return INVALID_PARAMETERS
        if self._port.is_active(intid, pe):
            return DENIED
        ev.intid = None
        del self._by_intid[intid]
        return 0

    def _signal(self, pe: int, event: int = 0, target: int = 0, *_: int) -> int:
        if event & MASK32:
            return INVALID_PARAMETERS  # only event 0 can be signalled (DEN0054C 5.1.16)
        ev = self._events[0]
        t = self._pe_by_mpidr.get(target & MASK64)
        if t is None:
            return INVALID_PARAMETERS
        if self._rules.signal_checks_target and (
            self._masked[t] or ev.state[t] & _ENABLED_IDLE != _ENABLED_IDLE
        ):
            return INVALID_PARAMETERS  # TF-A b142ede74
        self._set_pending(ev, t, True)
        return 0

    def _features(self, pe: int, feature: int = 0, *_: int) -> int:
        feature &= MASK32
        if feature == 0:
            return self._bind_slots
        if feature == 1 and self.platform.version.minor >= 1 and self._rules.relative_mode_flag:
            return 1 if self._relative_ok else 0
        return INVALID_PARAMETERS

    def _private_reset(self, pe: int, *_: int) -> int:
        results = [self._unregister(pe, ev.number) for ev in self._private_events]
        return DENIED if PENDING in results else 0  # DEN0054C 5.1.18, TF-A ad55b97ac

    def _shared_reset(self, pe: int, *_: int) -> int:
        results = [self._unregister(pe, ev.number) for ev in self._shared_events]
        if PENDING in results:
            return DENIED  # nothing released (TF-A sdei_shared_reset)
        first_error = 0
        for ev in self._event_list:
            if ev.dynamic and ev.intid is not None:
                result = self._release(pe, ev.number)
                if result and not first_error:
                    first_error = result
        return first_error

    # ------------------------------------------------------------------ the hardware side

    def interrupt_asserted(self, intid: int, pe: int) -> bool:
        """An interrupt fired (a PPI on `pe`, or an SPI). True if SDEI owns it.

        A bound interrupt whose event is not registered belongs to the client, so the machine
        delivers it as an ordinary interrupt (False). Triggers of a registered event pend until
        they can be dispatched (DEN0054C 5.1.12.2, 5.1.3.1); those of an unregistered static
        event are dropped in `spec` (IMP DEF, 5.1.2.1) and the client's in `tfa`.
        """
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        ev = self._by_intid.get(intid)
        if ev is None:
            return False
        i = pe if ev.private else 0
        registered = ev.state[i] & _REGISTERED
        if (
            not registered
            and ev.number != 0
            and (ev.dynamic or not self._rules.static_interrupt_owned_unregistered)
        ):
            return False
        if registered or ev.number == 0:
            self._set_pending(ev, i, True)
        return True

    def raise_event(self, event: int, pe: int = 0) -> bool:
        """Firmware raises one of its own events (on `pe` if private). True if it was taken.

        Events with a static interrupt assert it. Events without one are explicit: `spec` keeps
        them pending like any other trigger; `tfa` dispatches only if the event could start on
        `pe` right now, with no pending state (TF-A sdei_dispatch_event).
        """
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        ev = self._events.get(event)
        if ev is None:
            raise ValueError(f"event {event:#x} is not defined by the platform")
        if ev.intid is not None:
            return self.interrupt_asserted(ev.intid, pe)
        i = pe if ev.private else 0
        if not ev.state[i] & _REGISTERED:
            return False
        if not self._rules.explicit_events_pend:
            self._set_pending(ev, i, True)
            if event not in self.deliverable(pe):
                self._set_pending(ev, i, False)
                return False
            return True
        self._set_pending(ev, i, True)
        return True

    def is_masked(self, pe: int) -> bool:
        return self._masked[pe]

    def handler_running(self, pe: int) -> bool:
        """A handler runs on `pe`: client interrupts cannot preempt it (DEN0054C 4.3.2.1; TF-A
        keeps the SDEI priority active until completion)."""
        return bool(self._stack[pe])

    def running(self, pe: int) -> tuple[int, ...]:
        """Events running on `pe`, outermost first."""
        return tuple(r.event.number for r in self._stack[pe])

    def pending(self, event: int, pe: int = 0) -> bool:
        ev = self._events[event]
        return ev.pending[pe if ev.private else 0]

    def has_pending(self) -> bool:
        return self._pending_count > 0

    def deliverable(self, pe: int) -> tuple[int, ...]:
        """Events that may start on `pe` now, all of one class: critical first (DEN0054C 5.2.1.2,
        4.3.2.1). Same-class order is IMP DEF, so the caller chooses among them."""
        if not self._pending_count or self._masked[pe] or not self._online[pe]:
            return ()
        stack = self._stack[pe]
        if stack and (len(stack) > 1 or stack[0].event.critical):
            return ()  # a critical handler runs to completion
        normal_allowed = not stack
        critical: list[int] = []
        normal: list[int] = []
        mpidr = self._mpidrs[pe]
        pending = self._pending_events
        for ev in sorted(pending, key=_number) if len(pending) > 1 else pending:
            if ev.private:
                if not ev.pending[pe] or ev.state[pe] != _ENABLED_IDLE:
                    continue
            else:
                if not ev.pending[0] or ev.state[0] != _ENABLED_IDLE:
                    continue
                if ev.flags[0] & 1 and ev.affinity[0] != mpidr:
                    continue
            if ev.critical:
                critical.append(ev.number)
            elif normal_allowed:
                normal.append(ev.number)
        return tuple(critical) if critical else tuple(normal)

    def wakes(self, pe: int) -> bool:
        """Would a pending event wake `pe` from a low-power state? Any enabled event pending
        for it does, masked or not (DEN0054C 6.5.2.2)."""
        if not self._pending_count or not self._online[pe]:
            return False  # nothing may power a core back on (DEN0054C 6.5.2.1)
        mpidr = self._mpidrs[pe]
        for ev in self._pending_events:
            i = pe if ev.private else 0
            if (
                ev.pending[i]
                and ev.state[i] & _ENABLED_IDLE == _ENABLED_IDLE
                and (ev.private or not ev.flags[0] & 1 or ev.affinity[0] == mpidr)
            ):
                return True
        return False

    def targets(self, event: int) -> tuple[int, ...]:
        """The PEs that could start this (shared) event now; the machine chooses among them."""
        return tuple(pe for pe in range(self._pes) if event in self.deliverable(pe))

    def dispatch(self, pe: int, event: int, interrupted: Interrupted) -> Entry | None:
        """Start `event`'s handler on `pe`, saving the interrupted context.

        Returns the entry state, or None when a relative-mode entry point resolves outside
        non-secure memory: the trigger is dropped and logged in `refused_entries`, because the
        dispatcher never enters an address it has not validated.
        """
        if event not in self.deliverable(pe):
            raise DispatchError(f"event {event:#x} cannot start on PE {pe} now")
        ev = self._events[event]
        i = pe if ev.private else 0
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        self._set_pending(ev, i, False)
        pc = ev.ep[i]
        if ev.flags[i] & 2:
            pc = (interrupted.vbar + pc) & MASK64
            if not self._entry_ok(pc):
                self.refused_entries.append((pe, event, pc))
                return None
        x = tuple(interrupted.x[:SAVED_REGISTERS])
        if len(x) < SAVED_REGISTERS:
            x = x + (0,) * (SAVED_REGISTERS - len(x))
        saved = Interrupted(
            interrupted.pc, interrupted.pstate, x, interrupted.vbar, interrupted.e2h_tge
        )
        ev.state[i] = _T_DISPATCH[ev.state[i]]
        self._touch(ev, i)
        if not ev.private:
            ev.runner = pe
        self._stack[pe].append(_Record(ev, saved))
        return Entry(
            event,
            pc,
            (event, ev.arg[i], interrupted.pc & MASK64, interrupted.pstate & MASK64),
            self._exception_pstate(interrupted),
            self._client_el,
            ev.critical,
        )

    def _exception_pstate(self, interrupted: Interrupted) -> int:
        """PSTATE as AArch64.TakeException to EL_C would set it (DEN0054C 5.2.1; TF-A
        create_spsr): EL_C with SP_ELx, DAIF set, NZCV and DIT kept, PAN set when SPAN=0."""
        old = interrupted.pstate
        pstate = mode_for(self._client_el) | PSTATE_DAIF | (old & (PSTATE_NZCV | PSTATE_DIT))
        if self.platform.feat_pan and (self._client_el == 1 or interrupted.e2h_tge):
            pstate |= PSTATE_PAN
        else:
            pstate |= old & PSTATE_PAN
        return pstate

    # Power management (DEN0054C 6.5).

    def power_on(self, pe: int) -> None:
        """CPU_ON / cold boot: the PE starts masked with no private registrations (6.5.1; TF-A
        sdei_cpu_on_init). TF-A leaves a stale dispatch stack; `spec` clears it."""
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        self._masked[pe] = True
        self._online[pe] = True
        for ev in self._private_events:
            if ev.dynamic and ev.intid is not None and ev.state[pe] & _REGISTERED:
                self._port.give_back(ev.intid, pe)  # the PE's GIC state is reset too
            ev.state[pe] = 0
            self._touch(ev, pe)
            self._set_pending(ev, pe, False)
            self._clear_registration(ev, pe)
        if self._rules.power_on_resets_dispatch_stack:
            self._stack[pe].clear()

    def power_off(self, pe: int) -> list[Exit]:
        """CPU_OFF (or SYSTEM_OFF/RESET seen from this PE). In `spec`, a call made inside a
        handler completes the running handlers first (6.5.4); returns those completions."""
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        completed: list[Exit] = []
        if self._rules.power_off_completes_handlers:
            while self._stack[pe]:
                record = self._finish(pe, _T_COMPLETE)
                if record is None:
                    break
                it = record.interrupted
                completed.append(
                    Exit("implicit", record.event.number, it.pc, it.pstate, it.x, None, None, 0)
                )
        self._online[pe] = False
        return completed

    def resume_from_powerdown(self, pe: int) -> None:
        """Wake from a power-down CPU_SUSPEND: registrations kept, PE masked (6.5.2.2)."""
        self.pe_generation[pe] += 1
        self.moved.add(pe)
        self._masked[pe] = True

    def system_reset(self) -> None:
        """SYSTEM_RESET: firmware back to its boot state."""
        for ev in self._event_list:
            if ev.dynamic and ev.intid is not None:
                for pe in range(self._pes if ev.private else 1):
                    self._port.give_back(ev.intid, pe)
        self._reset_state()

    # Views for tests, invariants and the CLI.

    def describe_state(self) -> dict[str, str]:
        """What a person needs to see of the firmware at one step (`sdei.trace.state`): each
        PE's mask and running events, each event's state where it is not idle-unregistered."""
        shown: dict[str, str] = {}
        for pe in range(self._pes):
            words = ["masked" if self._masked[pe] else "unmasked"]
            if not self._online[pe]:
                words.append("off")
            running = self.running(pe)
            if running:
                words.append("running " + " > ".join(f"{e:#x}" for e in running))
            shown[f"PE{pe}"] = ", ".join(words)
        for ev in self._event_list:
            for i in range(len(ev.state)):
                state = ev.state[i]
                if not state and not ev.pending[i]:
                    continue
                words = [
                    name
                    for bit, name in ((_REGISTERED, "registered"), (_ENABLED, "enabled"))
                    if state & bit
                ]
                if state & _RUNNING:
                    words.append(
                        "running" + (f" on PE{ev.runner}" if ev.runner is not None else "")
                    )
                if ev.pending[i]:
                    words.append("pending")
                if not ev.private and state & _REGISTERED:
                    words.append(
                        f"route PE {ev.affinity[0]:#x}" if ev.flags[0] & 1 else "route any"
                    )
                where = f" @PE{i}" if ev.private else ""
                shown[f"event {ev.number:#x}{where}"] = ", ".join(words) or "unregistered"
        return shown

    def event_numbers(self) -> tuple[int, ...]:
        return tuple(ev.number for ev in self._event_list)

    def registration(self, event: int, pe: int = 0) -> tuple[int, int, int, int]:
        """(entry point, argument, flags, affinity) as stored for `event` on `pe`."""
        ev = self._events[event]
        i = pe if ev.private else 0
        return ev.ep[i], ev.arg[i], ev.flags[i], ev.affinity[i]

    def state_bits(self, event: int, pe: int = 0) -> int:
        """The event's state on `pe` as EVENT_STATUS reports it: registered 1, enabled 2,
        running 4 (DEN0054C 5.1.5)."""
        ev = self._events[event]
        return ev.state[pe if ev.private else 0]

    def is_private(self, event: int) -> bool:
        return self._events[event].private

    def bound_interrupt(self, event: int) -> int | None:
        return self._events[event].intid

    def runner(self, event: int) -> int | None:
        return self._events[event].runner

    def saved_context(self, pe: int) -> Sequence[Interrupted]:
        return tuple(r.interrupted for r in self._stack[pe])

"""The conformance suite: cases written from DEN0054C (`sdei-spec.md` in the project's
references, cited per case), run against any `Target` at machine level - events really
dispatched to handlers on PEs, entries, contexts and exits checked, not only return codes.

A case names its rule and its expectation; where TF-A is documented to behave otherwise, the
case carries the `tfa` expectation too, and a target is judged by the profile it claims.
The permitted-call table (every call in every state of Table 14, for each kind of event, and
the dispatch column) is written out literally here from the reference text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from sdei.abi import Function
from sdei.conform.target import Target, TargetFailed
from sdei.firmware import Entry, Exit, Interrupted, Platform

# Return codes, literal from DEN0054C Table 6 (sdei-spec.md §1).
SUCCESS, NOT_SUPPORTED, INVALID_PARAMETERS, DENIED, PENDING = 0, -1, -2, -3, -5

# The reference platform (docs/conform.md): non-secure memory from 0x8000_0000.
EP, RESUME, ARG = 0x8000_0000, 0x8000_2000, 0xA5A5_0000_1234
EVENT0, RAS, CRITICAL_SHARED = 0, 0x4000_0010, 0x4000_0011
RAS_SPI, CRITICAL_SPI, EVENT0_SGI = 200, 201, 8
PPI, SPI = 20, 40
DAIF = 0x3C0

Kind = Literal["event0", "private-bound", "shared-static", "shared-bound"]
KINDS: tuple[Kind, ...] = ("event0", "private-bound", "shared-static", "shared-bound")
PRIVATE: frozenset[Kind] = frozenset({"event0", "private-bound"})
UNREGISTERED, REGISTERED, ENABLED = 0, 1, 3
UNREGISTER_PENDING, REGISTERED_RUNNING, ENABLED_RUNNING = 4, 5, 7
LIVE_STATES = (UNREGISTERED, UNREGISTER_PENDING, REGISTERED, REGISTERED_RUNNING, ENABLED,
               ENABLED_RUNNING)  # fmt: skip
STATE_NAMES = {
    0: "unregistered",
    4: "unregister-pending",
    1: "registered",
    5: "registered+running",
    3: "enabled",
    7: "enabled+running",
}

# DEN0054C Table 14 (sdei-spec.md §3.2-3.3), written out literally (it is NOT derived from
# sdei.firmware.states; tests/firmware checks that table against this one): per state, each
# call's next state, "ok" (permitted, unchanged) or "X" (refused: DENIED; UNREGISTER in state 4
# answers PENDING). The last column is the dispatch of the event.
CALLS = ("REGISTER", "RELEASE", "ENABLE", "DISABLE", "UNREGISTER", "ROUTING_SET", "CONTEXT",
         "COMPLETE", "COMPLETE_AND_RESUME")  # fmt: skip
TABLE: dict[int, tuple[int | str, ...]] = {
    #   REGISTER RELEASE ENABLE DISABLE UNREGISTER ROUTING CONTEXT COMPLETE C&R  DISPATCH
    0: (1, "ok", "X", "X", "X", "X", "X", "X", "X", "X"),
    4: ("X", "X", "X", "X", "X", "X", "ok", 0, 0, "X"),
    1: ("X", "X", 3, "ok", 0, "ok", "X", "X", "X", "X"),
    5: ("X", "X", 7, "ok", 4, "X", "ok", 1, 1, "X"),
    3: ("X", "X", "ok", 1, 0, "X", "X", "X", "X", 7),
    7: ("X", "X", "ok", 5, 4, "X", "ok", 3, 3, "X"),
    # (0,1,0) and (0,1,1) never occur: every action is refused.
    2: ("X",) * 10,
    6: ("X",) * 10,
}
FUNCTIONS = {
    "REGISTER": Function.EVENT_REGISTER,
    "RELEASE": Function.INTERRUPT_RELEASE,
    "ENABLE": Function.EVENT_ENABLE,
    "DISABLE": Function.EVENT_DISABLE,
    "UNREGISTER": Function.EVENT_UNREGISTER,
    "ROUTING_SET": Function.EVENT_ROUTING_SET,
    "CONTEXT": Function.EVENT_CONTEXT,
    "COMPLETE": Function.EVENT_COMPLETE,
    "COMPLETE_AND_RESUME": Function.EVENT_COMPLETE_AND_RESUME,
}


class CaseFailed(Exception):
    """What a target did that its rule does not allow (one line)."""


def _shown(value: object) -> str:
    return hex(value) if isinstance(value, int) and value > 9 else repr(value)


def expect(what: str, got: object, want: object) -> None:
    if got != want:
        raise CaseFailed(f"{what}: got {_shown(got)}, expected {_shown(want)}")


def context(seed: int = 0) -> Interrupted:
    """An interrupted client context with recognisable x0-x17 (EL1h, NZCV set)."""
    return Interrupted(
        0xFFFF_0000_0040_1000 + 0x10 * seed,
        0x6000_0005,
        tuple(0x1000 * (seed + 1) + i for i in range(18)),
    )


class Rig:
    """A target and the harness's side of the machine: triggers, dispatch, completion."""

    def __init__(self, target: Target) -> None:
        self.t = target
        self.mpidrs = list(Platform.reference(pes=target.pes).mpidrs)  # docs/conform.md

    def call(self, pe: int, function: int, *args: int) -> int:
        return self.t.call(pe, function, *args)

    def status(self, event: int, pe: int = 0) -> int:
        return self.call(pe, Function.EVENT_STATUS, event)

    def register(self, event: int, pe: int = 0, *, flags: int = 0, affinity: int = 0) -> int:
        return self.call(pe, Function.EVENT_REGISTER, event, EP, ARG, flags, affinity)

    def enable(self, event: int, pe: int = 0) -> int:
        return self.call(pe, Function.EVENT_ENABLE, event)

    def unmask(self, pe: int = 0) -> int:
        return self.call(pe, Function.PE_UNMASK)

    def bind(self, intid: int, pe: int = 0) -> int:
        return self.call(pe, Function.INTERRUPT_BIND, intid)

    def trigger(self, event: int, pe: int, intid: int | None) -> None:
        if intid is None:
            self.t.raise_event(event, pe)
        else:
            self.t.interrupt_asserted(intid, pe)

    def run(self, event: int, pe: int, intid: int | None, interrupted: Interrupted) -> Entry:
        self.trigger(event, pe, intid)
        if event not in self.t.deliverable(pe):
            raise CaseFailed(f"event {event:#x} not deliverable on PE{pe} after its trigger")
        entry = self.t.dispatch(pe, event, interrupted)
        if entry is None:
            raise CaseFailed(f"event {event:#x} was offered on PE{pe} but did not start")
        return entry

    def finish(self, pe: int = 0) -> Exit:
        expect("COMPLETE", self.call(pe, Function.EVENT_COMPLETE, 0), SUCCESS)
        exit_ = self.t.pop_exit(pe)
        if exit_ is None:
            raise CaseFailed("COMPLETE succeeded but the target gave no exit")
        return exit_

    def event_of(self, kind: Kind) -> tuple[int, int | None]:
        """(event number, the interrupt that triggers it) for a kind, binding if needed."""
        if kind == "event0":
            return EVENT0, EVENT0_SGI
        if kind == "shared-static":
            return RAS, RAS_SPI
        intid = PPI if kind == "private-bound" else SPI
        number = self.bind(intid)
        if number < 0:
            raise CaseFailed(f"INTERRUPT_BIND({intid}) = {number}")
        return number, intid

    def drive(self, kind: Kind, state: int, pe: int = 0) -> tuple[int, int | None]:
        """Bring an event of `kind` into `state` with real calls and a real dispatch."""
        event, intid = self.event_of(kind)
        if state == UNREGISTERED:
            return event, intid
        expect("REGISTER", self.register(event, pe), SUCCESS)
        if state == REGISTERED:
            return event, intid
        expect("ENABLE", self.enable(event, pe), SUCCESS)
        if state == ENABLED:
            return event, intid
        self.unmask(pe)
        self.run(event, pe, intid, context())
        if state == REGISTERED_RUNNING:
            expect("DISABLE", self.call(pe, Function.EVENT_DISABLE, event), SUCCESS)
        elif state == UNREGISTER_PENDING:
            expect("UNREGISTER", self.call(pe, Function.EVENT_UNREGISTER, event), PENDING)
        expect("EVENT_STATUS", self.status(event, pe), state)
        return event, intid


Check = Callable[[Rig], None]


@dataclass(frozen=True)
class Case:
    id: str
    rule: str  # the spec's section (and sdei-spec.md's), what the case holds the target to
    title: str
    check: Check
    profiles: tuple[str, ...] = ("spec", "tfa")  # the profiles the expectation is for


@dataclass(frozen=True)
class Result:
    case: Case
    status: Literal["pass", "fail", "skip"]
    message: str = ""


def run_case(case: Case, target: Target) -> Result:
    if target.profile not in case.profiles:
        return Result(case, "skip", f"for the {'/'.join(case.profiles)} profile")
    target.reset()
    try:
        case.check(Rig(target))
    except CaseFailed as failure:
        return Result(case, "fail", str(failure))
    except TargetFailed as failure:
        return Result(case, "fail", f"the target failed: {failure}")  # conform_cmd.FAILED
    return Result(case, "pass")


# ------------------------------------------------------------------ Table 14, cell by cell


def _table_case(kind: Kind, state: int, call: str) -> Case:
    def check(rig: Rig) -> None:
        event, _ = rig.drive(kind, state)
        args = {
            "REGISTER": (event, EP + 0x4000, 7, 0, 0),
            "RELEASE": (event,),
            "ENABLE": (event,),
            "DISABLE": (event,),
            "UNREGISTER": (event,),
            "ROUTING_SET": (event, 1, rig.mpidrs[1]),
            "CONTEXT": (3,),
            "COMPLETE": (0,),
            "COMPLETE_AND_RESUME": (RESUME,),
        }[call]
        code, after = _expected(kind, state, call)
        expect(f"{call} in state {STATE_NAMES[state]}", rig.call(0, FUNCTIONS[call], *args), code)
        expect("EVENT_STATUS afterwards", rig.status(event, 0), after)
        other = 0 if kind in PRIVATE else after  # another PE: its own copy, or the same one
        expect("EVENT_STATUS on PE1", rig.status(event, 1), other)

    return Case(
        f"table/{kind}/{STATE_NAMES[state]}/{call}",
        "DEN0054C 6.1 Table 14 (sdei-spec.md §3.2-3.3)",
        f"{call} of a {kind} event in state {STATE_NAMES[state]}",
        check,
    )


def _expected(kind: Kind, state: int, call: str) -> tuple[int, int]:
    """(return code, EVENT_STATUS after): the table, after the argument checks that come first
    (RELEASE of a static event and ROUTING_SET of a private one: INVALID_PARAMETERS)."""
    if call == "RELEASE" and kind in ("event0", "shared-static"):
        return INVALID_PARAMETERS, state
    if call == "ROUTING_SET" and kind in PRIVATE:
        return INVALID_PARAMETERS, state
    cell = TABLE[state][CALLS.index(call)]
    if cell == "X":
        return (PENDING if call == "UNREGISTER" and state == 4 else DENIED), state
    after = state if cell == "ok" else int(cell)
    if call == "UNREGISTER" and after == 4:
        return PENDING, after
    if call == "CONTEXT":
        return context().x[3], after
    return SUCCESS, after


def _dispatch_case(kind: Kind, state: int) -> Case:
    def check(rig: Rig) -> None:
        event, intid = rig.drive(kind, state)
        rig.unmask(0)
        rig.trigger(event, 0, intid)
        offered = event in rig.t.deliverable(0)
        expect(f"event offered for dispatch in state {STATE_NAMES[state]}", offered, state == 3)
        if offered:
            if rig.t.dispatch(0, event, context(1)) is None:
                raise CaseFailed("offered but did not start")
            expect("EVENT_STATUS after dispatch", rig.status(event), ENABLED_RUNNING)

    return Case(
        f"dispatch/{kind}/{STATE_NAMES[state]}",
        "DEN0054C 6.1 Table 14, 5.2.1.2 (sdei-spec.md §3.3, §5.1)",
        f"only an enabled, not running {kind} event starts",
        check,
    )


# ------------------------------------------------------------------ dispatch and completion


def _ready(rig: Rig, pe: int = 0) -> None:
    expect("REGISTER(0)", rig.register(EVENT0, pe), SUCCESS)
    expect("ENABLE(0)", rig.enable(EVENT0, pe), SUCCESS)
    expect("PE_UNMASK", rig.unmask(pe), SUCCESS)


def check_entry(rig: Rig) -> None:
    _ready(rig)
    c = context(2)
    entry = rig.run(EVENT0, 0, EVENT0_SGI, c)
    expect("handler PC", entry.pc, EP)
    expect("x0 (event)", entry.x[0], EVENT0)
    expect("x1 (argument)", entry.x[1], ARG)
    expect("x2 (interrupted PC)", entry.x[2], c.pc)
    expect("x3 (interrupted PSTATE)", entry.x[3], c.pstate)
    expect("PSTATE.DAIF", entry.pstate & DAIF, DAIF)
    expect("EL", entry.el, 1)
    expect("PSTATE.M (EL1h)", entry.pstate & 0xF, 0x5)


def check_context(rig: Rig) -> None:
    _ready(rig)
    c = context(3)
    rig.run(EVENT0, 0, EVENT0_SGI, c)
    for i in range(18):
        expect(f"EVENT_CONTEXT({i})", rig.call(0, Function.EVENT_CONTEXT, i), c.x[i])
    expect("EVENT_CONTEXT(18)", rig.call(0, Function.EVENT_CONTEXT, 18), INVALID_PARAMETERS)


def check_complete(rig: Rig) -> None:
    _ready(rig)
    c = context(4)
    rig.run(EVENT0, 0, EVENT0_SGI, c)
    exit_ = rig.finish()
    expect("exit kind", exit_.kind, "complete")
    expect("resumed PC", exit_.pc, c.pc)
    expect("resumed PSTATE", exit_.pstate, c.pstate)
    expect("restored x0-x17", tuple(exit_.x[:18]), c.x)
    expect("EVENT_STATUS after", rig.status(EVENT0), ENABLED)


def check_resume(rig: Rig) -> None:
    _ready(rig)
    c = context(5)
    rig.run(EVENT0, 0, EVENT0_SGI, c)
    expect("COMPLETE_AND_RESUME", rig.call(0, Function.EVENT_COMPLETE_AND_RESUME, RESUME), 0)
    exit_ = rig.t.pop_exit(0)
    if exit_ is None:
        raise CaseFailed("COMPLETE_AND_RESUME succeeded but the target gave no exit")
    expect("exit kind", exit_.kind, "resume")
    expect("PC (the resume address)", exit_.pc, RESUME)
    expect("ELR_ELC (the interrupted PC)", exit_.elr, c.pc)
    expect("SPSR_ELC (the interrupted PSTATE)", exit_.spsr, c.pstate)
    expect("PSTATE.DAIF", exit_.pstate & DAIF, DAIF)
    expect("restored x0-x17", tuple(exit_.x[:18]), c.x)


def check_masked(rig: Rig) -> None:
    expect("REGISTER(0)", rig.register(EVENT0), SUCCESS)
    expect("ENABLE(0)", rig.enable(EVENT0), SUCCESS)
    rig.trigger(EVENT0, 0, EVENT0_SGI)  # every PE starts masked
    expect("offered on a masked PE", EVENT0 in rig.t.deliverable(0), False)
    expect("PE_UNMASK", rig.unmask(0), SUCCESS)
    expect("offered once unmasked", EVENT0 in rig.t.deliverable(0), True)


def check_pe_mask_result(rig: Rig) -> None:
    expect("PE_MASK on a masked PE", rig.call(0, Function.PE_MASK), 0)
    expect("PE_UNMASK", rig.unmask(0), SUCCESS)
    expect("PE_MASK on an unmasked PE", rig.call(0, Function.PE_MASK), 1)


def check_critical_preempts(rig: Rig) -> None:
    _ready(rig)
    for event in (RAS, CRITICAL_SHARED):
        expect(f"REGISTER({event:#x})", rig.register(event), SUCCESS)
        expect(f"ENABLE({event:#x})", rig.enable(event), SUCCESS)
    rig.run(RAS, 0, RAS_SPI, context(6))
    rig.trigger(EVENT0, 0, EVENT0_SGI)
    expect("normal event offered during a normal handler", EVENT0 in rig.t.deliverable(0), False)
    entry = rig.run(CRITICAL_SHARED, 0, CRITICAL_SPI, context(7))
    expect("critical entry", entry.critical, True)
    rig.finish()  # the critical handler
    expect("normal offered during the normal handler", EVENT0 in rig.t.deliverable(0), False)
    rig.finish()  # the normal one
    expect("normal offered once it completed", EVENT0 in rig.t.deliverable(0), True)


def check_routing(rig: Rig) -> None:
    flags = 1  # RM_PE
    expect("REGISTER(RAS, RM_PE PE1)", rig.register(RAS, flags=flags, affinity=rig.mpidrs[1]), 0)
    expect("ENABLE(RAS)", rig.enable(RAS), SUCCESS)
    for pe in (0, 1):
        rig.unmask(pe)
    rig.trigger(RAS, 0, RAS_SPI)
    expect("offered on PE0", RAS in rig.t.deliverable(0), False)
    expect("offered on PE1", RAS in rig.t.deliverable(1), True)


def check_signal(rig: Rig) -> None:
    _ready(rig, pe=1)
    expect("EVENT_SIGNAL(0, PE1)", rig.call(0, Function.EVENT_SIGNAL, 0, rig.mpidrs[1]), 0)
    expect("event 0 offered on PE1", EVENT0 in rig.t.deliverable(1), True)
    expect("event 0 offered on PE0", EVENT0 in rig.t.deliverable(0), False)


def check_signal_unready(rig: Rig, want: int) -> None:
    code = rig.call(0, Function.EVENT_SIGNAL, 0, rig.mpidrs[1])  # PE1: masked, unregistered
    expect("EVENT_SIGNAL to a PE that has not registered event 0", code, want)


def check_unregister_running(rig: Rig) -> None:
    _ready(rig)
    rig.run(EVENT0, 0, EVENT0_SGI, context())
    expect("UNREGISTER while running", rig.call(0, Function.EVENT_UNREGISTER, 0), PENDING)
    expect("EVENT_STATUS", rig.status(EVENT0), UNREGISTER_PENDING)
    expect("UNREGISTER again", rig.call(0, Function.EVENT_UNREGISTER, 0), PENDING)
    rig.finish()
    expect("EVENT_STATUS after completion", rig.status(EVENT0), UNREGISTERED)


def check_version(rig: Rig) -> None:
    version = rig.call(0, Function.VERSION)
    expect("VERSION is non-negative", version >= 0, True)
    expect("VERSION major >= 1", (version >> 48) & 0x7FFF >= 1, True)


def check_unknown_function(rig: Rig) -> None:
    expect("an SDEI function id SDEI does not define", rig.call(0, 0xC400_003F), NOT_SUPPORTED)


def check_features(rig: Rig, relative: set[int]) -> None:
    slots = rig.call(0, Function.FEATURES, 0)
    expect("FEATURES(BIND_SLOTS) bits[63:32]", slots >> 32, 0)
    expect("FEATURES(1) RELATIVE_MODE", rig.call(0, Function.FEATURES, 1) in relative, True)
    expect("FEATURES(2)", rig.call(0, Function.FEATURES, 2), INVALID_PARAMETERS)


def check_power_on_masks(rig: Rig) -> None:
    _ready(rig, pe=1)
    rig.t.power_off(1)
    rig.t.power_on(1)
    expect("PE_MASK on PE1 after power-on (already masked)", rig.call(1, Function.PE_MASK), 0)


def check_bind_same_number(rig: Rig) -> None:
    first = rig.bind(SPI)
    expect("INTERRUPT_BIND succeeds", first >= 0, True)
    expect("binding the same interrupt again", rig.bind(SPI), first)
    expect("INTERRUPT_BIND of an SGI", rig.bind(EVENT0_SGI - 1), INVALID_PARAMETERS)


def check_register_arguments(rig: Rig) -> None:
    call = Function.EVENT_REGISTER
    expect("REGISTER of an unknown event", rig.call(0, call, 0x7FFF_FFFF, EP, 0, 0, 0),
           INVALID_PARAMETERS)  # fmt: skip
    expect("REGISTER with entry point 0", rig.call(0, call, EVENT0, 0, 0, 0, 0),
           INVALID_PARAMETERS)  # fmt: skip
    expect("REGISTER of a shared event, RM_PE to no PE",
           rig.call(0, call, RAS, EP, 0, 1, 0xFF_0000), INVALID_PARAMETERS)  # fmt: skip
    expect("REGISTER with reserved flag bits", rig.call(0, call, RAS, EP, 0, 4, 0),
           INVALID_PARAMETERS)  # fmt: skip
    expect("EVENT_STATUS after refused REGISTERs", rig.status(RAS), UNREGISTERED)
    expect("REGISTER", rig.register(RAS), SUCCESS)
    expect("REGISTER again", rig.register(RAS), DENIED)


def check_unknown_event(rig: Rig) -> None:
    for name, function in (("ENABLE", Function.EVENT_ENABLE), ("DISABLE",
                           Function.EVENT_DISABLE), ("UNREGISTER", Function.EVENT_UNREGISTER),
                           ("STATUS", Function.EVENT_STATUS)):  # fmt: skip
        expect(f"{name} of an unknown event", rig.call(0, function, 0x7FFF_FFFF),
               INVALID_PARAMETERS)  # fmt: skip


def check_get_info(rig: Rig) -> None:
    info = Function.EVENT_GET_INFO
    expect("GET_INFO(0, EV_TYPE)", rig.call(0, info, EVENT0, 0), 0)
    expect("GET_INFO(RAS, EV_TYPE)", rig.call(0, info, RAS, 0), 1)
    expect("GET_INFO(0, EV_SIGNALED): 0 = can be signalled", rig.call(0, info, EVENT0, 1), 0)
    expect("GET_INFO(RAS, EV_SIGNALED)", rig.call(0, info, RAS, 1), 1)
    expect("GET_INFO(RAS, EV_PRIORITY)", rig.call(0, info, RAS, 2), 0)
    expect("GET_INFO(CRITICAL_SHARED, EV_PRIORITY)", rig.call(0, info, CRITICAL_SHARED, 2), 1)
    expect("GET_INFO(0, EV_ROUTING_MODE) of a private event", rig.call(0, info, EVENT0, 3),
           INVALID_PARAMETERS)  # fmt: skip
    expect("GET_INFO(RAS, EV_ROUTING_MODE) unregistered", rig.call(0, info, RAS, 3), DENIED)
    expect("REGISTER(RAS, RM_PE PE1)", rig.register(RAS, flags=1, affinity=rig.mpidrs[1]), 0)
    expect("GET_INFO(RAS, EV_ROUTING_MODE)", rig.call(0, info, RAS, 3), 1)
    expect("GET_INFO(RAS, EV_ROUTING_AFF)", rig.call(0, info, RAS, 4), rig.mpidrs[1])
    expect("GET_INFO(RAS, 5)", rig.call(0, info, RAS, 5), INVALID_PARAMETERS)


def check_private_reset(rig: Rig) -> None:
    _ready(rig)
    rig.run(EVENT0, 0, EVENT0_SGI, context())
    expect("PRIVATE_RESET with a handler running", rig.call(0, Function.PRIVATE_RESET), DENIED)
    expect("EVENT_STATUS", rig.status(EVENT0), UNREGISTER_PENDING)
    rig.finish()
    expect("EVENT_STATUS after completion", rig.status(EVENT0), UNREGISTERED)
    expect("REGISTER(0) on PE1", rig.register(EVENT0, 1), SUCCESS)
    expect("PRIVATE_RESET on PE1", rig.call(1, Function.PRIVATE_RESET), SUCCESS)
    expect("EVENT_STATUS on PE1", rig.status(EVENT0, 1), UNREGISTERED)


def check_shared_reset(rig: Rig) -> None:
    expect("REGISTER(RAS)", rig.register(RAS), SUCCESS)
    bound = rig.bind(SPI)
    expect("INTERRUPT_BIND", bound >= 0, True)
    expect("SHARED_RESET", rig.call(0, Function.SHARED_RESET), SUCCESS)
    expect("EVENT_STATUS(RAS)", rig.status(RAS), UNREGISTERED)
    expect("INTERRUPT_RELEASE of the released binding (not bound)",
           rig.call(0, Function.INTERRUPT_RELEASE, bound), INVALID_PARAMETERS)  # fmt: skip


def check_bind_slots(rig: Rig) -> None:
    slots = rig.call(0, Function.FEATURES, 0)
    shared, private = slots >> 16 & 0xFFFF, slots & 0xFFFF
    numbers = {rig.bind(SPI + n) for n in range(shared)}
    expect(f"{shared} shared bindings, distinct events", len(numbers), shared)
    expect("one more shared binding", rig.bind(SPI + shared), -10)  # OUT_OF_RESOURCE
    numbers = {rig.bind(PPI + n) for n in range(private)}
    expect(f"{private} private bindings, distinct events", len(numbers), private)
    first = min(numbers)
    expect("RELEASE of an unregistered binding", rig.call(0, Function.INTERRUPT_RELEASE,
           first), SUCCESS)  # fmt: skip
    expect("binding again once one is released", rig.bind(PPI + private) >= 0, True)


def check_shared_once(rig: Rig) -> None:
    expect("REGISTER(RAS)", rig.register(RAS), SUCCESS)
    expect("ENABLE(RAS)", rig.enable(RAS), SUCCESS)
    for pe in (0, 1):
        rig.unmask(pe)
    rig.run(RAS, 0, RAS_SPI, context())
    rig.trigger(RAS, 0, RAS_SPI)
    expect("RAS offered on PE1 while it runs on PE0", RAS in rig.t.deliverable(1), False)
    rig.finish()
    offered = RAS in rig.t.deliverable(0) or RAS in rig.t.deliverable(1)
    expect("the second trigger offered once the first completed", offered, True)


def cases() -> Iterator[Case]:
    for kind in KINDS:
        for state in LIVE_STATES:
            for call in CALLS:
                yield _table_case(kind, state, call)
            yield _dispatch_case(kind, state)
    yield from (
        Case("entry/registers", "DEN0054C 5.2.1 Table 5 (sdei-spec.md §5.2)",
             "handler entry: PC, x0-x3, DAIF masked, EL_C in handler mode", check_entry),
        Case("entry/context", "DEN0054C 5.1.5 (sdei-spec.md §2.5, §5.3)",
             "EVENT_CONTEXT returns x0-x17 as interrupted", check_context),
        Case("exit/complete", "DEN0054C 5.1.6 (sdei-spec.md §5.4)",
             "COMPLETE resumes the interrupted context exactly", check_complete),
        Case("exit/complete-and-resume", "DEN0054C 5.1.7, 5.2.2 (sdei-spec.md §2.7, §5.4)",
             "COMPLETE_AND_RESUME enters the resume address with ELR/SPSR of the interrupted "
             "context", check_resume),
        Case("mask/pending", "DEN0054C 5.1.12.2-3 (sdei-spec.md §2.12, §5.7)",
             "a masked PE takes nothing; the event waits for PE_UNMASK", check_masked),
        Case("mask/result", "DEN0054C 5.1.12 (sdei-spec.md §2.12)",
             "PE_MASK returns 1 when it masked the PE, 0 when it was masked", check_pe_mask_result),
        Case("priority/critical-over-normal", "DEN0054C 4.3.2.1-2 (sdei-spec.md §5.1)",
             "critical preempts a normal handler; normal waits for both", check_critical_preempts),
        Case("routing/rm-pe", "DEN0054C 5.1.2, 5.2.1.2 (sdei-spec.md §5.1 rule 3)",
             "a shared RM_PE event is offered on its PE only", check_routing),
        Case("signal/other-pe", "DEN0054C 5.1.16 (sdei-spec.md §2.16)",
             "EVENT_SIGNAL makes event 0 pending on the target PE", check_signal),
        Case("signal/unready-target", "DEN0054C 5.1.16 (sdei-spec.md §2.16)",
             "a signal to a PE that has not registered event 0 still succeeds (pending)",
             lambda rig: check_signal_unready(rig, SUCCESS), ("spec",)),
        Case("signal/unready-target-tfa", "TF-A b142ede74 (sdei-spec.md §2.16, §7)",
             "TF-A refuses a signal to a masked or unregistered target",
             lambda rig: check_signal_unready(rig, INVALID_PARAMETERS), ("tfa",)),
        Case("unregister/running", "DEN0054C 5.1.8, 6.7 (sdei-spec.md §5.5)",
             "UNREGISTER of a running event: PENDING until it completes", check_unregister_running),
        Case("abi/version", "DEN0054C 5.1.1 (sdei-spec.md §2.1)",
             "VERSION: major 1 or later", check_version),
        Case("abi/unknown-function", "DEN0054C 5.1 (sdei-spec.md §1)",
             "a function id SDEI does not define: NOT_SUPPORTED", check_unknown_function),
        Case("abi/features", "DEN0054C 5.1.17 (sdei-spec.md §2.17)",
             "FEATURES: bind slots, RELATIVE_MODE 0 or 1, others INVALID_PARAMETERS",
             lambda rig: check_features(rig, {0, 1}), ("spec",)),
        Case("abi/features-tfa", "TF-A sdei_main.c (sdei-spec.md §2.17)",
             "TF-A: FEATURES(1) is INVALID_PARAMETERS (v1.0 behaviour)",
             lambda rig: check_features(rig, {INVALID_PARAMETERS}), ("tfa",)),
        Case("power/on-masks", "DEN0054C 6.5.1 (sdei-spec.md §5.8)",
             "a PE powered on starts masked", check_power_on_masks),
        Case("bind/same-interrupt", "DEN0054C 5.1.14 (sdei-spec.md §2.14)",
             "binding a bound interrupt again gives the same event; an SGI cannot be bound",
             check_bind_same_number),
        Case("bind/slots", "DEN0054C 5.1.14, 5.1.15, 5.1.17 (sdei-spec.md §2.14-2.15, §4.6)",
             "as many bindings as FEATURES reports, then OUT_OF_RESOURCE; RELEASE frees one",
             check_bind_slots),
        Case("args/register", "DEN0054C 5.1.2.3 (sdei-spec.md §2.2)",
             "REGISTER refuses unknown events, a null entry point, RM_PE to no PE, reserved "
             "flags, and a second registration", check_register_arguments),
        Case("args/unknown-event", "DEN0054C 5.1.3-5.1.9 (sdei-spec.md §2.3-2.9)",
             "calls on an event the platform does not have: INVALID_PARAMETERS",
             check_unknown_event),
        Case("info/get-info", "DEN0054C 5.1.10 (sdei-spec.md §2.10)",
             "EVENT_GET_INFO: type, signalled (0 = can be), priority, routing mode and "
             "affinity of a registered shared event", check_get_info),
        Case("reset/private", "DEN0054C 5.1.18 (sdei-spec.md §2.18)",
             "PRIVATE_RESET: DENIED with a handler running (which becomes unregister-pending), "
             "else every private event of the PE unregistered", check_private_reset),
        Case("reset/shared", "DEN0054C 5.1.19 (sdei-spec.md §2.19)",
             "SHARED_RESET unregisters shared events and releases bindings", check_shared_reset),
        Case("dispatch/shared-once", "DEN0054C 6.2.1 (sdei-spec.md §5.1)",
             "one instance of a shared event at a time in the system", check_shared_once),
    )  # fmt: skip

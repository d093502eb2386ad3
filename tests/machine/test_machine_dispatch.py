"""Event dispatch on the simulated machine (DEN0054C 5.1-5.2; tftf test_sdei.c, test_sdei_state.c,
test_sdei_rm_any.c): where handlers run, what they are handed, nesting, pending, unregister,
COMPLETE_AND_RESUME and the hypervisor conduit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from helpers import (
    EVENT_0,
    PLATFORM_CRITICAL,
    PLATFORM_CRITICAL_SPI,
    RAS,
    RAS_SPI,
    RM_ANY,
    RM_PE,
    WATCHDOG,
    HandlerLog,
    Kernel,
    make_machine,
    run_ok,
)

from sdei.abi import (
    MODE_EL1H,
    PSTATE_DAIF,
    PSTATE_M_MASK,
    PSTATE_NZCV,
    PSTATE_PAN,
    Function,
    Status,
    encode_version,
)
from sdei.abi import Version as SdeiVersion
from sdei.machine import (
    PE,
    AssertInterrupt,
    Hvc,
    Kind,
    Local,
    Psci,
    PsciStatus,
    RaiseEvent,
    Smc,
    WaitUntil,
)
from sdei.machine.contexts import Code

F = Function
ARG = 0xA5A5_0000_1234_5678


def _distinctive(pe: PE, n: int) -> None:
    """Give the PE registers and flags no other step has: x0-x17 and NZCV change every step."""
    pe.x[:18] = [0x1_0000 * n + r for r in range(18)]
    pe.pstate = (pe.pstate & ~PSTATE_NZCV) | ((n % 16) << 28)


# ---------------------------------------------------------------------------- signal and entry


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4, 5])
def test_signalled_event_runs_on_target_with_entry_registers(seed: int | None) -> None:
    """Event 0 signalled from PE0 runs on PE1 with x0 = event, x1 = ep argument, x2/x3 = the
    interrupted PC/PSTATE; EVENT_CONTEXT(0..3) gives the interrupted x0-x3; x4-x17 are left as
    interrupted; COMPLETE restores the interrupted context exactly (DEN0054C 5.2.1 Table 5)."""
    m = make_machine()
    k = Kernel(m).load()
    log = HandlerLog(m)
    ready: list[bool] = []
    trail: list[tuple[int, int, int]] = []  # (step, pc, pstate) of the target after its steps

    def target(pe: PE) -> Code:
        yield from k.register(EVENT_0, arg=ARG)
        yield from k.unmask()
        ready.append(True)
        n = 0
        while not k.handled and n < 500:
            n += 1
            _distinctive(pe, n)
            trail.append((m.step_count, pe.pc, pe.pstate))
            yield Local("spin")
            trail.append((m.step_count, pe.pc, pe.pstate))

    def signaller(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(ready))
        result = yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)
        assert result == 0

    m.spawn(1, target)
    m.spawn(0, signaller)
    run_ok(m, seed=seed)

    assert [(e.pe, e.event) for e in log.entries] == [(1, EVENT_0)]
    entry = log.entries[0]
    assert entry.kind is Kind.SDEI and not entry.critical
    interrupted = entry.interrupted
    assert entry.x == (EVENT_0, ARG, interrupted.pc, interrupted.pstate)
    # The target's own view of its PC/PSTATE just before the event agrees.
    _, pc, pstate = [t for t in trail if t[0] < entry.step][-1]
    assert (pc, pstate) == (interrupted.pc, interrupted.pstate)
    assert entry.pc == k.address()
    # Handler PSTATE: EL1h, DAIF set, NZCV kept, PAN set (TakeException, DEN0054C 5.2.1).
    assert entry.pstate & PSTATE_M_MASK == MODE_EL1H
    assert entry.pstate & PSTATE_DAIF == PSTATE_DAIF
    assert entry.pstate & PSTATE_NZCV == interrupted.pstate & PSTATE_NZCV
    assert entry.pstate & PSTATE_PAN
    [handled] = k.handled
    assert handled.pe == 1
    assert handled.x[:4] == entry.x
    assert handled.x[4:] == interrupted.x[4:]  # x4-x17 as interrupted
    assert handled.context == interrupted.x[:4]  # EVENT_CONTEXT(0..3)
    [done] = log.completions
    assert done.kind == "complete" and done.event == EVENT_0
    assert done.after == interrupted  # pc, pstate, x0-x17 restored exactly


def test_event_context_outside_a_handler_and_bad_param() -> None:
    """EVENT_CONTEXT: bad param_id -2 before the running check, -3 outside a handler, and -2
    for param 18 inside one (DEN0054C 5.1.5; ACS 025/027)."""
    m = make_machine(1)
    k = Kernel(m)
    seen: list[int] = []

    def handler(pe: PE) -> Code:
        seen.append((yield Smc(F.EVENT_CONTEXT, 18)))
        seen.append((yield Smc(F.EVENT_CONTEXT, 17)))
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("probe_handler", 0x2000, handler)
    k.load()

    def thread(pe: PE) -> Code:
        assert (yield Smc(F.EVENT_CONTEXT, 0)) == Status.DENIED
        assert (yield Smc(F.EVENT_CONTEXT, 100)) == Status.INVALID_PARAMETERS
        pe.x[17] = 0x1717
        yield from k.register(EVENT_0, symbol="probe_handler")
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: len(seen) == 2)

    m.spawn(0, thread)
    run_ok(m)
    assert seen == [Status.INVALID_PARAMETERS, 0x1717]


# ---------------------------------------------------------------------------- nesting


def _critical_nesting(profile: str, trigger: str, seed: int | None) -> None:
    m = make_machine(profile=profile)
    k = Kernel(m)
    log = HandlerLog(m)
    order: list[str] = []
    running_in_critical: list[tuple[int, ...]] = []
    ready: list[bool] = []
    critical_event = WATCHDOG if trigger == "explicit" else PLATFORM_CRITICAL

    def normal_handler(pe: PE) -> Code:
        order.append("normal-start")
        pe.x[4:18] = [0xAAAA_0000 + r for r in range(4, 18)]  # the handler may clobber them
        pe.pstate |= 0x8000_0000  # and PSTATE's N flag
        if trigger == "explicit":
            taken = yield RaiseEvent(WATCHDOG, pe.index)
            assert taken is True
        else:
            assert (yield AssertInterrupt(PLATFORM_CRITICAL_SPI)) is True
        yield WaitUntil(lambda: "critical-end" in order, label="critical done")
        order.append("normal-end")
        yield Smc(F.EVENT_COMPLETE, 0)

    def critical_handler(pe: PE) -> Code:
        order.append("critical-start")
        running_in_critical.append(m.firmware.running(pe.index))
        pe.x[:18] = [0xDEAD_0000 + r for r in range(18)]
        pe.pstate ^= 0x4000_0000
        yield Local("critical work")
        order.append("critical-end")
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("normal_handler", 0x2000, normal_handler)
    k.add("critical_handler", 0x3000, critical_handler)
    k.load()

    def target(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="normal_handler")
        if trigger == "explicit":
            yield from k.register(WATCHDOG, symbol="critical_handler")
        else:  # shared critical, routed to this PE only
            yield from k.register(
                PLATFORM_CRITICAL, symbol="critical_handler", flags=RM_PE, affinity=pe.mpidr
            )
        yield from k.unmask()
        ready.append(True)
        for n in range(1, 400):
            if "normal-end" in order:
                break
            _distinctive(pe, n)
            yield Local("spin")

    def signaller(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(ready))
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0

    m.spawn(1, target)
    m.spawn(0, signaller)
    run_ok(m, seed=seed)

    assert order == ["normal-start", "critical-start", "critical-end", "normal-end"]
    assert running_in_critical == [(EVENT_0, critical_event)]
    normal, critical = log.entries
    assert (normal.event, normal.critical, normal.kind) == (EVENT_0, False, Kind.SDEI)
    assert (critical.event, critical.critical, critical.kind) == (
        critical_event, True, Kind.SDEI_CRITICAL)  # fmt: skip
    assert normal.pe == critical.pe == 1
    # The critical handler interrupted the normal one: x2/x3 are the normal handler's PC/PSTATE.
    assert k.address("normal_handler") <= critical.x[2] < k.address("normal_handler") + 0x1000
    assert critical.x[2:] == (critical.interrupted.pc, critical.interrupted.pstate)
    assert critical.interrupted.pstate & PSTATE_DAIF == PSTATE_DAIF
    assert critical.interrupted.x[4:] == tuple(0xAAAA_0000 + r for r in range(4, 18))
    # Completions in order, critical first; each restores exactly what it interrupted.
    first, second = log.completions
    assert (first.event, second.event) == (critical_event, EVENT_0)
    assert first.after == critical.interrupted
    assert second.after == normal.interrupted
    assert m.firmware.running(1) == ()


@pytest.mark.parametrize("trigger", ["explicit", "spi"])
@pytest.mark.parametrize("profile", ["spec", "tfa"])
@pytest.mark.parametrize("seed", [None, 11, 12, 13])
def test_critical_event_preempts_normal_handler(
    profile: str, trigger: str, seed: int | None
) -> None:
    """A critical event preempts a running normal handler on the same PE; both complete,
    critical first, each COMPLETE restoring its own interrupted context (DEN0054C 4.3.2)."""
    _critical_nesting(profile, trigger, seed)


def test_normal_event_does_not_preempt_a_normal_handler() -> None:
    """No same-class nesting: RAS triggered while event 0's handler runs on the only unmasked
    PE waits until the handler completes (DEN0054C 4.3.2.1)."""
    m = make_machine(2)
    k = Kernel(m)
    log = HandlerLog(m)

    def slow_handler(pe: PE) -> Code:
        assert (yield AssertInterrupt(RAS_SPI)) is True
        for _ in range(5):
            yield Local("slow")
            assert m.firmware.running(pe.index) == (EVENT_0,)
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("slow_handler", 0x2000, slow_handler)
    k.load()

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="slow_handler")
        yield from k.register(RAS)
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: len(log.completions) == 2)

    m.spawn(0, thread)
    run_ok(m, seed=3)
    assert [e.event for e in log.entries] == [EVENT_0, RAS]
    assert log.entries[1].step > log.completions[0].step
    assert log.entries[1].interrupted == log.completions[0].after


# ---------------------------------------------------------------------------- routing


def _shared_routing_run(
    seed: int, *, flags: int, unmasked: set[int], route_to: int = 0, triggers: int = 4
) -> list[int]:
    """RAS registered with `flags` (RM_PE: to PE `route_to`); the PEs in `unmasked` unmask, the
    others stay (or become) masked; PE0 asserts SPI 200 `triggers` times, one at a time."""
    m = make_machine(4)
    k = Kernel(m).load()
    log = HandlerLog(m)
    set_up: list[int] = []

    def registrar(pe: PE) -> Code:
        affinity = m.pes[route_to].mpidr if flags == RM_PE else 0
        yield from k.register(RAS, flags=flags, affinity=affinity)
        info = yield Smc(F.EVENT_GET_INFO, RAS, 3)
        assert info == flags
        if flags == RM_PE:
            assert (yield Smc(F.EVENT_GET_INFO, RAS, 4)) == affinity
        set_up.append(pe.index)

    def cpu(pe: PE) -> Code:
        if pe.index in unmasked:
            yield from k.unmask()
        elif pe.index % 2:  # unmask, then mask again: PE_MASK reports it flipped
            yield from k.unmask()
            assert (yield Smc(F.PE_MASK)) == 1
            assert (yield Smc(F.PE_MASK)) == 0
        set_up.append(pe.index)
        yield Local("idle")

    def trigger(pe: PE) -> Code:
        yield WaitUntil(lambda: len(set_up) == 5, label="set-up done")
        for n in range(triggers):
            assert (yield AssertInterrupt(RAS_SPI)) is True
            yield WaitUntil(lambda n=n: len(k.handled) == n + 1, label="handled")  # type: ignore[misc]

    m.spawn(0, registrar)
    for i in range(4):
        m.spawn(i, cpu)
    m.spawn(0, trigger)
    run_ok(m, seed=seed)
    assert len(log.entries) == triggers
    assert all(e.event == RAS and e.kind is Kind.SDEI for e in log.entries)
    return [e.pe for e in log.entries]


def test_rm_any_shared_event_lands_only_on_unmasked_pes() -> None:
    """RM_ANY: one trigger is handled by one PE, never a masked one; over many seeds every
    unmasked PE gets some (DEN0054C 5.1.12.2, 6.2.1; tftf test_sdei_rm_any.c)."""
    landed: set[int] = set()
    for seed in range(40):
        pes = _shared_routing_run(seed, flags=RM_ANY, unmasked={1, 2})
        assert set(pes) <= {1, 2}, (seed, pes)
        landed |= set(pes)
    assert landed == {1, 2}


def test_rm_pe_shared_event_lands_only_on_named_pe() -> None:
    for seed in range(25):
        assert _shared_routing_run(seed, flags=RM_PE, unmasked={0, 1, 2, 3}, route_to=2) == [2] * 4


def test_rm_pe_event_on_masked_target_waits_for_it() -> None:
    """RM_PE to a masked PE: other unmasked PEs never take it; it stays pending."""
    m = make_machine(2)
    k = Kernel(m).load()

    def thread(pe: PE) -> Code:
        yield from k.register(RAS, flags=RM_PE, affinity=m.pes[1].mpidr)
        yield from k.unmask()  # PE0 unmasked, PE1 (the target) masked
        assert (yield AssertInterrupt(RAS_SPI)) is True
        for _ in range(10):
            yield Local("wait")
        assert k.handled == []
        assert m.firmware.pending(RAS)

    m.spawn(0, thread)
    run_ok(m, seed=5)
    assert k.handled == []


def test_routing_set_moves_a_disabled_rm_pe_event() -> None:
    """ROUTING_SET only in handler-registered (disabled) state; afterwards events follow it."""
    m = make_machine(4)
    k = Kernel(m).load()
    log = HandlerLog(m)

    def thread(pe: PE) -> Code:
        yield from k.register(RAS, flags=RM_PE, affinity=m.pes[3].mpidr)
        target = m.pes[2].mpidr
        assert (yield Smc(F.EVENT_ROUTING_SET, RAS, RM_PE, target)) == Status.DENIED  # enabled
        assert (yield Smc(F.EVENT_DISABLE, RAS)) == 0
        assert (yield Smc(F.EVENT_ROUTING_SET, RAS, RM_PE, target)) == 0
        assert (yield Smc(F.EVENT_ENABLE, RAS)) == 0
        yield WaitUntil(lambda: m.firmware.is_masked(2) is False)
        assert (yield AssertInterrupt(RAS_SPI)) is True
        yield WaitUntil(lambda: bool(k.handled))

    def unmasker(pe: PE) -> Code:
        yield from k.unmask()

    m.spawn(0, thread)
    for i in (1, 2, 3):
        m.spawn(i, unmasker)
    run_ok(m, seed=9)
    assert [e.pe for e in log.entries] == [2]


# ---------------------------------------------------------------------------- pending


@pytest.mark.parametrize("seed", [None, 21, 22, 23])
def test_pending_private_event_delivered_at_unmask(seed: int | None) -> None:
    """Event 0 signalled to a masked PE stays pending (spec: SIGNAL succeeds) and runs once the
    PE unmasks (DEN0054C 5.1.12.2, 5.1.13)."""
    m = make_machine(2)
    k = Kernel(m).load()
    log = HandlerLog(m)
    registered: list[bool] = []
    signalled: list[bool] = []
    unmasked_at: list[int] = []

    def target(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        registered.append(True)
        yield WaitUntil(lambda: bool(signalled))
        for _ in range(5):
            yield Local("masked")
        assert k.handled == [], "delivered to a masked PE"
        assert m.firmware.pending(EVENT_0, pe.index)
        assert (yield Smc(F.EVENT_STATUS, EVENT_0)) == 3  # enabled, not running
        unmasked_at.append(m.step_count)
        yield from k.unmask()
        yield WaitUntil(lambda: bool(k.handled))

    def signaller(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(registered))
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0
        signalled.append(True)

    m.spawn(1, target)
    m.spawn(0, signaller)
    run_ok(m, seed=seed)
    [entry] = log.entries
    assert entry.pe == 1 and entry.step > unmasked_at[0]
    assert not m.firmware.pending(EVENT_0, 1)


def test_tfa_signal_to_masked_target_is_refused() -> None:
    """TF-A (b142ede74) refuses EVENT_SIGNAL to a masked or not-enabled target (-2)."""
    m = make_machine(2, profile="tfa")
    k = Kernel(m).load()
    registered: list[bool] = []

    def target(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        registered.append(True)

    def signaller(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(registered))
        result = yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)
        assert result == Status.INVALID_PARAMETERS

    m.spawn(1, target)
    m.spawn(0, signaller)
    run_ok(m)
    assert k.handled == []


def test_disabled_event_pends_until_enabled() -> None:
    """A trigger between REGISTER and ENABLE stays pending and runs after ENABLE (5.1.3)."""
    m = make_machine(1)
    k = Kernel(m).load()

    def thread(pe: PE) -> Code:
        yield from k.register(RAS, enable=False)
        yield from k.unmask()
        assert (yield AssertInterrupt(RAS_SPI)) is True
        yield Local("disabled")
        assert k.handled == []
        assert (yield Smc(F.EVENT_ENABLE, RAS)) == 0
        yield WaitUntil(lambda: bool(k.handled))

    m.spawn(0, thread)
    run_ok(m)
    assert len(k.handled) == 1


# ---------------------------------------------------------------------------- unregister


@pytest.mark.parametrize("event", [EVENT_0, RAS])
def test_unregister_inside_handler(event: int) -> None:
    """UNREGISTER in the handler returns PENDING, status 4 (unregister-pending), a second
    UNREGISTER PENDING again, REGISTER DENIED; after COMPLETE status 0 and no further delivery
    (DEN0054C 5.1.8, 6.1; tftf hdlr_unregistered_running)."""
    m = make_machine(2)
    k = Kernel(m)
    seen: dict[str, int] = {}

    def handler(pe: PE) -> Code:
        seen["unregister"] = yield Smc(F.EVENT_UNREGISTER, event)
        seen["status"] = yield Smc(F.EVENT_STATUS, event)
        seen["again"] = yield Smc(F.EVENT_UNREGISTER, event)
        seen["register"] = yield Smc(F.EVENT_REGISTER, event, k.address("sdei_handler"), 0, 0, 0)
        seen["enable"] = yield Smc(F.EVENT_ENABLE, event)
        seen["context"] = yield Smc(F.EVENT_CONTEXT, 0)
        seen["runs"] = seen.get("runs", 0) + 1
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("unregistering_handler", 0x2000, handler)
    k.load()

    def trigger() -> Code:
        if event == EVENT_0:
            assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[0].mpidr)) == 0
        else:
            assert (yield AssertInterrupt(RAS_SPI)) is True

    def thread(pe: PE) -> Code:
        pe.x[0] = 0x5EED
        yield from k.register(event, symbol="unregistering_handler")
        yield from k.unmask()
        yield from trigger()
        yield WaitUntil(lambda: "runs" in seen)
        assert (yield Smc(F.EVENT_STATUS, event)) == 0
        yield from trigger()  # a trigger after unregistration is not delivered
        for _ in range(5):
            yield Local("after")

    m.spawn(0, thread)
    run_ok(m)
    assert seen["unregister"] == Status.PENDING
    assert seen["status"] == 4
    assert seen["again"] == Status.PENDING
    assert seen["register"] == Status.DENIED
    assert seen["enable"] == Status.DENIED
    assert seen["context"] != Status.DENIED
    assert seen["runs"] == 1
    assert m.firmware.running(0) == ()


# ---------------------------------------------------------------------------- complete and resume


@pytest.mark.parametrize("profile", ["spec", "tfa"])
def test_complete_and_resume_enters_resume_address_as_exception(profile: str) -> None:
    """COMPLETE_AND_RESUME: the resume address runs as a synthetic exception with ELR_EL1/SPSR_EL1
    = the interrupted PC/PSTATE, DAIF set, EL1h, x0-x17 restored; EVENT_CONTEXT is no longer
    available there; its ERET resumes the interrupted thread (DEN0054C 5.2.2)."""
    m = make_machine(1, profile=profile)
    k = Kernel(m)
    log = HandlerLog(m)
    seen: dict[str, object] = {}

    def handler(pe: PE) -> Code:
        pe.x[:18] = [0xBAD0 + r for r in range(18)]
        yield Smc(F.EVENT_COMPLETE_AND_RESUME, k.address("irq_vector"))

    def irq_vector(pe: PE) -> Code:
        top = pe.stack[-1]
        seen.update(
            kind=top.kind,
            elr=pe.elr[1],
            spsr=pe.spsr[1],
            pstate=pe.pstate,
            pc=pe.pc,
            x=tuple(pe.x[:18]),
        )
        seen["context"] = yield Smc(F.EVENT_CONTEXT, 0)
        seen["running"] = m.firmware.running(pe.index)
        return None  # ERET

    k.add("resuming_handler", 0x2000, handler)
    k.add("irq_vector", 0x800 + 0x280, irq_vector)
    k.load()
    after: list[tuple[int, int, tuple[int, ...]]] = []

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="resuming_handler")
        yield from k.unmask()
        pe.x[:18] = [0x7000 + r for r in range(18)]
        pe.pstate |= 0x2000_0000  # C flag
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: "running" in seen)
        after.append((pe.pc, pe.pstate, tuple(pe.x[:18])))

    m.spawn(0, thread)
    run_ok(m)
    [entry] = log.entries
    [resume] = log.completions
    interrupted = entry.interrupted
    assert resume.kind == "resume"
    assert resume.after.pc == k.address("irq_vector")
    assert resume.after.x == interrupted.x
    assert seen["kind"] is Kind.EXCEPTION
    assert seen["elr"] == interrupted.pc == entry.x[2]
    assert seen["spsr"] == interrupted.pstate == entry.x[3]
    pstate = seen["pstate"]
    assert isinstance(pstate, int)
    assert pstate & PSTATE_DAIF == PSTATE_DAIF and pstate & PSTATE_M_MASK == MODE_EL1H
    if profile == "tfa":
        assert pstate == 0x3C5  # TF-A: all other PSTATE bits zero
    else:
        assert pstate & PSTATE_NZCV == interrupted.pstate & PSTATE_NZCV
    assert seen["x"] == interrupted.x
    assert seen["context"] == Status.DENIED  # outside the handler now
    assert seen["running"] == ()
    # The thread continued where it was interrupted, with its registers and flags.
    [(pc, pstate_after, x)] = after
    assert pstate_after == interrupted.pstate
    assert x == interrupted.x
    assert pc == interrupted.pc + 4  # one step later


@pytest.mark.parametrize(("address", "profile", "status"), [
    (0x8000_2002, "spec", Status.INVALID_PARAMETERS),  # misaligned (DEN0054C 5.1.7)
    (0x1000, "spec", Status.INVALID_PARAMETERS),  # not non-secure memory
    (0x1000, "tfa", Status.DENIED),  # TF-A: platform refuses -> DENIED
])  # fmt: skip
def test_complete_and_resume_refuses_bad_address(address: int, profile: str, status: int) -> None:
    m = make_machine(1, profile=profile)
    k = Kernel(m)
    results: list[int] = []

    def handler(pe: PE) -> Code:
        results.append((yield Smc(F.EVENT_COMPLETE_AND_RESUME, address)))
        assert m.firmware.running(pe.index) == (EVENT_0,)  # still running
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("handler", 0x2000, handler)
    k.load()

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="handler")
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: bool(results))

    m.spawn(0, thread)
    run_ok(m)
    assert results == [status]


# ---------------------------------------------------------------------------- conduit


def test_hypervisor_conduit() -> None:
    """With conduit "hvc" SDEI (and PSCI) answer HVC; SMC SDEI calls return NOT_SUPPORTED and
    change nothing."""
    m = make_machine(2, conduit="hvc")
    k = Kernel(m).load()
    assert k.call(F.VERSION) == Hvc(F.VERSION)
    seen: dict[str, int] = {}

    def thread(pe: PE) -> Code:
        seen["smc version"] = yield Smc(F.VERSION)
        seen["hvc version"] = yield Hvc(F.VERSION)
        ep = k.address()
        seen["smc register"] = yield Smc(F.EVENT_REGISTER, EVENT_0, ep, 0, 0, 0)
        seen["status after smc"] = yield Hvc(F.EVENT_STATUS, EVENT_0)
        seen["smc unmask"] = yield Smc(F.PE_UNMASK)
        seen["smc psci"] = yield Smc(Psci.VERSION)
        seen["hvc psci"] = yield Hvc(Psci.VERSION)
        yield from k.register(EVENT_0, arg=7)
        seen["still masked"] = yield Hvc(F.PE_MASK)
        yield from k.unmask()
        seen["smc signal"] = yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)
        yield Local("no signal yet")
        assert k.handled == []
        seen["hvc signal"] = yield Hvc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)
        yield WaitUntil(lambda: bool(k.handled))

    m.spawn(0, thread)
    run_ok(m)
    assert seen == {
        "smc version": -1,
        "hvc version": encode_version(SdeiVersion(1, 1)),
        "smc register": -1,
        "status after smc": 0,
        "smc unmask": -1,
        "smc psci": PsciStatus.NOT_SUPPORTED,
        "hvc psci": 0x0001_0001,
        "still masked": 0,
        "smc signal": -1,
        "hvc signal": 0,
    }
    [handled] = k.handled
    assert handled.x[:2] == (EVENT_0, 7)


def test_shared_event_unregistered_from_another_pe_while_it_runs() -> None:
    """UNREGISTER of a shared event from PE0 while PE1 runs its handler: PENDING, status 4 seen
    from both PEs, the handler's COMPLETE finishes the unregistration (DEN0054C 5.1.8)."""
    m = make_machine(2)
    k = Kernel(m)
    seen: dict[str, int] = {}
    running: list[bool] = []

    def slow_handler(pe: PE) -> Code:
        running.append(True)
        yield WaitUntil(lambda: "unregister" in seen, label="unregistered elsewhere")
        seen["status in handler"] = yield Smc(F.EVENT_STATUS, RAS)
        seen["context"] = yield Smc(F.EVENT_CONTEXT, 1)
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("slow_handler", 0x2000, slow_handler)
    k.load()

    def pe1(pe: PE) -> Code:
        yield from k.unmask()

    def pe0(pe: PE) -> Code:
        yield from k.register(RAS, symbol="slow_handler")
        yield WaitUntil(lambda: not m.firmware.is_masked(1))
        assert (yield AssertInterrupt(RAS_SPI)) is True
        yield WaitUntil(lambda: bool(running))
        seen["status running"] = yield Smc(F.EVENT_STATUS, RAS)
        seen["unregister"] = yield Smc(F.EVENT_UNREGISTER, RAS)
        seen["status pending"] = yield Smc(F.EVENT_STATUS, RAS)
        yield WaitUntil(lambda: m.firmware.running(1) == ())
        seen["status after"] = yield Smc(F.EVENT_STATUS, RAS)
        seen["reregister"] = yield Smc(F.EVENT_REGISTER, RAS, k.address(), 0, 0, 0)

    m.spawn(1, pe1)
    m.spawn(0, pe0)
    run_ok(m, seed=8)
    assert seen["status running"] == 7
    assert seen["unregister"] == Status.PENDING
    assert seen["status pending"] == seen["status in handler"] == 4
    assert seen["context"] >= 0
    assert seen["status after"] == 0
    assert seen["reregister"] == 0


def test_pe_mask_inside_a_handler_keeps_the_pe_masked_after_complete() -> None:
    """PE_MASK in a handler returns 1 (it was unmasked); after COMPLETE the PE stays masked and
    a new signal waits for PE_UNMASK (DEN0054C 5.1.12; ACS test_046)."""
    m = make_machine(1)
    k = Kernel(m)
    log = HandlerLog(m)
    seen: list[int] = []

    def masking_handler(pe: PE) -> Code:
        seen.append((yield Smc(F.PE_MASK)))
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("masking_handler", 0x2000, masking_handler)
    k.load()

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="masking_handler")
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: bool(seen))
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        for _ in range(3):
            yield Local("masked")
        assert len(log.entries) == 1
        seen.append((yield Smc(F.PE_MASK)))
        yield from k.unmask()
        yield WaitUntil(lambda: len(log.completions) == 2)

    m.spawn(0, thread)
    run_ok(m, seed=2)
    assert seen == [1, 0, 1]
    assert len(log.entries) == 2


class _ThreadsFirst:
    """Runs client code before any delivery (a legal schedule: the chooser decides when)."""

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        for i, option in enumerate(options):
            if option[0] == "run":
                return i
        return 0


def test_tfa_explicit_event_is_not_left_pending() -> None:
    m = make_machine(1, profile="tfa")
    k = Kernel(m).load()
    log = HandlerLog(m)

    def thread(pe: PE) -> Code:
        yield from k.register(WATCHDOG)
        yield from k.unmask()
        taken = yield RaiseEvent(WATCHDOG, pe.index)
        masked = yield Smc(F.PE_MASK)
        assert masked == 1
        if taken:  # dispatched synchronously: it ran before PE_MASK
            assert len(log.entries) == 1
        yield from k.unmask()
        yield Local("after")

    m.spawn(0, thread)
    run_ok(m, chooser=_ThreadsFirst())
    assert len(log.entries) <= 1

"""Contexts keep their own state: a thread's registers and PSTATE are its own (whatever its
PE did meanwhile, CPU_OFF/CPU_ON included); a handler that firmware starts synchronously
inside a call runs before the caller's next line; COMPLETE_AND_RESUME to the interrupted PC
resumes the interrupted context, whatever it was."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from helpers import EVENT_0, WATCHDOG, Kernel, make_machine, run_ok

from sdei.abi import PSTATE_I, Function
from sdei.machine import (
    PE,
    Access,
    AssertInterrupt,
    Local,
    RaiseEvent,
    SetPstate,
    WaitUntil,
)
from sdei.machine.contexts import Code
from sdei.machine.errors import ScenarioCodeError
from sdei.machine.psci import Psci

F = Function


@pytest.mark.parametrize("seed", range(8))
def test_a_spawned_thread_starts_with_its_own_pstate(seed: int) -> None:
    """A thread spawned on a PE that is off starts, once the PE is on, with IRQs unmasked -
    not with the PSTATE the PE came out of reset with - and only once the code CPU_ON
    entered has let go of the PE."""
    m = make_machine(2, powered_on=(0,))
    k = Kernel(m)
    seen: list[bool] = []

    def secondary(pe: PE) -> Code:  # what CPU_ON enters: DAIF masked from reset
        assert pe.irqs_masked
        yield Local("early boot")
        yield SetPstate(pe.pstate & ~0x3C0)  # into the idle loop, interrupts on
        return None

    def worker(pe: PE) -> Code:
        seen.append(pe.irqs_masked)
        yield Local("work")

    k.add("secondary", 0x100, secondary)
    k.load()

    def boot(pe: PE) -> Code:
        result = yield k.call(Psci.CPU_ON, m.pes[1].mpidr, k.address("secondary"), 0)
        assert result == 0

    m.spawn(1, worker)
    m.spawn(0, boot)
    run_ok(m, seed=seed)
    assert seen == [False]


def test_a_thread_keeps_its_pstate_across_cpu_off_and_on() -> None:
    m = make_machine(2)
    k = Kernel(m)

    def secondary(pe: PE) -> Code:
        yield Local("early boot")
        yield SetPstate(pe.pstate & ~0x3C0)

    k.add("secondary", 0x100, secondary)
    k.load()
    states: list[int] = []
    off: list[bool] = []

    def pinned(pe: PE) -> Code:
        states.append(pe.pstate & PSTATE_I)
        yield WaitUntil(lambda: bool(off), label="CPU1 was off")
        states.append(pe.pstate & PSTATE_I)

    def cycle(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(states), label="pinned ran")
        yield k.call(Psci.CPU_OFF)

    def controller(pe: PE) -> Code:
        yield WaitUntil(lambda: m.pes[1].power.value == "off", label="CPU1 off")
        off.append(True)
        result = yield k.call(Psci.CPU_ON, m.pes[1].mpidr, k.address("secondary"), 0)
        assert result == 0

    m.spawn(1, pinned)
    m.spawn(1, cycle)
    m.spawn(0, controller)
    run_ok(m)
    assert states == [0, 0]


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_a_synchronous_dispatch_runs_before_the_callers_next_line(seed: int | None) -> None:
    """TF-A dispatches an explicit event raised on the calling PE at once: the handler sees
    the caller's registers at the call, and the caller's later writes are its own."""
    m = make_machine(2, profile="tfa")
    k = Kernel(m)
    order: list[str] = []
    seen: dict[str, int] = {}

    def watchdog(pe: PE) -> Code:
        order.append("handler")
        seen["x7"], seen["x2"] = pe.x[7], pe.x[2]
        yield k.call(F.EVENT_COMPLETE, 0)

    k.add("watchdog", 0x2000, watchdog)
    k.load()

    def caller(pe: PE) -> Code:
        yield from k.register(WATCHDOG, symbol="watchdog")
        yield from k.unmask()
        pe.x[7] = 0x77
        order.append("before")
        seen["pc"] = pe.pc
        taken = yield RaiseEvent(WATCHDOG, pe.index)
        order.append("after")
        seen["taken"] = int(taken)
        pe.x[7] = 0x88
        yield Local("go on")
        seen["x7 after"] = pe.x[7]

    m.spawn(0, caller)
    run_ok(m, seed=seed)
    assert order == ["before", "handler", "after"]
    assert seen["taken"] == 1 and seen["x7"] == 0x77 and seen["x7 after"] == 0x88
    assert seen["x2"] == seen["pc"] + 4  # ELR_EL3: the instruction after the call


def _resume_to_x2(k: Kernel):  # type: ignore[no-untyped-def]
    def handler(pe: PE) -> Code:
        resume = pe.x[2]
        k.handled.append(None)  # type: ignore[arg-type]
        result = yield k.call(F.EVENT_COMPLETE_AND_RESUME, resume)
        raise AssertionError(f"C&R returned {result}")

    return handler


@pytest.mark.parametrize("interrupted", ["spawned thread", "cpu_on thread", "irq handler"])
def test_complete_and_resume_to_the_interrupted_pc(interrupted: str) -> None:
    """tf-a-tests' usual handler: COMPLETE_AND_RESUME with x2, the interrupted PC. The
    interrupted context goes on - a thread, one CPU_ON started, or an IRQ handler."""
    m = make_machine(2, powered_on=(0,) if interrupted == "cpu_on thread" else None)
    k = Kernel(m)
    k.add("resume_handler", 0x2000, _resume_to_x2(k))
    finished: list[str] = []
    ready: list[bool] = []

    def victim(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="resume_handler")
        yield from k.unmask()
        yield SetPstate(pe.pstate & ~0x3C0)
        ready.append(True)
        for _ in range(40):
            if k.handled:
                break
            yield Local("spin")
        yield Local("after the event")
        finished.append(interrupted)

    def secondary(pe: PE) -> Code:
        yield from victim(pe)

    k.add("secondary", 0x100, secondary)
    k.load()

    def irq_victim(pe: PE, intid: int) -> Code:
        yield from victim(pe)

    def signaller(pe: PE) -> Code:
        if interrupted == "cpu_on thread":
            assert (yield k.call(Psci.CPU_ON, m.pes[1].mpidr, k.address("secondary"), 0)) == 0
        yield WaitUntil(lambda: bool(ready), label="victim ready")
        assert (yield k.call(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0

    if interrupted == "spawned thread":
        m.spawn(1, victim)
    elif interrupted == "irq handler":
        m.request_irq(100, irq_victim)
        m.gic.enable(100, route=m.pes[1].mpidr)

        def device(pe: PE) -> Code:
            yield AssertInterrupt(100)

        m.spawn(1, device)
    m.spawn(0, signaller)
    run_ok(m)
    assert finished == [interrupted]
    assert len(k.handled) == 1


def test_a_racing_thread_begins_at_its_first_operation() -> None:
    """A thread spawned before the run has run its code up to its first operation when the
    run begins, switched in on its PE: two threads of one PE each see their own registers,
    and each takes one step - its first operation - not an empty one before it."""
    m = make_machine(1)
    seen: list[tuple[str, int]] = []

    def thread(value: int) -> Callable[[PE], Code]:
        def run(pe: PE) -> Code:
            pe.x[3] = value
            seen.append(("before", value))
            yield Access("x")
            seen.append(("after", pe.x[3]))

        return run

    m.spawn(0, thread(0x33))
    m.spawn(0, thread(0x44))
    result = m.run()
    assert result.status == "quiescent" and result.steps == 2
    assert seen[:2] == [("before", 0x33), ("before", 0x44)]
    assert sorted(seen[2:]) == [("after", 0x33), ("after", 0x44)]


def test_code_before_a_thread_first_operation_meets_its_end_at_its_first_step() -> None:
    """What the code before the first operation does - fail, assert, return - is what the
    thread's first step meets, as when that code ran there."""

    def raising(pe: PE) -> Code:
        raise ValueError("no such CPU")
        yield Local()

    def asserting(pe: PE) -> Code:
        assert pe.index == 1, "runs on CPU1 only"
        yield Local()

    def returning(pe: PE) -> Code:
        return 7
        yield Local()

    m = make_machine(1)
    m.spawn(0, raising)
    with pytest.raises(ScenarioCodeError, match="ValueError: no such CPU") as error:
        m.run()
    line = raising.__code__.co_firstlineno + 1
    assert f"{__file__}:{line}" in str(error.value)
    m = make_machine(1)
    m.spawn(0, asserting)
    result = m.run()
    assert result.violation is not None and result.violation.invariant == "assertion"
    assert result.violation.message.startswith("runs on CPU1 only")
    assert result.violation.step == 1
    m = make_machine(1)
    ctx = m.spawn(0, returning)
    result = m.run()
    assert result.status == "quiescent" and result.steps == 1 and ctx.done and ctx.result == 7

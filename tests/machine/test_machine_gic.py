"""The GIC: OS interrupts respect PSTATE.I and never preempt an SDEI handler (DEN0054C 4.3.2.1,
5.2); INTERRUPT_BIND + REGISTER takes an interrupt into Group 0, UNREGISTER gives it back
(DEN0054C 6.3; TF-A sdei_main.c)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from helpers import EVENT_0, SHARED_SLOT, HandlerLog, Kernel, make_machine, run_ok

from sdei.abi import Function, Status
from sdei.machine import (
    IPI_SGI,
    PE,
    AssertInterrupt,
    IrqRestore,
    IrqSave,
    Kind,
    Local,
    Machine,
    SendIpi,
    Smc,
    WaitUntil,
)
from sdei.machine.contexts import Code

F = Function
OS_SPI = 100


@dataclass(frozen=True)
class Taken:
    step: int
    pe: int
    intid: int
    kind: Kind
    irqs_masked: bool
    elr: int
    in_handler: bool


def _recording_irq_handler(m: Machine, taken: list[Taken]) -> Callable[[PE, int], Code]:
    def irq_handler(pe: PE, intid: int) -> Code:
        top = pe.stack[-1]
        in_handler = m.firmware.handler_running(pe.index)
        taken.append(
            Taken(m.step_count, pe.index, intid, top.kind, pe.irqs_masked, pe.elr[1], in_handler)
        )
        yield Local("irq work")

    return irq_handler


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_os_interrupt_taken_only_with_pstate_i_clear(seed: int | None) -> None:
    m = make_machine(2)
    m.gic.enable(OS_SPI, route=m.pes[0].mpidr)
    taken: list[Taken] = []
    unmasked_at: list[int] = []

    m.request_irq(OS_SPI, _recording_irq_handler(m, taken))

    def thread(pe: PE) -> Code:
        assert (yield IrqSave()) is False  # local_irq_save
        assert (yield AssertInterrupt(OS_SPI)) is False  # the OS's, not SDEI's
        for _ in range(5):
            yield Local("irqs off")
        assert taken == []
        assert m.gic.line(OS_SPI, 0).pending
        unmasked_at.append(m.step_count + 1)
        yield IrqRestore(False)
        yield WaitUntil(lambda: bool(taken))

    m.spawn(0, thread)
    run_ok(m, seed=seed)
    [irq] = taken
    assert irq.pe == 0 and irq.intid == OS_SPI and irq.kind is Kind.IRQ
    assert irq.irqs_masked  # the IRQ handler runs with DAIF set
    assert irq.step > unmasked_at[0]
    assert not m.gic.line(OS_SPI, 0).active  # EOI at the handler's end


@pytest.mark.parametrize("seed", [None, 4, 5, 6])
def test_os_interrupt_never_preempts_an_sdei_handler(seed: int | None) -> None:
    """Even a handler that (wrongly) clears PSTATE.I is not interrupted by an OS IRQ: the SDEI
    priority stays active until COMPLETE; the IRQ is taken by the thread after it."""
    m = make_machine(1)
    m.gic.enable(OS_SPI, route=m.pes[0].mpidr)
    k = Kernel(m)
    log = HandlerLog(m)
    taken: list[Taken] = []

    m.request_irq(OS_SPI, _recording_irq_handler(m, taken))

    def unmasking_handler(pe: PE) -> Code:
        assert pe.irqs_masked  # entered with DAIF set
        assert (yield AssertInterrupt(OS_SPI)) is False
        yield IrqRestore(False)
        for _ in range(5):
            yield Local("handler, I clear")
        assert taken == []
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("unmasking_handler", 0x2000, unmasking_handler)
    k.load()

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0, symbol="unmasking_handler")
        yield from k.unmask()
        assert not pe.irqs_masked
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: bool(taken))

    m.spawn(0, thread)
    run_ok(m, seed=seed)
    [irq] = taken
    [done] = log.completions
    assert irq.step > done.step
    assert not irq.in_handler and irq.kind is Kind.IRQ
    assert irq.elr == done.after.pc  # it interrupted the thread the handler returned to


def test_bind_register_takes_the_interrupt_and_unregister_gives_it_back() -> None:
    m = make_machine(2)
    k = Kernel(m).load()
    log = HandlerLog(m)
    irqs: list[int] = []

    def irq_handler(pe: PE, intid: int) -> Code:
        irqs.append(intid)
        yield Local("irq")

    m.request_irq(OS_SPI, irq_handler)
    seen: dict[str, object] = {}

    def thread(pe: PE) -> Code:
        assert m.gic.is_nonsecure(OS_SPI, 0)
        assert (yield Smc(F.FEATURES, 0)) == 0x0003_0003  # 3 shared, 3 private bind slots
        event = yield Smc(F.INTERRUPT_BIND, OS_SPI)
        assert event == SHARED_SLOT
        assert (yield Smc(F.INTERRUPT_BIND, OS_SPI)) == event  # same number again
        assert (yield Smc(F.EVENT_GET_INFO, event, 0)) == 1  # shared
        seen["after bind"] = m.gic.is_nonsecure(OS_SPI, 0)  # ownership moves at REGISTER
        yield from k.register(event)
        seen["after register"] = m.gic.is_nonsecure(OS_SPI, 0)
        yield from k.unmask()
        assert (yield AssertInterrupt(OS_SPI)) is True  # now firmware's: an SDEI event
        yield WaitUntil(lambda: bool(k.handled))
        assert (yield Smc(F.INTERRUPT_RELEASE, event)) == Status.DENIED  # still registered
        assert (yield Smc(F.EVENT_UNREGISTER, event)) == 0
        seen["after unregister"] = m.gic.is_nonsecure(OS_SPI, 0)
        seen["enabled after unregister"] = m.gic.line(OS_SPI, 0).enabled
        assert (yield Smc(F.INTERRUPT_RELEASE, event)) == 0
        m.gic.enable(OS_SPI, route=pe.mpidr)  # the OS takes its interrupt back
        assert (yield AssertInterrupt(OS_SPI)) is False  # an OS IRQ again
        yield WaitUntil(lambda: bool(irqs))

    m.spawn(0, thread)
    run_ok(m)
    assert seen == {
        "after bind": True,
        "after register": False,
        "after unregister": True,
        "enabled after unregister": False,
    }
    assert [e.event for e in log.entries] == [SHARED_SLOT]
    assert irqs == [OS_SPI]


def test_bind_refuses_sgis_static_and_secure_interrupts() -> None:
    m = make_machine(1)
    results: list[int] = []

    def thread(pe: PE) -> Code:
        for intid in (8, 200, 29, 5000):  # SGI, RAS's static SPI, secure timer PPI, no such
            results.append((yield Smc(F.INTERRUPT_BIND, intid)))

    m.spawn(0, thread)
    run_ok(m)
    assert results == [Status.INVALID_PARAMETERS] * 4
    assert not m.gic.is_nonsecure(200, 0) and not m.gic.is_nonsecure(29, 0)


def test_send_ipi_runs_the_callback_on_the_target() -> None:
    m = make_machine(2)
    ran: list[int] = []

    def callback(pe: PE) -> Code:
        ran.append(pe.index)
        yield Local("cross-call")

    def thread(pe: PE) -> Code:
        assert (yield SendIpi(1, callback)) is True
        yield WaitUntil(lambda: bool(ran), label="IPI done")

    m.spawn(0, thread)
    run_ok(m)
    assert ran == [1]


def test_send_ipi_runs_the_callback_once_sgi_is_enabled() -> None:
    m = make_machine(2)
    m.gic.enable(IPI_SGI, 1)
    ran: list[tuple[int, Kind]] = []

    def callback(pe: PE) -> Code:
        ran.append((pe.index, pe.stack[-1].kind))
        yield Local("cross-call")

    def thread(pe: PE) -> Code:
        assert (yield SendIpi(1, callback)) is True
        yield WaitUntil(lambda: bool(ran), label="IPI done")

    m.spawn(0, thread)
    run_ok(m)
    assert ran == [(1, Kind.IRQ)]

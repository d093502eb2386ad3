"""What a run can find: stale entry points, handlers that fall off, deadlocks, injected firmware
faults, and a broken dispatcher caught by the built-in invariants (they can fail)."""

from __future__ import annotations

import pytest
from helpers import (
    EVENT_0,
    RAS,
    RAS_SPI,
    HandlerLog,
    Kernel,
    make_machine,
    run_ok,
)

from sdei.abi import Function
from sdei.firmware import Dispatcher
from sdei.machine import (
    PE,
    Acquire,
    AssertInterrupt,
    FirmwareFault,
    Image,
    Jump,
    Local,
    Machine,
    Release,
    RunResult,
    Smc,
    WaitUntil,
)
from sdei.machine.contexts import Code

F = Function


def _signal_self_with_entry(m: Machine, ep: int, *, before_signal: Code | None = None) -> None:
    """A thread on PE0 registers event 0 at `ep`, unmasks and signals itself."""

    def thread(pe: PE) -> Code:
        assert (yield Smc(F.EVENT_REGISTER, EVENT_0, ep, 0, 0, 0)) == 0
        assert (yield Smc(F.EVENT_ENABLE, EVENT_0)) == 0
        assert (yield Smc(F.PE_UNMASK)) == 0
        if before_signal is not None:
            yield from before_signal
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        for _ in range(3):
            yield Local("after")

    m.spawn(0, thread)


def _violation(result: RunResult, name: str) -> str:
    assert result.status == "violation", result
    assert result.violation is not None
    assert result.violation.invariant == name, str(result.violation)
    return result.violation.message


# ---------------------------------------------------------------------------- entry points


@pytest.mark.parametrize(("address", "words"), [
    (0x9000_0000, "unmapped"),  # non-secure memory, no image there
    (0x8000_2000, "no code at this address"),  # inside the kernel image, no symbol
])  # fmt: skip
def test_entering_an_address_without_code_is_a_stale_entry(address: int, words: str) -> None:
    """REGISTER cannot tell (DEN0054C 5.1.2.2: the fault happens at the ERET), so it succeeds;
    the delivery then enters nothing."""
    m = make_machine(1)
    Kernel(m).load()
    _signal_self_with_entry(m, address)
    result = m.run()
    message = _violation(result, "stale-entry")
    assert words in message and f"{address:#x}" in message
    assert result.violation is not None and result.violation.pe == 0


def test_unloaded_image_is_a_stale_entry() -> None:
    """The image is unloaded after REGISTER (kexec, hibernate restore): the event enters stale
    code and the violation says so, naming the old symbol."""
    m = make_machine(1)
    k = Kernel(m).load()

    def unload() -> Code:
        assert k.loaded is not None
        m.unload(k.loaded)
        yield Local("unloaded")

    _signal_self_with_entry(m, k.address(), before_signal=unload())
    message = _violation(m.run(), "stale-entry")
    assert "stale" in message and "sdei_handler" in message


def test_reloaded_image_with_other_code_at_the_address_is_a_stale_entry() -> None:
    """A new image loaded at the same base puts other code at the registered address."""
    m = make_machine(1)
    k = Kernel(m).load()
    ep = k.address()

    def reload() -> Code:
        assert k.loaded is not None
        m.unload(k.loaded)
        other = Image("kernel")
        other.add("do_idle", 0x1000, k.sdei_handler)
        m.load(other, k.base)
        yield Local("reloaded")

    _signal_self_with_entry(m, ep, before_signal=reload())
    message = _violation(m.run(), "stale-entry")
    assert "sdei_handler" in message and "do_idle" in message


def test_register_refuses_an_entry_point_outside_nonsecure_memory() -> None:
    m = make_machine(1)
    results: list[int] = []

    def thread(pe: PE) -> Code:
        for ep in (0, 0x4000_0000, 0x8000_1002):
            results.append((yield Smc(F.EVENT_REGISTER, EVENT_0, ep, 0, 0, 0)))

    m.spawn(0, thread)
    run_ok(m)
    assert results == [-2, -2, -2]  # null, secure, misaligned (spec profile)


# ---------------------------------------------------------------------------- client bugs


def test_handler_falling_off_its_end() -> None:
    m = make_machine(1)
    k = Kernel(m)

    def sloppy_handler(pe: PE) -> Code:
        yield Smc(F.EVENT_CONTEXT, 0)  # ... and no COMPLETE

    k.add("sloppy_handler", 0x2000, sloppy_handler)
    k.load()
    _signal_self_with_entry(m, k.address("sloppy_handler"))
    message = _violation(m.run(), "handler-falls-off")
    assert "sloppy_handler" in message


def test_handler_taking_a_lock_its_interrupted_thread_holds_deadlocks() -> None:
    m = make_machine(1)
    k = Kernel(m)
    lock = m.lock("event_lock")

    def locking_handler(pe: PE) -> Code:
        yield Acquire(lock)
        yield Release(lock)
        yield Smc(F.EVENT_COMPLETE, 0)

    k.add("locking_handler", 0x2000, locking_handler)
    k.load()

    def take_lock() -> Code:
        yield Acquire(lock)

    _signal_self_with_entry(m, k.address("locking_handler"), before_signal=take_lock())
    result = m.run(seed=1)
    message = _violation(result, "deadlock")
    assert "event_lock" in message and "interrupted" in message


def test_all_threads_blocked_is_a_deadlock() -> None:
    """ABBA on two PEs: every thread ends up waiting; reported at quiescence."""
    m = make_machine(2)
    a, b = m.lock("a"), m.lock("b")

    def one(pe: PE) -> Code:
        yield Acquire(a)
        yield WaitUntil(lambda: b.owner is not None)
        yield Acquire(b)

    def two(pe: PE) -> Code:
        yield Acquire(b)
        yield WaitUntil(lambda: a.owner is not None)
        yield Acquire(a)

    m.spawn(0, one)
    m.spawn(1, two)
    message = _violation(m.run(), "deadlock")
    assert "every thread is blocked" in message
    assert "acquire a" in message and "acquire b" in message


# ---------------------------------------------------------------------------- injected faults


def test_injected_firmware_fault_always() -> None:
    m = make_machine(1, faults=[FirmwareFault(F.EVENT_REGISTER, -3, always=True)])
    k = Kernel(m).load()
    results: list[int] = []

    def thread(pe: PE) -> Code:
        for event in (EVENT_0, RAS, EVENT_0):
            results.append((yield Smc(F.EVENT_REGISTER, event, k.address(), 0, 0, 0)))
        results.append((yield Smc(F.EVENT_STATUS, EVENT_0)))

    m.spawn(0, thread)
    run_ok(m)
    assert results == [-3, -3, -3, 0]  # nothing was registered


def test_injected_fault_for_one_event_only() -> None:
    m = make_machine(1, faults=[FirmwareFault(F.EVENT_REGISTER, -10, event=RAS, always=True)])
    k = Kernel(m).load()
    results: list[int] = []

    def thread(pe: PE) -> Code:
        for event in (RAS, EVENT_0):
            results.append((yield Smc(F.EVENT_REGISTER, event, k.address(), 0, 0, 0)))

    m.spawn(0, thread)
    run_ok(m)
    assert results == [-10, 0]


def test_chosen_fault_fires_on_some_seeds_and_is_recorded_as_a_choice() -> None:
    """A fault without `always` is a choice: `times` bounds it, and the run records it."""
    outcomes: set[tuple[int, ...]] = set()
    for seed in range(12):
        m = make_machine(1, faults=[FirmwareFault(F.EVENT_ENABLE, -3, times=1)])
        k = Kernel(m).load()
        results: list[int] = []

        def thread(pe: PE, k: Kernel = k, results: list[int] = results) -> Code:
            yield from k.register(EVENT_0, enable=False)
            for _ in range(3):
                results.append((yield Smc(F.EVENT_ENABLE, EVENT_0)))

        m.spawn(0, thread)
        result = run_ok(m, seed=seed)
        assert results.count(-3) <= 1
        assert "fault" in result.kinds
        outcomes.add(tuple(results))
    assert (0, 0, 0) in outcomes and len(outcomes) > 1


# ---------------------------------------------------------------------------- broken dispatchers


class _MaskBlind(Dispatcher):
    """Broken: ignores PE_MASK when choosing what to deliver."""

    def deliverable(self, pe: int) -> tuple[int, ...]:
        masked = self._masked[pe]
        self._masked[pe] = False
        try:
            return super().deliverable(pe)
        finally:
            self._masked[pe] = masked


class _OffByOneContext(Dispatcher):
    """Broken: EVENT_CONTEXT returns the saved register plus one."""

    def _context(self, pe: int, param: int = 0, *_: int) -> int:
        result = super()._context(pe, param)
        return result + 1 if result >= 0 else result


class _ForgetfulComplete(Dispatcher):
    """Broken: COMPLETE hands back a context with x5 zeroed."""

    def _complete(self, pe: int, status: int = 0, *_: int) -> int:
        result = super()._complete(pe, status)
        exit_ = self._exits[pe]
        if result == 0 and exit_ is not None:
            x = list(exit_.x)
            x[5] = 0
            self._exits[pe] = type(exit_)(
                exit_.kind,
                exit_.event,
                exit_.pc,
                exit_.pstate,
                tuple(x),
                exit_.elr,
                exit_.spsr,
                exit_.status,
            )
        return result


def _masked_target_run(dispatcher: type[Dispatcher] | None) -> RunResult:
    m = make_machine(2, dispatcher=dispatcher)
    k = Kernel(m).load()
    registered: list[bool] = []

    def target(pe: PE) -> Code:
        yield from k.register(EVENT_0)  # ... and stays masked
        registered.append(True)
        for _ in range(5):
            yield Local("masked")

    def signaller(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(registered))
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0

    m.spawn(1, target)
    m.spawn(0, signaller)
    return m.run()


def test_invariant_catches_delivery_to_a_masked_pe() -> None:
    assert _masked_target_run(None).status == "quiescent"  # the real dispatcher: fine
    message = _violation(_masked_target_run(_MaskBlind), "firmware-promise")
    assert "masked" in message


def test_invariant_catches_a_wrong_event_context_value() -> None:
    m = make_machine(1, dispatcher=_OffByOneContext)
    k = Kernel(m).load()

    def thread(pe: PE) -> Code:
        pe.x[0] = 0x1000
        yield from k.register(EVENT_0)
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield Local("after")

    m.spawn(0, thread)
    message = _violation(m.run(), "firmware-promise")
    assert "EVENT_CONTEXT(0)" in message


def test_engine_catches_a_completion_that_does_not_restore_the_context() -> None:
    m = make_machine(1, dispatcher=_ForgetfulComplete)
    k = Kernel(m).load()
    log = HandlerLog(m)

    def thread(pe: PE) -> Code:
        pe.x[5] = 0x55
        yield from k.register(EVENT_0)
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield Local("after")

    m.spawn(0, thread)
    message = _violation(m.run(), "complete-context")
    assert "does not restore" in message
    assert len(log.entries) == 1


# ------------------------------------------------------------------------ invariant false alarms


@pytest.mark.parametrize("reset", [F.PRIVATE_RESET, F.SHARED_RESET], ids=["private", "shared"])
def test_failed_reset_does_not_confuse_the_invariant(reset: int) -> None:
    m = make_machine(1, conduit="hvc")
    k = Kernel(m).load()

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        yield from k.register(RAS)
        yield from k.unmask()
        assert (yield Smc(reset)) == -1  # SMC under an HVC conduit: nothing happens
        assert (yield k.call(F.EVENT_STATUS, EVENT_0)) == 3
        assert (yield k.call(F.EVENT_STATUS, RAS)) == 3
        if reset == F.PRIVATE_RESET:
            assert (yield k.call(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        else:
            assert (yield AssertInterrupt(RAS_SPI)) is True
        yield WaitUntil(lambda: bool(k.handled))

    m.spawn(0, thread)
    run_ok(m)


def test_injected_fault_does_not_confuse_the_invariant() -> None:
    m = make_machine(1, faults=[FirmwareFault(F.EVENT_UNREGISTER, -5, always=True)])
    k = Kernel(m).load()

    def thread(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        yield from k.unmask()
        assert (yield Smc(F.EVENT_UNREGISTER, EVENT_0)) == -5  # injected: nothing happened
        assert (yield Smc(F.EVENT_STATUS, EVENT_0)) == 3  # still registered and enabled
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: bool(k.handled))

    m.spawn(0, thread)
    run_ok(m)


def test_cold_boot_from_a_handler_does_not_confuse_the_invariant() -> None:
    m = make_machine(1)
    k = Kernel(m)

    def rebooting_handler(pe: PE) -> Code:
        yield Jump(k.address("new_kernel"), reset_system=True)

    def new_kernel(pe: PE) -> Code:
        assert (yield Smc(F.PE_MASK)) == 0  # firmware rebooted: masked
        assert (yield Smc(F.EVENT_STATUS, EVENT_0)) == 0  # and nothing registered
        yield from k.register(EVENT_0)
        yield from k.unmask()
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, pe.mpidr)) == 0
        yield WaitUntil(lambda: bool(k.handled))

    k.add("rebooting_handler", 0x2000, rebooting_handler)
    k.add("new_kernel", 0x3000, new_kernel)
    k.load()
    _signal_self_with_entry(m, k.address("rebooting_handler"))
    run_ok(m)
    assert len(k.handled) == 1


class _IgnoresRouting(Dispatcher):
    """Broken: treats every shared event as RM_ANY when choosing where it may start."""

    def deliverable(self, pe: int) -> tuple[int, ...]:
        saved = {ev: ev.flags[0] for ev in self._shared_events}
        for ev in self._shared_events:
            ev.flags[0] &= ~1
        try:
            return super().deliverable(pe)
        finally:
            for ev, flags in saved.items():
                ev.flags[0] = flags


def test_invariant_catches_an_rm_pe_event_on_the_wrong_pe() -> None:
    m = make_machine(2, dispatcher=_IgnoresRouting)
    k = Kernel(m).load()
    log = HandlerLog(m)

    def thread(pe: PE) -> Code:
        yield from k.register(RAS, flags=1, affinity=m.pes[1].mpidr)  # RM_PE to PE1 (masked)
        yield from k.unmask()
        assert (yield AssertInterrupt(RAS_SPI)) is True
        yield Local("after")

    m.spawn(0, thread)
    result = m.run()
    assert log.entries == []  # stopped at the delivery, before the handler ran
    assert "RM_PE" in _violation(result, "firmware-promise")
    assert result.violation is not None and result.violation.pe == 0

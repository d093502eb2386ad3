"""The client oracles see what the latent issues leave behind with no invariant of the
scenario's own: an unexpected API error, a zombie event, a freed callback argument, an event
on a CPU the driver masked. Each fires on the situation it names and stays quiet on its
look-alike (an injected fault, a clean call)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from sdei.abi import Function
from sdei.kernel import Counter, Linux
from sdei.kernel.core import EBUSY, EINVAL, EPERM, Gen
from sdei.machine import PE, AssertInterrupt, FirmwareFault, RunResult, WaitUntil
from sdei.machine.errors import ScenarioCodeError
from sdei.scenarios.common import SHARED_RAS, SHARED_RAS_SPI, SOFTWARE_EVENT, Booted, boot
from sdei.scenarios.common import registering as with_events
from sdei.trace import Recorder


def _run(
    code: Callable[[Linux, PE], Gen],
    *,
    era: str = "latest",
    patches: tuple[str, ...] = (),
    setup: Callable[[Linux, PE], Gen] | None = None,
    before: Callable[[Booted], None] | None = None,
) -> tuple[Booted, RunResult, list[object], Recorder]:
    b = boot(era=era, patches=patches, cpus=2, setup=setup)
    if before is not None:
        before(b)
    results: list[object] = []

    def thread(pe: PE) -> Gen:
        results.append((yield from code(b.linux, pe)))

    recorder = Recorder(b.machine)
    b.spawn(0, thread, "test")
    return b, b.machine.run(max_steps=20_000), results, recorder


def _lose_cpu1_registration(b: Booted) -> None:
    """Firmware forgets event 0 on CPU1 (what the L1 window leaves), behind the driver."""
    assert b.machine.firmware_call(1, Function.EVENT_UNREGISTER, SOFTWARE_EVENT) == 0


def test_an_unexpected_eperm_is_reported_with_the_call() -> None:
    _, result, results, recorder = _run(
        lambda linux, pe: linux.driver.unregister(pe, SOFTWARE_EVENT),
        setup=with_events(SOFTWARE_EVENT),
        before=_lose_cpu1_registration,
    )
    assert results == [EPERM]
    assert result.violation is not None
    assert result.violation.invariant == "unexpected-api-error"
    assert "sdei_event_unregister(0) = -EPERM" in result.violation.message
    texts = [r.text for r in recorder.records]
    assert "sdei_event_unregister(0) = -EPERM" in texts  # the timeline shows the call


def test_an_injected_denial_is_expected_but_its_zombie_is_not() -> None:
    def inject(b: Booted) -> None:
        b.machine.inject(FirmwareFault(Function.EVENT_UNREGISTER, -3, event=0, pe=1, always=True))

    _, result, results, recorder = _run(
        lambda linux, pe: linux.driver.unregister(pe, SOFTWARE_EVENT),
        setup=with_events(SOFTWARE_EVENT),
        before=inject,
    )
    assert results == [EPERM]
    assert result.violation is not None
    assert result.violation.invariant == "zombie-event"  # not unexpected-api-error
    assert "registering it again gives -EBUSY" in result.violation.message
    assert any(r.text == "UNREGISTER(0) = DENIED [injected fault]" for r in recorder.records)


def _callback(pe: PE, event: int, regs: tuple[int, ...], arg: object) -> Gen:
    return
    yield


def test_ebusy_from_registering_an_unregistered_number() -> None:
    def inject(b: Booted) -> None:
        b.machine.inject(FirmwareFault(Function.EVENT_UNREGISTER, -3, event=0, pe=1, always=True))

    def code(linux: Linux, pe: PE) -> Gen:
        yield from linux.driver.unregister(pe, SOFTWARE_EVENT)
        return (yield from linux.driver.register(pe, SOFTWARE_EVENT, _callback))

    _, result, results, _ = _run(code, setup=with_events(SOFTWARE_EVENT), before=inject)
    assert results == [EBUSY]
    assert result.violation is not None
    assert result.violation.invariant == "unexpected-api-error"
    assert "sdei_event_register(0) = -EBUSY" in result.violation.message


def test_a_clean_unregister_trips_nothing() -> None:
    b, result, results, _ = _run(
        lambda linux, pe: linux.driver.unregister(pe, SOFTWARE_EVENT),
        setup=with_events(SOFTWARE_EVENT),
    )
    assert results == [0]
    assert result.violation is None, result.violation
    assert SOFTWARE_EVENT not in b.linux.driver.events


def _enable_fails(b: Booted) -> None:
    b.machine.inject(FirmwareFault(Function.EVENT_ENABLE, -3, event=SHARED_RAS, always=True))


@pytest.mark.parametrize("patches", [(), ("register-ghes-rolls-back",)])
def test_a_freed_struct_ghes_left_registered(patches: tuple[str, ...]) -> None:
    b, result, results, _ = _run(
        lambda linux, pe: linux.ghes_probe(pe, SHARED_RAS), patches=patches, before=_enable_fails
    )
    assert results == [EPERM]
    if patches:
        assert result.violation is None, result.violation
        assert SHARED_RAS not in b.linux.driver.events
    else:
        assert result.violation is not None
        assert result.violation.invariant == "stale-callback-arg"
        assert "struct ghes" in result.violation.message


def test_an_event_taken_on_a_cpu_the_driver_masked() -> None:
    counter = Counter()

    def code(linux: Linux, pe: PE) -> Gen:
        yield from linux.driver.suspend(pe)  # .suspend: every CPU masked by the driver
        assert linux.machine.firmware_call(1, Function.PE_UNMASK) == 0  # behind its back
        yield AssertInterrupt(SHARED_RAS_SPI)
        yield WaitUntil(lambda: bool(counter.seen), ("counter:0x40000010",), "handled")
        return (yield from linux.driver.resume(pe))

    _, result, results, _ = _run(code, setup=with_events(SHARED_RAS, callback=counter))
    assert results == [0] and counter.seen == [(1, SHARED_RAS)]
    assert result.violation is not None
    assert result.violation.invariant == "masked-cpu-event"
    assert "CPU1, which the driver masked for suspend" in result.violation.message


def test_clients_exist_only_from_their_release() -> None:
    _, result, results, _ = _run(lambda linux, pe: linux.ghes_probe(pe, SHARED_RAS), era="v4.16")
    assert results == [EINVAL]  # the SDEI notification type is unknown before v5.1
    assert result.violation is None, result.violation
    with pytest.raises(ScenarioCodeError, match=r"agdi_probe\(\) does not exist in era v5.7"):
        _run(lambda linux, pe: linux.agdi_probe(pe, SOFTWARE_EVENT), era="v5.7")


def test_a_fault_before_a_thread_first_step_excuses_none_of_its_calls() -> None:
    """A racing thread's first call begins before the race does (`Engine.spawn`), but the
    faults it met are those fired from its first step on: CPU1's call, run after CPU0's
    failed one, did not meet CPU0's fault - an EPERM from it would be unexpected."""
    b = boot(era="latest", cpus=2)
    b.machine.inject(
        FirmwareFault(Function.EVENT_REGISTER, -3, event=SHARED_RAS, pe=0, always=True)
    )
    linux = b.linux

    def failing(pe: PE) -> Gen:
        yield from linux.driver.register(pe, SHARED_RAS, Counter())

    def later(pe: PE) -> Gen:
        yield from linux.driver.unregister(pe, SHARED_RAS)

    class Cpu1Last:
        def choose(self, kind: str, options: Sequence[Any]) -> int:
            first = [i for i, o in enumerate(options) if kind != "step" or o[1] != 1]
            return first[0] if first else 0

    b.spawn(0, failing)
    b.spawn(1, later)
    result = b.machine.run(Cpu1Last())
    assert result.violation is None, result.violation
    calls = {c.name: c for c in linux.k.api_calls}
    assert calls["sdei_event_register"].result == EPERM
    assert calls["sdei_event_register"].injected
    assert not calls["sdei_event_unregister"].injected

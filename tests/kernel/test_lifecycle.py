"""Each lifecycle path of linux-client.md §4.7's table, with the firmware and driver state it
must leave behind (latest era, unless a test says otherwise)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sdei.abi import Function
from sdei.kernel import Counter, Linux
from sdei.kernel.core import EINPROGRESS, EIO, Gen
from sdei.machine import PE, AssertInterrupt, Machine, Observer, RunResult, Smc, WaitUntil
from sdei.scenarios.common import SHARED_RAS, SHARED_RAS_SPI, SOFTWARE_EVENT, Booted, boot

REGISTERED, ENABLED = 1, 2


def status(machine: Machine, cpu: int, event: int) -> int:
    return machine.firmware.call(cpu, Function.EVENT_STATUS, event)


def booted(era: str = "latest", cpus: int = 3) -> tuple[Booted, Counter]:
    counter = Counter()

    def setup(linux: Linux, pe: PE) -> Gen:
        for event in (SHARED_RAS, SOFTWARE_EVENT):
            assert (yield from linux.driver.register(pe, event, counter)) == 0
            assert (yield from linux.driver.enable(pe, event)) == 0

    return boot(era=era, cpus=cpus, setup=setup), counter


def run_on(b: Booted, cpu: int, code: Callable[[Linux, PE], Gen]) -> None:
    linux = b.linux
    b.spawn(cpu, lambda pe: code(linux, pe), "test")
    result = b.machine.run(max_steps=20_000)
    assert result.violation is None, result.violation
    assert result.status == "quiescent"


def test_boot_registers_everything_and_unmasks() -> None:
    b, _ = booted()
    m = b.machine
    assert b.linux.k.online == {0, 1, 2}
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED
    for cpu in range(3):
        assert status(m, cpu, SOFTWARE_EVENT) == REGISTERED | ENABLED
        assert not m.firmware.is_masked(cpu)
    event = b.linux.driver.events[SOFTWARE_EVENT]
    assert event.reregister and event.reenable


def test_cpu_offline_then_online() -> None:
    b, _ = booted()
    m = b.machine

    def offline(linux: Linux, pe: PE) -> Gen:
        yield from linux.hotplug.cpu_down(pe, 2)

    run_on(b, 0, offline)
    assert b.linux.k.online == {0, 1}
    assert status(m, 2, SOFTWARE_EVENT) == 0  # private: unregistered on that CPU
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED  # shared: unchanged
    assert m.firmware.is_masked(2)
    event = b.linux.driver.events[SOFTWARE_EVENT]
    assert event.reregister and event.reenable  # flags unchanged

    def online(linux: Linux, pe: PE) -> Gen:
        yield from linux.hotplug.cpu_up(pe, 2)

    run_on(b, 0, online)
    assert status(m, 2, SOFTWARE_EVENT) == REGISTERED | ENABLED
    assert not m.firmware.is_masked(2)


def test_idle_masks_around_power_down() -> None:
    b, _ = booted()
    m = b.machine
    seen: list[str] = []

    class Log(Observer):
        def firmware_call(
            self,
            step: int,
            pe: int,
            conduit: str,
            function: int,
            args: tuple[int, ...],
            result: int,
        ) -> None:
            if pe == 1:
                names = {
                    Function.PE_MASK: "mask",
                    Function.PE_UNMASK: "unmask",
                    0xC4000001: "suspend",
                }
                if function in names:
                    seen.append(names[function])

    m.observe(Log())
    run_on(b, 1, lambda linux, pe: linux.idle(pe))
    assert seen == ["mask", "suspend", "unmask"]
    assert status(m, 1, SOFTWARE_EVENT) == REGISTERED | ENABLED  # registrations kept
    assert not m.firmware.is_masked(1)


def test_event_during_idle_is_handled_after_wake() -> None:
    b, counter = booted()
    m = b.machine

    def idle_then_signal(linux: Linux, pe: PE) -> Gen:
        yield from linux.idle(pe)

    def signal(pe: PE) -> Gen:
        yield Smc(Function.EVENT_SIGNAL, SOFTWARE_EVENT, m.pes[1].mpidr)

    b.spawn(1, lambda pe: idle_then_signal(b.linux, pe), "idle")
    b.spawn(0, signal, "signal")
    result = m.run(seed=4, max_steps=20_000)
    assert result.violation is None, result.violation
    assert (1, SOFTWARE_EVENT) in counter.seen


def test_suspend_resume() -> None:
    b, _ = booted()
    m = b.machine
    run_on(b, 0, lambda linux, pe: linux.suspend(pe))
    assert b.linux.k.online == {0, 1, 2}
    for cpu in range(3):
        assert status(m, cpu, SOFTWARE_EVENT) == REGISTERED | ENABLED
        assert not m.firmware.is_masked(cpu)
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED


def test_hibernate_freeze_thaw_rebuilds_firmware_state() -> None:
    b, _ = booted()
    m = b.machine
    run_on(b, 0, lambda linux, pe: linux.hibernate(pe))
    for cpu in range(3):
        assert status(m, cpu, SOFTWARE_EVENT) == REGISTERED | ENABLED
        assert not m.firmware.is_masked(cpu)
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED
    events = b.linux.driver.events
    assert events[SHARED_RAS].reregister and events[SHARED_RAS].reenable


def test_hibernate_restore_through_boot_kernel_at_another_offset() -> None:
    b, counter = booted()
    m = b.machine
    image = b.linux
    after: dict[str, int] = {}

    def then(linux: Linux, pe: PE) -> Gen:
        after["entry"] = m.firmware.registration(SHARED_RAS)[0]
        yield AssertInterrupt(SHARED_RAS_SPI)

    run_on(b, 0, lambda linux, pe: linux.hibernate(pe, boot_kernel_base=0x9000_0000, then=then))
    kernels = m.shared["kernels"]
    assert [k.config.base for k in kernels] == [0x8008_0000, 0x9000_0000]
    boot_kernel = kernels[1]
    assert boot_kernel.successor is image  # the boot kernel handed over to the image
    assert m.shared["current"] is image and image.k.live and not boot_kernel.k.live
    assert image.notes["restored"]
    assert after["entry"] == image.symbol("__sdei_asm_handler")  # not the boot kernel's
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED
    for cpu in range(3):
        assert status(m, cpu, SOFTWARE_EVENT) == REGISTERED | ENABLED
    assert counter.seen[-1][1] == SHARED_RAS  # handled by the restored image


def test_kexec_leaves_a_clean_firmware_for_the_next_kernel() -> None:
    b, counter = booted()
    m = b.machine
    states: dict[str, object] = {}

    def after_kexec(new: Linux, pe: PE) -> Gen:
        states["fresh"] = [status(m, c, SOFTWARE_EVENT) for c in range(3)]
        states["shared"] = status(m, 0, SHARED_RAS)
        assert (yield from new.driver.register(pe, SHARED_RAS, counter)) == 0
        assert (yield from new.driver.enable(pe, SHARED_RAS)) == 0
        yield AssertInterrupt(SHARED_RAS_SPI)

    run_on(b, 0, lambda linux, pe: linux.kexec(pe, 0xA000_0000, after_kexec))
    assert states["fresh"] == [0, 0, 0] and states["shared"] == 0  # reset by the old kernel
    new = b.linux.successor
    assert new is not None
    assert m.firmware.registration(SHARED_RAS)[0] == new.symbol("__sdei_asm_handler")
    assert b.linux.driver.events[SHARED_RAS].reregister  # the old driver's flags are stale
    assert counter.seen[-1] == (0, SHARED_RAS)


def test_reboot_resets_firmware() -> None:
    b, _ = booted()
    m = b.machine

    def reboot(linux: Linux, pe: PE) -> Gen:
        yield from linux.reboot_notifiers(pe)

    run_on(b, 0, reboot)
    assert status(m, 0, SHARED_RAS) == 0
    assert all(status(m, c, SOFTWARE_EVENT) == 0 for c in range(3))
    assert all(m.firmware.is_masked(c) for c in range(3))


def test_panic_masks_every_cpu_and_parks_them() -> None:
    b, _ = booted()
    m = b.machine
    b.spawn(0, lambda pe: b.linux.panic(pe, "test"), "panic")
    result = m.run(max_steps=20_000)
    assert result.violation is None, result.violation
    assert all(m.firmware.is_masked(c) for c in range(3))
    assert all(pe.parked for pe in m.pes)
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED  # unchanged


@pytest.mark.parametrize(("era", "aborted"), [("v6.4", False), ("v6.6", True)])
def test_crash_inside_a_handler(era: str, aborted: bool) -> None:
    from sdei.scenarios.api import Options
    from sdei.scenarios.builtin import crash_in_handler

    machine = crash_in_handler.SCENARIO.build(Options(era=era))
    result = machine.run(max_steps=20_000)
    running = [cpu for cpu in range(len(machine.pes)) if machine.firmware.handler_running(cpu)]
    if aborted:
        assert running == []
        assert result.violation is None, result.violation
    else:
        assert len(running) == 1  # the crashed handler still runs as far as firmware knows
        assert result.violation is not None
        assert result.violation.invariant == "crash-kernel-interrupts"


def test_mark_broken_masks_all_and_later_calls_fail_with_eio() -> None:
    b, _ = booted()
    m = b.machine
    results: list[int] = []

    def broken(linux: Linux, pe: PE) -> Gen:
        yield from linux.driver.mark_broken(pe)
        results.append((yield from linux.driver.register(pe, 0x4000_0011, Counter())))
        results.append((yield from linux.driver.mask_local(pe)))

    run_on(b, 0, broken)
    assert all(m.firmware.is_masked(c) for c in range(3))
    assert results == [EIO, 0]  # register fails at GET_INFO; mask reports success (§2.9)
    assert status(m, 0, SHARED_RAS) == REGISTERED | ENABLED  # unchanged


def _unregister_while_running(patches: tuple[str, ...]) -> tuple[Booted, RunResult, dict[str, int]]:
    counter = Counter()

    def setup_events(linux: Linux, pe: PE) -> Gen:
        for event in (SHARED_RAS, SOFTWARE_EVENT):
            assert (yield from linux.driver.register(pe, event, counter)) == 0
            assert (yield from linux.driver.enable(pe, event)) == 0

    b = boot(era="latest", patches=patches, cpus=3, setup=setup_events)
    m = b.machine
    critical_shared = 0x4000_0011  # reference platform: shared critical event on SPI 201
    outcome: dict[str, int] = {}

    def slow(pe: PE, event: int, regs: tuple[int, ...], arg: object) -> Gen:
        yield WaitUntil(lambda: "first" in outcome or "waiting" in outcome, label="unregister")
        return 0

    def setup(pe: PE) -> Gen:
        assert (yield from b.linux.driver.register(pe, critical_shared, slow)) == 0
        assert (yield from b.linux.driver.enable(pe, critical_shared)) == 0
        yield AssertInterrupt(201)

    def unregister(pe: PE) -> Gen:
        yield WaitUntil(lambda: m.firmware.runner(critical_shared) is not None, label="running")
        outcome["waiting"] = 1
        outcome["first"] = yield from b.linux.driver.unregister(pe, critical_shared)
        outcome["status"] = status(m, pe.index, critical_shared)

    b.spawn(0, setup, "register")
    b.spawn(1, unregister, "unregister")
    return b, m.run(max_steps=20_000), outcome  # the default chooser lands it on CPU0


def test_unregister_while_a_shared_handler_runs_leaves_a_zombie_event() -> None:
    """Today's driver (linux-client.md §12 L4): firmware says EINPROGRESS, the driver clears
    both flags and keeps the event in its list, where nothing will ever remove it."""
    b, result, outcome = _unregister_while_running(())
    assert outcome["first"] == EINPROGRESS
    assert outcome["status"] == 4  # handler-unregister-pending (DEN0054C 5.1.8)
    assert result.violation is not None and result.violation.invariant == "zombie-event"
    event = b.linux.driver.events[0x4000_0011]
    assert not event.reregister and not event.reenable


def test_unregister_waiting_for_the_running_handler_removes_the_event() -> None:
    b, result, outcome = _unregister_while_running(("unregister-waits-for-pending",))
    assert result.violation is None, result.violation
    assert outcome["first"] == 0
    assert outcome["status"] == 0
    assert 0x4000_0011 not in b.linux.driver.events

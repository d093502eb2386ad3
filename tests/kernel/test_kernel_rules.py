"""The kernel's rules that bound which interleavings exist (linux-client.md §11): each kept by
the model, shown by a search that cannot break it or by the order it imposes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sdei.abi import Function
from sdei.explore import explore
from sdei.explore.budget import Budget
from sdei.explore.dfs import DfsSearch
from sdei.explore.execution import Execution
from sdei.explore.target import Target
from sdei.firmware import Platform
from sdei.kernel import BootConfig, Counter, Linux
from sdei.kernel.core import EBUSY, Gen
from sdei.machine import PE, FirmwareFault, Local, Machine, MachineConfig, Observer
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, SOFTWARE_EVENT, boot, registering

PLATFORM_CRITICAL = 0x4000_0011  # the reference platform's second shared event


class Calls(Observer):
    """Every firmware call in order, as (PE, function, first argument), after `start` notes."""

    def __init__(self, machine: Machine, *, after_note: str = "") -> None:
        self.calls: list[tuple[int, int, int]] = []
        self.recording = not after_note
        self.after_note = after_note
        machine.observe(self)

    def note(self, step: int, pe: int, text: str, data: dict[str, Any]) -> None:
        if self.after_note and text.endswith(self.after_note):
            self.recording = True

    def firmware_call(
        self, step: int, pe: int, conduit: str, function: int, args: tuple[int, ...], result: int
    ) -> None:
        if self.recording:
            self.calls.append((pe, function, args[0] if args else 0))

    def of(self, function: int) -> list[tuple[int, int]]:
        return [(pe, arg) for pe, f, arg in self.calls if f == function]


def _all_outcomes(scenario: Scenario, era: str, budget: float = 120) -> list[Execution]:
    """Every execution of a complete dfs (it must complete)."""
    seen: list[Execution] = []

    def visit(machine: Machine, execution: Execution) -> None:
        seen.append(execution)

    target = Target.make(scenario, era=era)
    result = DfsSearch(target).run(Budget(budget, None), visit=visit)
    assert result.complete, f"{scenario.name} {era}: {result.executions} executions, cut"
    return seen


def _race(name: str, api: str) -> Scenario:
    """`api` on a private event from CPU0 (a cross-call) while CPU1 takes CPU2 down."""

    def build(options: Options) -> Machine:
        booted = boot(era=options.era, cpus=3, setup=registering(SOFTWARE_EVENT))
        linux = booted.linux

        def call(pe: PE) -> Gen:
            return (yield from getattr(linux.driver, api)(pe, SOFTWARE_EVENT))

        booted.spawn(0, call, api)
        booted.spawn(1, lambda pe: linux.hotplug.cpu_down(pe, 2), "offline CPU2")
        return booted.machine

    return Scenario(name, "", build, max_steps=3_000)


@pytest.mark.parametrize("era", ["v4.16", "latest"])
@pytest.mark.parametrize("api", ["disable", "enable"])
def test_cross_calls_pin_their_cpu(era: str, api: str) -> None:
    """No CPU leaves the online mask between a cross-call's snapshot and its IPIs: no IPI is
    lost and no caller waits for ever. (Before the model kept this rule, random search found
    such a deadlock within a few dozen executions in three of these four cases.)"""
    scenario = _race(f"{api}-vs-down", api)
    for strategy in ("random", "pct"):
        report = explore(scenario, era=era, strategy=strategy, executions=400, shrink=False)
        assert (
            report.counterexample is None or report.counterexample.violation.invariant != "deadlock"
        ), report.status()


def test_cross_calls_pin_their_cpu_complete() -> None:
    """The same, proved by a complete search where the hotplug lock keeps it small."""
    outcomes = _all_outcomes(_race("enable-vs-down", "enable"), "latest")
    assert all(e.violation is None for e in outcomes)


def test_hotplug_is_refused_during_hibernation() -> None:
    """A cpu_up() racing hibernation either finishes before it begins or gets -EBUSY."""
    results: list[int] = []

    def build(options: Options) -> Machine:
        booted = boot(era="latest", cpus=3, online=(0, 1), setup=registering(SOFTWARE_EVENT))
        linux = booted.linux

        def user(pe: PE) -> Gen:
            results.append((yield from linux.hotplug.cpu_up(pe, 2)))

        booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
        booted.spawn(1, user, "online CPU2")
        return booted.machine

    scenario = Scenario("hibernate-vs-up", "", build, max_steps=5_000)
    report = explore(scenario, strategy="random", executions=300, shrink=False)
    assert report.counterexample is None, report.status()
    assert set(results) == {0, EBUSY}


def test_a_failed_freeze_gets_no_thaw() -> None:
    """drivers/base/power/main.c gives a device whose .freeze failed no .thaw: hibernation is
    aborted and SDEI stays torn down (every PE masked - latent issue L3)."""
    booted = boot(era="latest", cpus=3, setup=registering(SHARED_RAS))
    machine, linux = booted.machine, booted.linux
    machine.inject(FirmwareFault(Function.EVENT_UNREGISTER, -3, event=SHARED_RAS, always=True))
    calls = Calls(machine)
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    result = machine.run(max_steps=20_000)
    assert result.violation is not None and result.violation.invariant == "online-unmasked"
    assert linux.notes["phase"] == "aborted"
    assert (0, SHARED_RAS) not in calls.of(Function.EVENT_REGISTER)  # no .thaw re-registered
    assert not any(s.name == "SDEI" for s in linux.hotplug.states.values())  # nor reinstalled
    assert linux.hotplug.disabled == 0  # PM_POST_HIBERNATION re-enabled hotplug


def test_restore_runs_with_the_secondaries_online() -> None:
    """create_image() brings the secondaries back before `.restore`: its platform reset's
    PRIVATE_RESET cross-call reaches every CPU."""
    booted = boot(era="latest", cpus=3, setup=registering(SHARED_RAS, SOFTWARE_EVENT))
    linux = booted.linux
    calls = Calls(booted.machine, after_note=": restored")
    booted.spawn(0, lambda pe: linux.hibernate(pe, boot_kernel_base=0x9000_0000), "hibernate")
    result = booted.machine.run(max_steps=40_000)
    assert result.violation is None, result.violation
    assert sorted(pe for pe, _ in calls.of(Function.PRIVATE_RESET)) == [0, 1, 2]
    assert linux.notes.get("restored")


def test_probe_runs_after_smp_bringup() -> None:
    """sdei_init is an initcall, after smp_init(): the probe's PRIVATE_RESET cross-call
    reaches every CPU."""
    machine = Machine(MachineConfig(Platform.reference(3), powered_on=(0,)))
    linux = Linux(machine, BootConfig(era="latest"))
    calls = Calls(machine)
    machine.spawn(0, linux.start_kernel, name="boot")
    assert machine.run().violation is None
    assert sorted(pe for pe, _ in calls.of(Function.PRIVATE_RESET)) == [0, 1, 2]


def test_sdei_list_is_walked_newest_first() -> None:
    booted = boot(era="latest", cpus=2, setup=registering(SHARED_RAS, PLATFORM_CRITICAL))
    calls = Calls(booted.machine)
    linux = booted.linux
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    booted.machine.run(max_steps=20_000)
    unregistered = [event for _, event in calls.of(Function.EVENT_UNREGISTER)]
    assert unregistered[:2] == [PLATFORM_CRITICAL, SHARED_RAS]  # freeze: the newest first


def test_a_dying_cpu_flushes_cross_calls_before_the_sdei_teardown() -> None:
    """CPUHP_AP_SMPCFD_DYING comes before CPUHP_AP_ARM_SDEI_STARTING on the way down."""
    booted = boot(era="v4.16", cpus=3, setup=registering(SOFTWARE_EVENT))
    linux, machine = booted.linux, booted.machine
    calls = Calls(machine)

    def queued(pe: PE) -> Gen:
        yield Local("queued cross-call work")
        yield from linux.driver.call(pe, Function.EVENT_STATUS, SOFTWARE_EVENT)

    def dying(pe: PE) -> Gen:
        yield from linux.k.local_irq_save(pe)
        pe.ipi_queue.append(queued)
        yield from linux.hotplug._take_cpu_down(pe)

    machine.spawn(2, dying)
    machine.run()
    on_cpu2 = [function for pe, function, _ in calls.calls if pe == 2]
    assert on_cpu2[:3] == [Function.EVENT_STATUS, Function.EVENT_UNREGISTER, Function.PE_MASK]


@pytest.mark.parametrize(
    ("patches", "cleared_first"), [((), True), (("hibernate-leave-flags",), False)]
)
def test_v4_16_register_failure_clears_the_flags_before_the_clean_up(
    patches: tuple[str, ...], cleared_first: bool
) -> None:
    """v4.16's _sdei_event_register clears reregister/reenable before its UNREGISTER
    cross-call; with B5's fix (6ded0b61cf63) the caller clears them after it."""
    seen: list[bool] = []
    booted = boot(era="v4.16", patches=patches, cpus=2)
    linux, machine = booted.linux, booted.machine
    machine.inject(
        FirmwareFault(Function.EVENT_REGISTER, -3, event=SOFTWARE_EVENT, pe=1, always=True)
    )

    class FirstUnregister(Calls):
        def firmware_call(
            self,
            step: int,
            pe: int,
            conduit: str,
            function: int,
            args: tuple[int, ...],
            result: int,
        ) -> None:
            if function == Function.EVENT_UNREGISTER and not seen:
                seen.append(linux.driver.events[SOFTWARE_EVENT].reregister)

    FirstUnregister(machine)
    booted.spawn(0, lambda pe: linux.driver.register(pe, SOFTWARE_EVENT, Counter()), "register")
    machine.run()
    assert seen == [not cleared_first]
    assert SOFTWARE_EVENT not in linux.driver.events


def test_b6_deadlocks_in_thaws_own_destroy() -> None:
    """B6 by its own mechanism: v4.16 with B5's fix, a failing thaw re-register."""
    from sdei.scenarios.builtin import thaw_failure

    def deadlock(patches: tuple[str, ...]) -> str:
        target = Target.make(thaw_failure.SCENARIO, era="v4.16", patches=patches)
        result = target.build().run(max_steps=5_000)
        assert result.violation is not None and result.violation.invariant == "deadlock"
        return result.violation.message

    assert "thaw > _destroy" in deadlock(())  # the scenario carries hibernate-leave-flags
    plain = Target.make(dataclasses.replace(thaw_failure.SCENARIO, patches=()), era="v4.16")
    result = plain.build().run(max_steps=5_000)
    assert result.violation is not None and "_unregister_event" in result.violation.message

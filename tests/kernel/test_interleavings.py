"""The interleaving bugs (B7, B8, B11), each shown with a hand-written schedule that tells the
bug's story: it breaks the buggy era, and the same schedule leaves the fixed era sound. The
review-era stories (R1, R2) are replayed too: the kernel's rules keep them from happening."""

from __future__ import annotations

import pytest
from schedules import Phase, Schedule, context_waits

from sdei.kernel.core import EBUSY
from sdei.machine import Machine, RunResult
from sdei.scenarios.api import Options
from sdei.scenarios.builtin import (
    hibernate_hotplug,
    nested_nmi,
    probe_hotplug,
    register_hotplug,
    rt_hotplug,
)
from sdei.scenarios.common import SOFTWARE_EVENT


def blocked(machine: Machine, prefix: str) -> bool:
    """The context named `prefix...` cannot run now (waiting), or has finished."""
    live = [c for c in machine.contexts() if c.name.startswith(prefix)]
    if not live:
        return True
    enabled = {option[2] for option in machine.options() if option[0] == "run"}
    return all(c.ident not in enabled for c in live)


def run(machine: Machine, phases: list[Phase], fault_pe: int | None = None) -> RunResult:
    schedule = Schedule(machine, phases)
    if fault_pe is not None:
        original = schedule.choose

        def choose(kind: str, options: object) -> int:
            if kind == "fault":
                running = machine.running
                return 1 if running is not None and running.pe == fault_pe else 0
            return original(kind, options)  # type: ignore[arg-type]

        schedule.choose = choose  # type: ignore[method-assign]
    return machine.run(schedule, max_steps=5_000)


def cpu2_online_or_stuck(machine: Machine) -> bool:
    return 2 in machine.shared["linux"].k.online or (
        blocked(machine, "online CPU2") and blocked(machine, "secondary_entry")
    )


def r2_schedule(machine: Machine) -> list[Phase]:
    # The review-era story: the probe runs until it has sent its unmask IPIs (v4 RFC) or waits
    # for the hotplug callbacks it installs; then CPU2 comes online; then everything else.
    def probe_at_window(m: Machine) -> bool:
        return (
            context_waits(m, "sdei probe", "unmask (probe)")
            or context_waits(m, "sdei probe", "SDEI up")
            or not any(c.name.startswith("sdei probe") for c in m.contexts())
        )

    return [
        Phase(("sdei probe", "irq", "cpuhp"), probe_at_window, note="probe at the window"),
        Phase(
            ("online CPU2", "secondary_entry", "cpuhp"), cpu2_online_or_stuck, note="CPU2 online"
        ),
    ]


@pytest.mark.parametrize("era", ["v4-rfc", "v4.16", "latest"])
def test_r2_story_cannot_happen(era: str) -> None:
    """The probe is an initcall: user space cannot bring CPU2 up until it is done, so the
    review-era window is never open (linux-client.md §11)."""
    machine = probe_hotplug.SCENARIO.build(Options(era=era))
    result = run(machine, r2_schedule(machine))
    assert result.violation is None, result.violation
    assert 2 in machine.shared["linux"].k.online and not machine.firmware.is_masked(2)


def r1_schedule(machine: Machine) -> list[Phase]:
    # The review-era story: hibernation runs until thaw is waiting; then CPU2 comes online.
    def thaw_waits(m: Machine) -> bool:
        linux = m.shared["linux"]
        return bool(linux.notes.get("phase") == "thaw" and blocked(m, "hibernate"))

    return [
        Phase(
            ("hibernate", "cpuhp", "migration", "secondary_entry"), thaw_waits, note="thaw waits"
        ),
        Phase(("online CPU2", "secondary_entry"), cpu2_online_or_stuck, note="CPU2 online"),
    ]


@pytest.mark.parametrize("era", ["v4-rfc", "v4.16", "v5.7", "latest"])
def test_r1_story_cannot_happen(era: str) -> None:
    """Hibernation disables CPU hotplug: the cpu_up() gets -EBUSY instead of racing thaw."""
    machine = hibernate_hotplug.SCENARIO.build(Options(era=era))
    result = run(machine, r1_schedule(machine))
    assert result.violation is None, result.violation
    online_cpu2 = next(c for c in machine.contexts(finished=True) if c.name == "online CPU2")
    assert online_cpu2.result == EBUSY
    assert 2 not in machine.shared["linux"].k.online


def b7_schedule(machine: Machine) -> list[Phase]:
    # v4.16 sets `reregister` first; CPU2's STARTING callback then registers the event there
    # while CPU2 is not yet online; REGISTER fails on CPU1 (injected), so the caller clears the
    # flags, cleans up on the CPUs its cross-call sees - not CPU2 - and frees the event.
    linux = machine.shared["linux"]

    def flag_set(m: Machine) -> bool:
        event = linux.driver.events.get(SOFTWARE_EVENT)
        return event is not None and event.reregister

    def registered_on_cpu2(m: Machine) -> bool:
        return bool(m.firmware.call(2, 0xC4000028, SOFTWARE_EVENT) & 1)

    return [
        Phase(("register",), flag_set, note="reregister set"),
        Phase(
            ("online CPU2", "secondary_entry"),
            registered_on_cpu2,
            deliver=False,
            note="CPU2's STARTING callback registers",
        ),
        Phase(("register", "irq"), lambda m: blocked(m, "register"), note="register gives up"),
    ]


@pytest.mark.parametrize(("era", "broken"), [("v4.16", True), ("v5.7", False), ("latest", False)])
def test_b7_register_races_hotplug(era: str, broken: bool) -> None:
    machine = register_hotplug.SCENARIO.build(Options(era=era))
    result = run(machine, b7_schedule(machine), fault_pe=1)
    if broken:
        assert result.violation is not None
        assert result.violation.invariant == "live-driver-memory"
        assert "CPU2" in result.violation.message and "freed" in result.violation.message
    else:
        assert result.violation is None, result.violation
        assert machine.firmware.call(2, 0xC4000028, 0) == 0  # not registered on CPU2


def b8_schedule(machine: Machine) -> list[Phase]:
    pe0 = machine.pes[0]
    firmware = machine.firmware
    return [
        Phase(("vcpu run",), lambda m: pe0.guest_loaded, deliver=False, note="guest runs"),
        Phase(("signal CPU0",), lambda m: bool(firmware.running(0)), note="normal event in"),
        # The normal handler runs until its NMI entry has set TGE (HCR saved)...
        Phase(
            ("__sdei_asm_handler(0x0)",),
            lambda m: pe0.hcr_tge and len(firmware.running(0)) == 1,
            deliver=False,
            note="TGE set by the normal entry",
        ),
        # ...and then the critical event arrives.
        Phase(
            ("firmware critical error",),
            lambda m: len(firmware.running(0)) == 2,
            note="critical event nests",
        ),
    ]


@pytest.mark.parametrize(("era", "broken"), [("v5.7", True), ("v5.8", False), ("latest", False)])
def test_b8_nested_nmi_clobbers_hcr(era: str, broken: bool) -> None:
    machine = nested_nmi.SCENARIO.build(Options(era=era))
    result = run(machine, b8_schedule(machine))
    if broken:
        assert result.violation is not None
        assert result.violation.invariant == "vhe-tge"
    else:
        assert result.violation is None, result.violation
        assert not machine.pes[0].hcr_tge or not machine.pes[0].guest_loaded


@pytest.mark.parametrize(("era", "broken"), [("v5.7", True), ("v6.4", False), ("latest", False)])
def test_b11_rt_sleeping_lock_in_starting_callback(era: str, broken: bool) -> None:
    machine = rt_hotplug.SCENARIO.build(Options(era=era))
    result = run(machine, [])
    if broken:
        assert result.violation is not None
        assert result.violation.invariant == "kernel-assertion"
        assert "sleeping function called from invalid context" in result.violation.message
        assert "irqs disabled" in result.violation.message
    else:
        assert result.violation is None, result.violation

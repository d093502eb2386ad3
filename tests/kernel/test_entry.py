"""The arm64 entry path's details: two SDEI stacks per CPU, PAN on entry (B10), and probe
giving up on a non-VHE kernel booted at EL2 (linux-client.md §3.4, §5)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sdei.abi import PSTATE_PAN, Function
from sdei.kernel import Linux
from sdei.kernel.core import Gen
from sdei.machine import PE, Local, RaiseEvent, Smc
from sdei.scenarios.common import PRIVATE_CRITICAL, SOFTWARE_EVENT, boot


def test_a_critical_event_nests_on_the_critical_stack() -> None:
    seen: dict[str, int] = {}
    holder: dict[str, Linux] = {}

    def normal(pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        seen["normal"] = pe.sp_elx[1]
        yield RaiseEvent(PRIVATE_CRITICAL, pe.index)  # firmware's critical error, right now
        yield Local("normal callback goes on")
        seen["normal after"] = pe.sp_elx[1]
        return 0

    def critical(pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        seen["critical"] = pe.sp_elx[1]
        yield Local("critical callback")
        return 0

    def setup(linux: Linux, pe: PE) -> Gen:
        holder["linux"] = linux
        for event, callback in ((SOFTWARE_EVENT, normal), (PRIVATE_CRITICAL, critical)):
            assert (yield from linux.driver.register(pe, event, callback)) == 0
            assert (yield from linux.driver.enable(pe, event)) == 0

    booted = boot(era="latest", cpus=2, setup=setup)
    machine, k = booted.machine, holder["linux"].k
    before = machine.pes[1].sp_elx[1]

    def signal(pe: PE) -> Gen:
        yield Smc(Function.EVENT_SIGNAL, SOFTWARE_EVENT, machine.pes[1].mpidr)

    booted.spawn(0, signal, "signal CPU1")
    result = machine.run()
    assert result.violation is None, result.violation
    normal_top, critical_top = k.sdei_stacks[1]
    assert seen == {"normal": normal_top, "critical": critical_top, "normal after": normal_top}
    assert machine.pes[1].sp_elx[1] == before  # the interrupted SP is back
    assert k.sdei_stack_users == {}


@pytest.mark.parametrize(("era", "pan"), [("v4.16", 0), ("latest", PSTATE_PAN)])
def test_pan_on_entry_follows_the_era(era: str, pan: int) -> None:
    seen: list[int] = []

    def callback(pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        seen.append(pe.pstate & PSTATE_PAN)
        yield Local("callback")
        return 0

    def setup(linux: Linux, pe: PE) -> Gen:
        yield from linux.driver.register(pe, SOFTWARE_EVENT, callback)
        yield from linux.driver.enable(pe, SOFTWARE_EVENT)

    booted = boot(era=era, cpus=2, setup=setup)
    machine = booted.machine
    # Firmware that leaves PAN as the interrupted context had it (clear here): only a kernel
    # that sets PAN itself (B10, v5.11+) runs its callback with PAN set.
    machine.firmware.platform = replace(machine.platform, feat_pan=False)

    def signal(pe: PE) -> Gen:
        yield Smc(Function.EVENT_SIGNAL, SOFTWARE_EVENT, machine.pes[1].mpidr)

    booted.spawn(0, signal, "signal")
    assert machine.run().violation is None
    assert seen == [pan]


def test_a_non_vhe_kernel_booted_at_el2_gives_up_on_sdei() -> None:
    from sdei.firmware import Platform
    from sdei.kernel import BootConfig
    from sdei.machine import Machine, MachineConfig

    machine = Machine(MachineConfig(Platform.reference(2), powered_on=(0,)))
    linux = Linux(machine, BootConfig(booted_el2=True, vhe=False))
    machine.spawn(0, linux.start_kernel)
    assert machine.run().violation is None
    assert any(
        "Not supported on this hardware/boot configuration" in line
        for _, line in linux.k.printk.lines
    )
    assert linux.driver.conduit is None and not linux.driver.probed
    assert all(machine.firmware.is_masked(cpu) for cpu in range(2))

"""B11: PREEMPT_RT, where the list lock sleeps, with hotplug callbacks in the STARTING
section (IRQs off): "sleeping function called from invalid context" (fixed in v6.4 by moving
them to ONLINE_DYN, d2c48b2387eb). It fires whenever the callbacks run with IRQs off - at
probe, where installing the state runs "up" in each online CPU's hotplug thread, and when a
CPU comes online - so every interleaving shows it in v5.7. User space brings CPU2 online once
the initcalls (the probe among them) are done.

PREEMPT_RT was an out-of-tree patch set until v6.12 merged it: the v5.7 kernel here is v5.7
with the RT patches applied, as the bug's reporters ran it."""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Access, Machine, WaitUntil
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import boot_for


def build(options: Options) -> Machine:
    booted = boot_for(options, 3, online=(0, 1), rt=True, probe=False)
    linux = booted.linux
    initcalls: list[bool] = []

    def probe(pe: PE) -> Gen:
        err = yield from linux.driver.probe(pe, "smc")
        yield Access("initcalls")
        initcalls.append(True)
        return err

    def user_space(pe: PE) -> Gen:
        yield WaitUntil(lambda: bool(initcalls), ("initcalls",), "initcalls done", stable=True)
        return (yield from linux.hotplug.cpu_up(pe, 2))

    booted.spawn(0, probe, "sdei probe (initcall)")
    if "hotplug" not in options.disabled_actions:
        booted.spawn(1, user_space, "online CPU2")
    return booted.machine


SCENARIO = Scenario(
    name="rt-hotplug",
    description="PREEMPT_RT: probe and hotplug run the SDEI callbacks with IRQs off (B11)",
    build=build,
    buggy_eras=("v5.7",),
    fixed_eras=("v6.4", "v6.6", "v6.12", "latest"),
    expected_invariant="kernel-assertion",
    default_cpus=3,
    actions=("hotplug",),
)

"""B11: PREEMPT_RT, where the list lock sleeps, with hotplug callbacks in the STARTING
section (IRQs off): "sleeping function called from invalid context" (fixed in v6.4 by moving
them to ONLINE_DYN, d2c48b2387eb). It fires whenever the callbacks run - at probe or when a
CPU comes online - so every interleaving of this scenario shows it in v5.7."""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import boot


def build(options: Options) -> Machine:
    booted = boot(
        era=options.era,
        profile=options.profile,
        cpus=options.cpus or 3,
        online=(0, 1),
        rt=True,
        probe=False,
    )
    linux = booted.linux

    def probe(pe: PE) -> Gen:
        return (yield from linux.driver.probe(pe, "smc"))

    booted.spawn(0, probe, "sdei probe")
    if "hotplug" not in options.disabled_actions:
        booted.spawn(1, lambda pe: linux.hotplug.cpu_up(pe, 2), "online CPU2")
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

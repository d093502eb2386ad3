"""B12: freeze removes the hotplug state by the entry-point address instead of the saved
dynamic id (v6.4 .. v6.12-rc, fixed by c83212d79be2): the hotplug core's check BUGs."""

from __future__ import annotations

from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, boot_for, registering


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, setup=registering(SOFTWARE_EVENT))
    linux = booted.linux
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    return booted.machine


SCENARIO = Scenario(
    name="freeze-state-id",
    description="hibernation freeze passes the wrong hotplug state id (B12)",
    build=build,
    buggy_eras=("v6.4", "v6.6"),
    fixed_eras=("v6.12", "latest"),
    expected_invariant="kernel-assertion",
    default_cpus=2,
)

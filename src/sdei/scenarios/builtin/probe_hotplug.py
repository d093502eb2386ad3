"""R2: the SDEI probe races CPU hotplug (v4 RFC: unmask by IPI, then callbacks without calls).

A CPU that comes online after the probe's IPI snapshot and before the hotplug callbacks are
installed never runs the "up" callback: it stays masked. From v4.16 the state is installed
with calls under the hotplug lock.
"""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import boot


def build(options: Options) -> Machine:
    booted = boot(
        era=options.era, profile=options.profile, cpus=options.cpus or 3, online=(0, 1), probe=False
    )
    linux = booted.linux

    def probe(pe: PE) -> Gen:
        return (yield from linux.driver.probe(pe, "smc"))

    booted.spawn(0, probe, "sdei probe")
    if "hotplug" not in options.disabled_actions:
        booted.spawn(1, lambda pe: linux.hotplug.cpu_up(pe, 2), "online CPU2")
    return booted.machine


SCENARIO = Scenario(
    name="probe-hotplug",
    description="SDEI probe racing a CPU coming online (R2)",
    build=build,
    buggy_eras=("v4-rfc",),
    fixed_eras=("v4.16", "v5.7", "v5.8", "v6.4", "v6.6", "v6.12", "latest"),
    expected_invariant="online-unmasked",
    also_violates=("flags-agree",),
    default_cpus=3,
    actions=("hotplug",),
)

"""R1: hibernation races CPU hotplug (v4 RFC's `frozen` flag).

CPU2 is brought online by a hotplug thread while CPU0 hibernates. In the v4 RFC design the
hotplug callbacks skip SDEI work while `frozen` is set, and thaw re-registers by a cross-call
whose online-mask snapshot can miss CPU2: CPU2 ends up online, masked, without its private
event. From v4.16 freeze removes the hotplug state and thaw re-installs it under the hotplug
lock. (v6.4 and v6.6 hit B12 first on any hibernation.)
"""

from __future__ import annotations

from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, boot, registering


def build(options: Options) -> Machine:
    booted = boot(
        era=options.era,
        profile=options.profile,
        cpus=options.cpus or 3,
        online=(0, 1),
        setup=registering(SOFTWARE_EVENT),
    )
    linux = booted.linux
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    if "hotplug" not in options.disabled_actions:
        booted.spawn(0, lambda pe: linux.hotplug.cpu_up(pe, 2), "online CPU2")
    return booted.machine


SCENARIO = Scenario(
    name="hibernate-hotplug",
    description="hibernation (freeze/thaw) racing a CPU coming online (R1)",
    build=build,
    buggy_eras=("v4-rfc",),
    fixed_eras=("v4.16", "v5.7", "v5.8", "v6.12", "latest"),
    expected_invariant="flags-agree",
    also_violates=("online-unmasked",),
    default_cpus=3,
    actions=("hotplug",),
)

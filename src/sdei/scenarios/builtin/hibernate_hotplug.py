"""R1: hibernation racing CPU hotplug - a review-era question the kernel's rules rule out.

The v4 RFC kept a global `frozen` flag: freeze set it, the hotplug callbacks skipped SDEI work
while it was set, thaw re-registered by a cross-call and cleared it. The review worried that
a CPU coming online during thaw could miss both the callback and the cross-call. No kernel
can interleave that way (linux-client.md §11): hibernation disables CPU hotplug from
PM_HIBERNATION_PREPARE until PM_POST_HIBERNATION, so a `cpu_up()` from anywhere else either
finishes before freeze begins (it holds cpu_add_remove_lock, which the disable waits for) or
returns -EBUSY; and the PM core's own offline/online of the secondaries happens between
`.freeze` and `.thaw`, with the callbacks silenced by the flag as designed.

Here CPU1 tries to bring CPU2 online while CPU0 hibernates. A complete search finds no
violation in any era, the RFC's included - which is the point: the scenario shows that the
model refuses the interleaving the review-era story needs. (v6.4 and v6.6 are left out: every
hibernation there hits B12 first.)
"""

from __future__ import annotations

from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, boot_for, registering


def build(options: Options) -> Machine:
    booted = boot_for(options, 3, online=(0, 1), setup=registering(SOFTWARE_EVENT))
    linux = booted.linux
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    if "hotplug" not in options.disabled_actions:
        booted.spawn(1, lambda pe: linux.hotplug.cpu_up(pe, 2), "online CPU2")
    return booted.machine


SCENARIO = Scenario(
    name="hibernate-hotplug",
    description="hibernation (freeze/thaw) racing a CPU coming online (R1, review era)",
    build=build,
    buggy_eras=(),
    fixed_eras=("v4-rfc", "v4.16", "v5.7", "v5.8", "v6.12", "latest"),
    expected_invariant="flags-agree",
    also_violates=("online-unmasked",),
    default_cpus=3,
    actions=("hotplug",),
    unreachable=(
        "hibernation disables CPU hotplug (cpu_hotplug_disable() at PM_HIBERNATION_PREPARE): "
        "no CPU comes online between freeze and thaw but the PM core's own, which the RFC's "
        "flag silences by design"
    ),
)

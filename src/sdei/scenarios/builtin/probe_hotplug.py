"""R2: the SDEI probe racing CPU hotplug - a review-era question the kernel's rules rule out.

The v4 RFC unmasked the online CPUs by an IPI broadcast and then installed its hotplug
callbacks without calling them; the review worried about a CPU coming online in between,
which would never run "up" and stay masked. No kernel interleaves that way (linux-client.md
§11): the driver probes from an initcall, after smp_init() has brought the secondaries up and
before user space exists, so nothing can hotplug a CPU while it probes.

Here user space (CPU1) brings CPU2 online once the initcalls are done, as it can on a kernel
booted with `maxcpus=2`. A complete search finds no violation in any era, the RFC's included.
"""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Access, Machine, WaitUntil
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import boot_for


def build(options: Options) -> Machine:
    booted = boot_for(options, 3, online=(0, 1), probe=False)
    linux = booted.linux
    initcalls: list[bool] = []

    def probe(pe: PE) -> Gen:
        err = yield from linux.driver.probe(pe, "smc")
        yield Access("initcalls")
        initcalls.append(True)  # user space starts after the initcalls
        return err

    def user_space(pe: PE) -> Gen:
        yield WaitUntil(lambda: bool(initcalls), ("initcalls",), "initcalls done", stable=True)
        return (yield from linux.hotplug.cpu_up(pe, 2))

    booted.spawn(0, probe, "sdei probe (initcall)")
    if "hotplug" not in options.disabled_actions:
        booted.spawn(1, user_space, "online CPU2")
    return booted.machine


SCENARIO = Scenario(
    name="probe-hotplug",
    description="SDEI probe and a CPU coming online (R2, review era)",
    build=build,
    buggy_eras=(),
    fixed_eras=("v4-rfc", "v4.16", "v5.7", "v5.8", "v6.4", "v6.6", "v6.12", "latest"),
    expected_invariant="online-unmasked",
    also_violates=("flags-agree",),
    default_cpus=3,
    actions=("hotplug",),
    unreachable=(
        "the driver probes from an initcall, after smp_init() and before user space: no CPU "
        "comes online while it probes"
    ),
)

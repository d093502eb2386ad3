"""L6: the PE mask is one bit, and an idle exit clears it while devices are suspended.

What makes it possible: `sdei_device_suspend()` (drivers/firmware/arm_sdei.c) masks every
CPU by IPI and `sdei_device_resume()` unmasks them. Meanwhile `sdei_pm_notifier()` unmasks a
CPU on every `CPU_PM_EXIT`, whoever masked it - firmware keeps one mask bit per PE, last writer
wins. cpuidle still runs after the devices' `.suspend` callbacks (`dpm_suspend()` comes before
`cpuidle_pause()` in `dpm_suspend_noirq()`), and in suspend-to-idle - all the system sleep a
PSCI platform without SYSTEM_SUSPEND has - every CPU then idles in its deepest state, through
CPU PM, until the wake-up (Documentation/admin-guide/pm/suspend-flows.rst): each idle exit
unmasks its CPU, and a firmware-first error is delivered while devices are suspended. The
same happens during `.freeze` (hibernation), where it is the trigger of L3, and in a deep
suspend before the secondaries go offline and on the boot CPU's syscore `CPU_PM_EXIT`.

Here CPU0 suspends the system to idle while CPU1 idles and a RAS error arrives. The fix: leave
a CPU the driver masked for suspend, freeze, reboot or a broken interface masked on
CPU_PM_EXIT (`--patch cpu-pm-respects-driver-mask`).
"""

from __future__ import annotations

from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, boot_for, ras_error, registering
from sdei.scenarios.latent.eras import RELEASES


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, setup=registering(SHARED_RAS))
    linux = booted.linux

    booted.spawn(0, lambda pe: linux.suspend(pe, to_idle=True), "suspend to idle")
    if "idle" not in options.disabled_actions:
        booted.spawn(1, lambda pe: linux.idle(pe), "idle")
    booted.spawn(1, ras_error, "RAS error")
    return booted.machine


SCENARIO = Scenario(
    name="idle-during-suspend",
    description="an idle exit unmasks a CPU that suspend-to-idle masked (L6)",
    build=build,
    buggy_eras=RELEASES,
    expected_invariant="masked-cpu-event",
    default_cpus=2,
    actions=("idle",),
    tags=("latent",),
    fix=("cpu-pm-respects-driver-mask",),
)

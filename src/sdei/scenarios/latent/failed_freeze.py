"""L3: a failed freeze leaves SDEI torn down, with a natural trigger (no injected fault).

What makes it possible, in drivers/firmware/arm_sdei.c: `sdei_device_freeze()` first removes
the hotplug state (every CPU masked, private events unregistered), then returns the error of
`sdei_unregister_shared()` (one UNREGISTER per shared event, stopping at the first error).
The PM core gives a device whose `.freeze` failed no `.thaw` (`device_suspend()` sets
`is_suspended` only on success; drivers/base/power/main.c), so the teardown is never undone:
until reboot the private events stay unregistered and the flags claim events firmware no
longer has; every CPU stays masked until an idle exit unmasks it (L6 again), and a CPU that
comes online later registers nothing the driver has not lost track of.

The trigger is L6: CPU1 idles after freeze has masked it, its `CPU_PM_EXIT` unmasks it, a RAS
error is delivered there, and freeze's UNREGISTER of the shared event meets the running
handler: PENDING, `-EINPROGRESS`, `.freeze` fails. (v4.16 deadlocks on B5 first; v6.4 and v6.6
BUG on B12 first.)

The trigger is the only one there is: until the teardown masks CPU1, its hotplug callback
cannot run under a handler on CPU1, so a handler still running at the UNREGISTER was delivered
after the mask. L6's own oracle, `masked-cpu-event`, is left to `idle-during-suspend`: here it
would report the trigger, not what the failed freeze leaves behind.

The fix it suggests: when the unregistration is PENDING wait for the handler, and undo the
teardown if freeze still fails (`--patch freeze-recovers`).
"""

from __future__ import annotations

from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, boot_for, ras_error, registering


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, setup=registering(SHARED_RAS))
    linux = booted.linux

    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    booted.spawn(1, lambda pe: linux.idle(pe), "idle")
    booted.spawn(1, ras_error, "RAS error")
    return booted.machine


SCENARIO = Scenario(
    name="freeze-fails",
    description="a handler still running fails .freeze, and nothing thaws SDEI again (L3)",
    build=build,
    buggy_eras=("v5.7", "v5.8", "v6.12", "latest"),
    expected_invariant="flags-agree",
    also_violates=("online-unmasked",),
    default_cpus=2,
    tags=("latent",),
    fix=("freeze-recovers",),
    unchecked=("masked-cpu-event",),
)

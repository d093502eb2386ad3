"""L2: a GHES source whose event registers but does not enable (an injected firmware fault).

What makes it possible: `sdei_register_ghes()` (drivers/firmware/arm_sdei.c, since v5.1)
calls `sdei_event_register(event, cb, ghes)` and then `sdei_event_enable()`, and returns the
enable's error with the event still registered - there is no rollback. `ghes_probe()`
(drivers/acpi/apei/ghes.c) takes its error path: `ghes_fini(ghes); kfree(ghes)`. Firmware
keeps the event registered with a record whose callback argument is the freed struct ghes,
and the driver keeps the event in `sdei_list`: probing the source again gets `-EBUSY`, and
nothing can free the event. The event stays disabled (`reenable` was never set), so the freed
argument reaches `ghes_sdei_normal_callback()` only if something enables it again - or, for a
private event, on the CPUs where a partial enable did succeed (L5).

It needs firmware that fails ENABLE after REGISTER succeeded, so the fault is injected (the
explorer decides whether it fires). The fix: unregister the event when enabling it fails
(`--patch register-ghes-rolls-back`).
"""

from __future__ import annotations

from sdei.abi import Function
from sdei.kernel.core import Gen
from sdei.machine import PE, FirmwareFault, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, boot_for
from sdei.scenarios.latent.eras import WITH_GHES

DENIED = -3


def build(options: Options) -> Machine:
    booted = boot_for(options, 2)
    linux, machine = booted.linux, booted.machine
    machine.inject(FirmwareFault(Function.EVENT_ENABLE, DENIED, event=SHARED_RAS))

    def probe(pe: PE) -> Gen:
        return (yield from linux.ghes_probe(pe, SHARED_RAS))

    booted.spawn(0, probe, "ghes_probe")
    return machine


SCENARIO = Scenario(
    name="ghes-enable-fails",
    description="ghes_probe() when enabling the event fails: its struct ghes is freed (L2)",
    build=build,
    buggy_eras=WITH_GHES,
    expected_invariant="stale-callback-arg",
    default_cpus=2,
    tags=("latent",),
    fix=("register-ghes-rolls-back",),
    needs=("ghes_helpers",),
)

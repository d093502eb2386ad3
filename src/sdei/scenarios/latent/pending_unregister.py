"""L4: unregistering an event whose handler is running, then retrying.

What makes it possible: DEN0054C 5.1.8 - UNREGISTER of an event whose handler runs returns
PENDING and firmware finishes the unregistration itself when the handler completes. In
drivers/firmware/arm_sdei.c, `sdei_event_unregister()` clears `reregister`/`reenable`, gets
`-EINPROGRESS` and returns it, leaving the event in `sdei_list`. The callers retry:
`sdei_unregister_ghes()` and `agdi_remove()` call `sdei_event_unregister()` up to three times
while it says `-EINPROGRESS`, with a `schedule()` between. Once the handler has completed,
the retry's UNREGISTER finds the event unregistered in firmware: DENIED, `-EPERM`, and the
event is never destroyed - it leaks in `sdei_list`, and binding the source again gives
`-EBUSY`.

Here `ghes_remove()` unregisters a GHES source's shared event while its handler runs on the
other CPU. The fix: on PENDING, wait until EVENT_STATUS says the event is unregistered, then
destroy it (`--patch unregister-waits-for-pending`).
"""

from __future__ import annotations

from collections.abc import Callable

from sdei.kernel import Linux
from sdei.kernel.core import Gen
from sdei.machine import PE, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, SetupError, boot_for, ras_error
from sdei.scenarios.latent.eras import WITH_GHES


def probe_ghes(event: int) -> Callable[[Linux, PE], Gen]:
    """A set-up that probes a GHES source notified by `event` (ghes_probe)."""

    def setup(linux: Linux, pe: PE) -> Gen:
        err = yield from linux.ghes_probe(pe, event)
        if err:
            raise SetupError(f"ghes_probe({event:#x}) returned {err}")

    return setup


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, setup=probe_ghes(SHARED_RAS))
    linux = booted.linux

    booted.spawn(0, lambda pe: linux.ghes_remove(pe, SHARED_RAS), "ghes_remove")
    booted.spawn(1, ras_error, "RAS error")
    return booted.machine


SCENARIO = Scenario(
    name="unregister-running",
    description="ghes_remove() while the GHES event's handler runs: retries end DENIED (L4)",
    build=build,
    buggy_eras=WITH_GHES,
    expected_invariant="unexpected-api-error",
    also_violates=("zombie-event",),
    default_cpus=2,
    tags=("latent",),
    fix=("unregister-waits-for-pending",),
    needs=("ghes_helpers",),
)

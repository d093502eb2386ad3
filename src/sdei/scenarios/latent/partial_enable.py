"""L5: a private event's enable or disable that fails on one CPU (an injected fault).

What makes it possible: for a private event, `sdei_event_enable()` and
`sdei_event_disable()` (drivers/firmware/arm_sdei.c) cross-call ENABLE or DISABLE to every
online CPU and return the first error; nothing undoes the CPUs that succeeded. After a failed
enable the event is enabled on some CPUs while `reenable` says it is not (and a CPU that comes
online later leaves it disabled) - before 54f529a6806c (v4.16) the flag was set before the
calls and never cleared, so it says enabled while some CPUs have it disabled; after a failed
disable `reenable` is already cleared while some CPUs still take the event.

It needs firmware that fails the call on one CPU, so the fault is injected. The fix: undo a
partial enable or disable on every CPU (`--patch enable-disable-roll-back`).
"""

from __future__ import annotations

from sdei.abi import Function
from sdei.kernel import Counter, Linux
from sdei.kernel.core import Gen
from sdei.machine import PE, FirmwareFault, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, SetupError, boot_for, registering
from sdei.scenarios.latent.eras import RELEASES

DENIED = -3


def _register_only(linux: Linux, pe: PE) -> Gen:
    err = yield from linux.driver.register(pe, SOFTWARE_EVENT, Counter())
    if err:
        raise SetupError(f"sdei_event_register(0) returned {err}")


def _scenario(api: str) -> Scenario:
    enable = api == "enable"

    def build(options: Options) -> Machine:
        booted = boot_for(
            options, 3, setup=_register_only if enable else registering(SOFTWARE_EVENT)
        )
        linux, machine = booted.linux, booted.machine
        function = Function.EVENT_ENABLE if enable else Function.EVENT_DISABLE
        machine.inject(FirmwareFault(function, DENIED, event=SOFTWARE_EVENT, pe=1))
        call = linux.driver.enable if enable else linux.driver.disable

        def caller(pe: PE) -> Gen:
            return (yield from call(pe, SOFTWARE_EVENT))

        booted.spawn(0, caller, f"sdei_event_{api}")
        return machine

    return Scenario(
        name=f"partial-{api}",
        description=f"sdei_event_{api}() of a private event fails on one CPU, no rollback (L5)",
        build=build,
        buggy_eras=RELEASES,
        expected_invariant="flags-agree",
        default_cpus=3,
        tags=("latent",),
        fix=("enable-disable-roll-back",),
    )


SCENARIOS = (_scenario("enable"), _scenario("disable"))

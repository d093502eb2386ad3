"""L1: sdei_event_unregister() and sdei_event_disable() race CPU hotplug.

What makes it possible, in drivers/firmware/arm_sdei.c:

- `sdei_event_register()` and `sdei_event_enable()` take `cpus_read_lock()` around their
  cross-calls (54f529a6806c); `sdei_event_unregister()` and `sdei_event_disable()` do not.
- arm64's `secondary_start_kernel()` calls `set_cpu_online()` after the STARTING callbacks and
  before the ONLINE ones, so a CPU coming up is never both "callback done" and "cross-call
  target" at once:
  * before v6.4 (a STARTING state; the eras v4.16, v5.7, v5.8 here): the up callback reads
    the flags before the CPU is online. If it ran before unregister cleared `reregister`,
    the cross-call does not reach
    the CPU yet and its registration outlives the freed event (`live-driver-memory`); if it ran
    after, the CPU can be online by the time the cross-call reads the mask, and UNREGISTER there
    is DENIED. Disable likewise leaves the event enabled there, or is DENIED.
  * since d2c48b2387eb (v6.4) the callbacks sit in `CPUHP_AP_ONLINE_DYN`: the CPU is a target
    before its up callback has registered the event, and after its down callback has
    unregistered it (STARTING-era teardown runs in stop_machine, where no cross-call can be in
    flight, so the down direction is new in v6.4).
- A DENIED cross-call is `-EPERM` (first error wins). `sdei_event_unregister()` has already
  cleared `reregister`/`reenable` and only destroys the event on success: it stays in
  `sdei_list` for good - every retry is DENIED, registering the number again is `-EBUSY`.
  `sdei_event_disable()` just fails.

Callers that meet it: `ghes_remove()` (through `sdei_unregister_ghes()`) and AGDI's probe
error path and `agdi_remove()` - all with private events only. Four scenarios: unregister or
disable, against a CPU coming online or one going down. The fix: take `cpus_read_lock()` in
unregister and disable too (`--patch unregister-takes-cpus-read-lock`).
"""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, boot_for, registering
from sdei.scenarios.latent.eras import ONLINE_DYN, RELEASES, STARTING

FIX = ("unregister-takes-cpus-read-lock",)


def _scenario(api: str, direction: str) -> Scenario:
    up = direction == "up"

    def build(options: Options) -> Machine:
        booted = boot_for(
            options, 3, online=(0, 1) if up else None, setup=registering(SOFTWARE_EVENT)
        )
        linux = booted.linux
        call = linux.driver.unregister if api == "unregister" else linux.driver.disable

        def caller(pe: PE) -> Gen:
            return (yield from call(pe, SOFTWARE_EVENT))

        def hotplug(pe: PE) -> Gen:
            last = len(booted.machine.pes) - 1
            if up:
                return (yield from linux.hotplug.cpu_up(pe, last))
            return (yield from linux.hotplug.cpu_down(pe, last))

        booted.spawn(0, caller, f"sdei_event_{api}")
        if "hotplug" not in options.disabled_actions:
            booted.spawn(1, hotplug, f"{'online' if up else 'offline'} CPU")
        return booted.machine

    going = "coming online" if up else "going down"
    return Scenario(
        name=f"{api}-vs-cpu-{direction}",
        description=f"sdei_event_{api}() of a private event while a CPU is {going} (L1)",
        build=build,
        buggy_eras=RELEASES if up else ONLINE_DYN,
        fixed_eras=() if up else STARTING,
        expected_invariant="unexpected-api-error",
        # STARTING eras, CPU registered (enabled) before the flags were cleared: firmware keeps
        # the freed event there (keeps it enabled).
        also_violates=(
            ("zombie-event", "live-driver-memory") if api == "unregister" else ("flags-agree",)
        ),
        default_cpus=3,
        actions=("hotplug",),
        tags=("latent",),
        fix=FIX,
    )


SCENARIOS = tuple(
    _scenario(api, direction) for api in ("unregister", "disable") for direction in ("up", "down")
)

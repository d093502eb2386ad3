"""B7: registering a private event races CPU hotplug (fixed in v5.7 by 54f529a6806c).

v4.16 sets `reregister` before the cross-call. If REGISTER fails on one CPU, a CPU that comes
online before the caller clears the flag registers the event through its hotplug callback; the
caller then frees the event, and firmware keeps a registration pointing at freed memory.

`--cpus N` (3 by default) starts CPUs 2..N-1 offline, each brought online by a task of its own.
`--param callers=K` (1 by default, at most 3) has K callers, each registering a private event
of its own from CPU k % 2 at once, as the SPIN model's NEV: the injected REGISTER failure may
then hit any of their cross-calls on CPU1.
"""

from __future__ import annotations

from collections.abc import Callable

from sdei.abi import Function
from sdei.firmware import EventDesc
from sdei.kernel import Counter
from sdei.kernel.core import Gen
from sdei.machine import PE, FirmwareFault, Machine
from sdei.scenarios.api import Options, Parameter, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, boot_for

CALLERS = Parameter("callers", 1, "callers registering a private event each", 1, 3)
# Caller k's event: event 0, then private events of this scenario's platform (normal
# priority, no interrupt: only ever registered, never raised).
EVENTS = (SOFTWARE_EVENT, 0x4000_0021, 0x4000_0022)


def build(options: Options) -> Machine:
    callers = options.value(CALLERS)
    own = tuple(  # event 0 is the platform's
        EventDesc(e, name=f"private event of caller {k}")
        for k, e in enumerate(EVENTS[1:callers], start=1)
    )
    booted = boot_for(options, 3, online=(0, 1), events=own)
    linux, machine = booted.linux, booted.machine
    counter = Counter()

    def register(event: int) -> Callable[[PE], Gen]:
        return lambda pe: linux.driver.register(pe, event, counter)

    def online(cpu: int) -> Callable[[PE], Gen]:
        return lambda pe: linux.hotplug.cpu_up(pe, cpu)

    if "fault" not in options.disabled_actions:
        # REGISTER fails on CPU1 during the cross-call (the commit's story); CPU2's hotplug
        # callback only logs its own failures, so it is not a target.
        machine.inject(FirmwareFault(Function.EVENT_REGISTER, -3, pe=1))
    for k in range(callers):
        booted.spawn(
            k % 2,
            register(EVENTS[k]),
            f"register event {EVENTS[k]:#x}" if k else "register event 0",
        )
    if "hotplug" not in options.disabled_actions:
        # One hotplug task per CPU beyond the first two (offline at boot), as the SPIN model's
        # NHPT: the task for CPU c runs on CPU (c - 1) % 2, so CPU2's runs on CPU1.
        for cpu in range(2, len(machine.pes)):
            booted.spawn((cpu - 1) % 2, online(cpu), f"online CPU{cpu}")
    return machine


SCENARIO = Scenario(
    name="register-hotplug",
    description="private event registration with a failing CPU, racing hotplug (B7)",
    build=build,
    buggy_eras=("v4.16",),
    fixed_eras=("v5.7", "v5.8", "v6.4", "v6.6", "v6.12", "latest"),
    expected_invariant="live-driver-memory",
    # CPU2's hotplug callback registers first, so the cross-call's REGISTER is DENIED there.
    also_violates=("flags-agree", "unexpected-api-error"),
    default_cpus=3,
    actions=("fault", "hotplug"),
    parameters=(CALLERS,),
)

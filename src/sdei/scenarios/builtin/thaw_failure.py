"""B6: re-registering a shared event fails at thaw (fixed in v5.7).

The thaw walker holds the list lock; when re-registering a shared event failed, the error
path destroyed the event with the locking destroy helper: an A-A deadlock. In v4.16 itself
any hibernation with a shared event deadlocks earlier, on B5 (freeze's walker), so B6 cannot
be reached there. This scenario's kernel is therefore v4.16 with B5's fix applied
(`hibernate-leave-flags`, 6ded0b61cf63) - the tree between the two fixes - where the thaw
failure deadlocks on B6's own double lock, in `_destroy`. From v5.7 the event is destroyed
with the lock-held variant and the interface marked broken.
"""

from __future__ import annotations

from sdei.abi import Function
from sdei.machine import FirmwareFault, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, boot_for, registering


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, setup=registering(SHARED_RAS))
    linux, machine = booted.linux, booted.machine
    # DENIED: of the errors REGISTER may return (DEN0054C 5.1.2.3), the one a working call on
    # a valid event can meet (firmware still holding the registration the image expects gone).
    machine.inject(FirmwareFault(Function.EVENT_REGISTER, -3, event=SHARED_RAS, always=True))
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    return machine


SCENARIO = Scenario(
    name="thaw-failure",
    description="hibernation whose thaw fails to re-register a shared event (B6)",
    build=build,
    buggy_eras=("v4.16",),
    fixed_eras=("v5.7", "v5.8", "v6.12", "latest"),
    expected_invariant="deadlock",
    default_cpus=2,
    patches=("hibernate-leave-flags",),
)

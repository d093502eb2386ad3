"""B5: hibernation with a shared event registered (fixed in v5.7 by 6ded0b61cf63).

v4.16's freeze walks the event list holding the list spinlock and calls a helper that takes
it again: a self-deadlock at the first shared event. (v6.4 and v6.6 hit B12 first.)
"""

from __future__ import annotations

from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, boot_for, registering


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, setup=registering(SHARED_RAS))
    linux = booted.linux
    booted.spawn(0, lambda pe: linux.hibernate(pe), "hibernate")
    return booted.machine


SCENARIO = Scenario(
    name="hibernate-shared",
    description="hibernation with a shared event registered (B5)",
    build=build,
    buggy_eras=("v4.16",),
    fixed_eras=("v5.7", "v5.8", "v6.12", "latest"),
    expected_invariant="deadlock",
    default_cpus=2,
)

"""B13: the kernel crashes inside an SDEI handler (a fatal GHES record, AGDI's nmi_panic).

Before v6.6 the crash path jumps into the crash kernel with the handler still running in
firmware, which keeps client interrupts blocked: the crash kernel never gets its device
interrupt. v6.6 (5cd474e57368) completes active handlers with COMPLETE_AND_RESUME first.
"""

from __future__ import annotations

from typing import Any

from sdei.kernel import Linux
from sdei.kernel.core import Gen
from sdei.machine import PE, AssertInterrupt, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, SHARED_RAS_SPI, boot_for


def build(options: Options) -> Machine:
    holder: dict[str, Linux] = {}

    def fatal_error(pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        """A GHES callback that finds a fatal record and panics into the crash kernel."""
        yield from holder["linux"].crash_kexec(pe, f"fatal hardware error (event {event:#x})")
        return 0

    def setup(linux: Linux, pe: PE) -> Gen:
        holder["linux"] = linux
        yield from linux.driver.register(pe, SHARED_RAS, fatal_error)
        yield from linux.driver.enable(pe, SHARED_RAS)

    booted = boot_for(options, 2, setup=setup)

    def device(pe: PE) -> Gen:
        yield AssertInterrupt(SHARED_RAS_SPI)

    booted.spawn(1, device, "RAS error")
    return booted.machine


SCENARIO = Scenario(
    name="crash-in-handler",
    description="a crash inside an SDEI handler, then the crash kernel (B13)",
    build=build,
    buggy_eras=("v6.4",),
    fixed_eras=("v6.6", "v6.12", "latest"),
    expected_invariant="crash-kernel-interrupts",
    default_cpus=2,
)

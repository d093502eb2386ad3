"""RAS: a fatal error while another GHES handler runs, with a crash kernel loaded.

A recoverable error goes through the normal source and a fatal one through the critical source
at the same time. The critical GHES callback finds a fatal record: `__ghes_panic()` prints it,
clears and acknowledges the block, and panics; with a crash kernel loaded, panic() goes to
`__crash_kexec()` from inside the SDEI handler. Before v6.6 (B13) the crash kernel starts with
that handler still running in firmware, which keeps client interrupts blocked: the crash kernel
never gets its device interrupt (`crash-kernel-interrupts`).

v6.6 (5cd474e57368) has `crash_smp_send_stop()` call `sdei_handler_abort()`, which completes
the handlers `sdei_active_critical_event` and `sdei_active_normal_event` name. But
`__sdei_asm_handler` records its event only after its first instructions (`mov x19, x1; ldrb;
cbnz; adr_this_cpu; str x19, [x5]`), and firmware takes a critical event between any two of
them: a fatal error whose critical event arrives just as the normal event was dispatched leaves
the normal handler unrecorded, and still running in firmware when the crash kernel starts (L7,
still in `latest`). The fix it suggests (`--patch crash-abort-until-denied`): complete with
COMPLETE_AND_RESUME until firmware answers DENIED.
"""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Machine
from sdei.ras.agent import make_record, reporting
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS_SPI, boot_for
from sdei.scenarios.ras.critical_over_normal import GHES_SOURCES, SHARED_CRITICAL_SPI


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, ghes=GHES_SOURCES, kdump=True)
    ras = booted.machine.shared["ras"]
    recoverable = make_record("memory", "recoverable", 0x8000_1000)
    fatal = make_record("memory", "fatal", 0x8000_2000)
    normal = reporting(ras, ras.sources[0], recoverable, SHARED_RAS_SPI)
    critical = reporting(ras, ras.sources[1], fatal, SHARED_CRITICAL_SPI)

    def agent(pe: PE) -> Gen:
        """Firmware finds a recoverable error, then a fatal one."""
        yield from normal(pe)
        yield from critical(pe)
        return 0

    booted.spawn(1, agent, "RAS errors")
    return booted.machine


SCENARIO = Scenario(
    name="ghes-fatal-in-handler",
    description="a fatal GHES error panics into the crash kernel from inside an SDEI handler",
    build=build,
    buggy_eras=("v5.7", "v6.4", "v6.6", "v6.12", "latest"),  # B13 before v6.6, then L7
    expected_invariant="crash-kernel-interrupts",
    fix=("crash-abort-until-denied",),
    default_cpus=2,
    tags=("ras",),
    needs=("ghes_helpers",),
)

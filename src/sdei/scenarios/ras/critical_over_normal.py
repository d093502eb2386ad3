"""RAS: a critical error interrupts the normal GHES source's callback on the same CPU.

Firmware reports through two GHES sources (examples/acpi/hest.asl): source 0 on the normal
shared event 0x40000010, source 1 (GHESv2) on the critical shared event 0x40000011. Both get an
error at once; a critical event may interrupt a running normal handler on its CPU (DEN0054C
4.3.2.1), so the critical GHES callback can run inside the normal one.

Since the 2019 "APEI in_nmi() rework and SDEI wire-up" series (v5.1; "ACPI / APEI: Let the
notification helper specify the fixmap slot", "Add support for the SDEI GHES Notification
type") each NMI-like notification has its own fixmap slot and raw spinlock:
ghes_sdei_normal_callback() holds ghes_notify_lock_sdei_normal and maps through
FIX_APEI_GHES_SDEI_NORMAL, the critical one its own pair - the series gives exactly this
nesting as the reason. Before it (v5.0), ghes.c chose the slot and the lock with in_nmi():
every NMI-like source shared FIX_APEI_GHES_NMI and ghes_ioremap_lock_nmi. The era
`pre-apei-rework` puts that code under today's driver: the critical callback spins on the lock
the interrupted normal callback holds, on the same CPU, for ever.
"""

from __future__ import annotations

from sdei.formats.discovery import GhesSource
from sdei.machine import Machine
from sdei.ras.agent import make_record, reporting
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, SHARED_RAS_SPI, boot_for

SHARED_CRITICAL, SHARED_CRITICAL_SPI = 0x4000_0011, 201  # the reference platform's
GHES_SOURCES = (
    GhesSource(0, 11, SHARED_RAS, 1, 0xFFFF_0000),
    GhesSource(1, 11, SHARED_CRITICAL, 2, 0xFFFF_0008, 0x1000, 0xFFFF_0010, (1 << 64) - 2, 1),
)


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, ghes=GHES_SOURCES)
    ras = booted.machine.shared["ras"]
    record = make_record("memory", "recoverable", 0x8000_1000)
    booted.spawn(0, reporting(ras, ras.sources[0], record, SHARED_RAS_SPI), "RAS error (normal)")
    booted.spawn(
        0, reporting(ras, ras.sources[1], record, SHARED_CRITICAL_SPI), "RAS error (critical)"
    )
    return booted.machine


SCENARIO = Scenario(
    name="ghes-critical-over-normal",
    description="a critical GHES error interrupts the normal source's callback on its CPU",
    build=build,
    buggy_eras=("pre-apei-rework",),
    expected_invariant="deadlock",
    fixed_eras=("v5.7", "latest"),
    default_cpus=2,
    tags=("ras",),
    needs=("ghes_helpers",),
)

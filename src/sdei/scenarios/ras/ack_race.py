"""RAS: errors faster than the OS acknowledges them (GHESv2).

Firmware reports a second error through the GHESv2 source while the OS may still be handling
the first: it must not overwrite a block whose Block Status the OS has not cleared or whose
Read Ack register it has not written back (ACPI 6.5 18.3.2.8). Linux copies the record out in
the SDEI callback, then clears the block and acknowledges (ghes_clear_estatus ->
ghes_ack_error), all before the irq_work - so whatever the interleaving, every record firmware
wrote is read exactly once, and one that found the block busy was dropped by firmware, visibly.
`ghes-record-handled` checks it at quiescence; a complete search finds nothing in any era with
the SDEI GHES notification.
"""

from __future__ import annotations

from sdei.machine import Machine
from sdei.ras.agent import make_record, reporting
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import boot_for
from sdei.scenarios.ras.critical_over_normal import GHES_SOURCES, SHARED_CRITICAL_SPI


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, ghes=GHES_SOURCES)
    ras = booted.machine.shared["ras"]
    first = make_record("memory", "recoverable", 0x8000_1000)
    second = make_record("memory", "recoverable", 0x8000_2000)
    v2 = ras.sources[1]
    booted.spawn(0, reporting(ras, v2, first, SHARED_CRITICAL_SPI), "RAS error 1")
    booted.spawn(1, reporting(ras, v2, second, SHARED_CRITICAL_SPI), "RAS error 2")
    return booted.machine


SCENARIO = Scenario(
    name="ghes-ack-race",
    description="two errors through the GHESv2 source, the second before the first is acked",
    build=build,
    fixed_eras=("v5.7", "latest"),
    expected_invariant="ghes-record-handled",
    default_cpus=2,
    tags=("ras", "proof"),
    needs=("ghes_helpers",),
)

"""RAS: an error record arrives while a CPU goes offline.

The GHES event is shared and routed to any PE; CPU1 is going offline while firmware reports an
error. Where SDEI's hotplug callbacks are a STARTING state (before v6.4, d2c48b2387eb; B11) the
dying CPU stays unmasked until its STARTING teardown, which runs after CPUHP_AP_SMPCFD_DYING has
flushed its cross-calls and irq_work (linux-client.md §11): the event can still be taken there.
The GHES callback copies the record to the global llist and claims the one
`ghes_proc_irq_work` on that CPU, raising a self-IPI. From v5.10 arm64's `__cpu_disable()` has
torn the IPIs down (`ipi_teardown`), so the IPI never fires: the CPU dies with the work
pending, the record is never processed, and while the work stays pending a later error's
`irq_work_queue()` on another CPU does nothing either (`irq_work_claim` fails). Before v5.10,
multi_cpu_stop re-enabled IRQs on the dying CPU and the IPI ran before `cpu_die()`. So: found
in v6.1 (5.10-6.3), not in v5.7/v5.8, and from v6.4 the callbacks are ONLINE_DYN - the CPU is
masked before stop_machine - and a complete search finds nothing.
"""

from __future__ import annotations

from sdei.kernel.core import Gen
from sdei.machine import PE, Machine
from sdei.ras.agent import make_record, reporting
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS_SPI, boot_for
from sdei.scenarios.ras.critical_over_normal import GHES_SOURCES


def build(options: Options) -> Machine:
    booted = boot_for(options, 2, ghes=GHES_SOURCES)
    linux = booted.linux
    ras = booted.machine.shared["ras"]
    record = make_record("memory", "recoverable", 0x8000_1000)

    def offline(pe: PE) -> Gen:
        return (yield from linux.hotplug.cpu_down(pe, 1))

    booted.spawn(0, offline, "offline CPU1")
    # Firmware's agent runs at EL3, which CPU_OFF does not interrupt mid-report: here it runs on
    # CPU0, the CPU that stays.
    booted.spawn(0, reporting(ras, ras.sources[0], record, SHARED_RAS_SPI), "RAS error")
    return booted.machine


SCENARIO = Scenario(
    name="ghes-error-during-offline",
    description="a GHES error taken on a dying CPU strands the global GHES irq_work there",
    build=build,
    buggy_eras=("v6.1",),
    fixed_eras=("v6.4", "latest"),
    expected_invariant="ghes-record-handled",
    default_cpus=2,
    tags=("ras",),
    needs=("ghes_helpers",),
)

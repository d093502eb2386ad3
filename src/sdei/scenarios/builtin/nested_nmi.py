"""B8: a critical event nests in a normal one on a VHE host running a guest (fixed in v5.8).

The arch NMI entry saves HCR_EL2 in one per-CPU slot and sets TGE before the CPU counts as in
NMI. A critical event arriving in that window saves again - now with TGE set - over the outer
value; the outer exit then does not restore, and the CPU returns to the guest with TGE set.
"""

from __future__ import annotations

from sdei.abi import PSTATE_DAIF, Function, mode_for
from sdei.kernel import noop_callback
from sdei.kernel.core import Gen
from sdei.machine import PE, Local, Machine, RaiseEvent, Smc
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import PRIVATE_CRITICAL, SOFTWARE_EVENT, boot, registering

GUEST_TPIDR_EL1 = 0x6_0000_0000


def build(options: Options) -> Machine:
    booted = boot(
        era=options.era,
        patches=options.patches,
        profile=options.profile,
        cpus=options.cpus or 2,
        client_el=2,
        vhe=True,
        setup=registering(SOFTWARE_EVENT, PRIVATE_CRITICAL, callback=noop_callback),
    )
    machine = booted.machine

    def vcpu_run(pe: PE) -> Gen:
        """KVM: load the guest's EL1 state, clear TGE, run at EL1, exit back to the host."""
        host_pstate, host_tpidr = pe.pstate, pe.tpidr_el1
        pe.guest_loaded, pe.hcr_tge, pe.tpidr_el1 = True, False, GUEST_TPIDR_EL1
        pe.pstate = mode_for(1)  # the guest runs at EL1 with its interrupts unmasked
        for _ in range(3):
            yield Local("guest running")
        pe.pstate = host_pstate | PSTATE_DAIF
        pe.guest_loaded, pe.hcr_tge, pe.tpidr_el1 = False, True, host_tpidr
        pe.pstate = host_pstate
        yield Local("vcpu exit")

    def signal(pe: PE) -> Gen:
        yield Smc(Function.EVENT_SIGNAL, SOFTWARE_EVENT, machine.pes[0].mpidr)

    def firmware_error(pe: PE) -> Gen:
        yield RaiseEvent(PRIVATE_CRITICAL, 0)

    booted.spawn(0, vcpu_run, "vcpu run")
    booted.spawn(1, signal, "signal CPU0")
    if "critical" not in options.disabled_actions:
        booted.spawn(1, firmware_error, "firmware critical error")
    return machine


SCENARIO = Scenario(
    name="nested-nmi",
    description="critical event nesting in a normal one while a KVM guest runs (B8)",
    build=build,
    buggy_eras=("v5.7",),
    fixed_eras=("v5.8", "v6.4", "v6.6", "v6.12", "latest"),
    expected_invariant="vhe-tge",
    default_cpus=2,
    actions=("critical",),
)

"""B8: a critical event nests in a normal one on a VHE host switching to a guest (fixed in
v5.8).

The arch NMI entry saves HCR_EL2 in one per-CPU slot and sets TGE before the CPU counts as in
NMI. A critical event arriving in that window saves again - now with TGE set - over the outer
value; the outer exit then does not restore, and the handler COMPLETEs back into KVM's world
switch (entered with IRQs masked, guest state loaded, TGE clear) with TGE set. (Interrupting
the guest itself would be harmless: the handler then resumes at KVM's vectors, the guest
exits and __deactivate_traps rewrites HCR_EL2.)
"""

from __future__ import annotations

from sdei.abi import Function
from sdei.kernel import noop_callback
from sdei.kernel.core import Gen
from sdei.machine import PE, IrqRestore, IrqSave, Local, Machine, RaiseEvent, Smc
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import PRIVATE_CRITICAL, SOFTWARE_EVENT, boot_for, registering

GUEST_TPIDR_EL1 = 0x6_0000_0000


def build(options: Options) -> Machine:
    booted = boot_for(
        options,
        2,
        client_el=2,
        vhe=True,
        setup=registering(SOFTWARE_EVENT, PRIVATE_CRITICAL, callback=noop_callback),
    )
    machine = booted.machine

    def vcpu_run(pe: PE) -> Gen:
        """KVM's world switch on a VHE host (__kvm_vcpu_run_vhe): with every exception masked
        at EL2 it loads the guest's EL1 state and clears HCR_EL2.TGE (__activate_traps), runs
        the guest, and sets TGE again (__deactivate_traps). An event landing in this window
        interrupted the kernel with IRQs masked, so its handler COMPLETEs back into it."""
        was = yield IrqSave()
        host_tpidr = pe.tpidr_el1
        pe.guest_loaded, pe.hcr_tge, pe.tpidr_el1 = True, False, GUEST_TPIDR_EL1
        for _ in range(3):
            yield Local("world switch: guest state loaded, TGE clear")
        pe.guest_loaded, pe.hcr_tge, pe.tpidr_el1 = False, True, host_tpidr
        yield IrqRestore(was)

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

"""The arm64 SDEI entry path (arch/arm64/kernel/sdei.c, entry.S; linux-client.md §5, §6).

Firmware enters `__sdei_asm_handler` with x0 = event, x1 = the registered-event record, x2/x3
= interrupted PC/PSTATE. The handler recovers x0-x3 with EVENT_CONTEXT, runs the callback in
NMI context, and completes: COMPLETE if it interrupted the kernel with IRQs masked, else
COMPLETE_AND_RESUME to VBAR + 0x280 / 0x480 / 0x680 so the interrupted context sees an IRQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.abi import PSTATE_I, PSTATE_NRW, PSTATE_PAN, CompleteStatus, Function, pstate_el
from sdei.kernel.core import Gen, Kernel
from sdei.machine import Access, ClientFault, Local

if TYPE_CHECKING:
    from sdei.kernel.driver import Driver, Record
    from sdei.machine import PE

VECTOR_CURRENT_EL_IRQ = 0x280
VECTOR_LOWER_EL_AARCH64_IRQ = 0x480
VECTOR_LOWER_EL_AARCH32_IRQ = 0x680


def nmi_enter(k: Kernel, pe: PE) -> Gen:
    """arch_nmi_enter + nmi_enter. On a VHE host HCR_EL2.TGE is forced on and the old value
    saved. Before v5.8 one per-CPU slot holds it and "already in NMI" is tested before the
    CPU counts as in NMI (B8); from v5.8 a nesting count makes only the outermost entry save."""
    st = k.nmi[pe.index]
    if k.era.nmi_single_hcr_slot:
        if st.in_nmi:  # E1: `if (!in_nmi()) nmi_enter();` - nested entry was a BUG then
            return False
        yield Local("nmi_enter: save HCR_EL2, set TGE")
        if k.vhe:
            st.saved_tge = pe.hcr_tge
            pe.hcr_tge = True
        yield Local("nmi_enter: count the CPU in NMI")
        st.in_nmi += 1
        return True
    st.nesting += 1
    if st.nesting == 1 and k.vhe:
        st.saved_tge = pe.hcr_tge
        pe.hcr_tge = True
    yield Local("nmi_enter")
    st.in_nmi += 1
    return True


def nmi_exit(k: Kernel, pe: PE, entered: bool) -> Gen:
    if not entered:
        return None
    st = k.nmi[pe.index]
    st.in_nmi -= 1
    if k.era.nmi_single_hcr_slot:
        if k.vhe and not st.saved_tge:  # restore only if the saved value had TGE clear
            pe.hcr_tge = False
    else:
        st.nesting -= 1
        if st.nesting == 0 and k.vhe:
            pe.hcr_tge = st.saved_tge
    yield Local("nmi_exit")
    return None


def sdei_entry(k: Kernel, driver: Driver, pe: PE) -> Gen:
    event, argument, interrupted_pstate = pe.x[0], pe.x[1], pe.x[3]
    yield Access(f"sdei_event:{event}", write=False)  # the record, which unregister frees
    record: Record = k.heap.deref(argument)
    critical = record.priority == 1
    if k.percpu_offset(pe) != k.percpu_offsets[pe.index]:
        where = "TPIDR_EL2" if k.vhe else "TPIDR_EL1"
        raise ClientFault(
            "percpu-data",
            f"event {event:#x} on CPU{pe.index} reads per-CPU "
            f"data through {where} = {k.percpu_offset(pe):#x}",
        )
    slot = 1 if critical else 0
    if k.era.crash_aborts_handlers:
        k.active[pe.index][slot] = argument
    # Switch to this CPU's normal or critical SDEI stack; nothing else may be on it (§5.4).
    user = k.sdei_stack_users.get((pe.index, slot))
    if user is not None:
        kind = "critical" if critical else "normal"
        raise ClientFault(
            "sdei-stack",
            f"event {event:#x} on CPU{pe.index} needs the {kind} "
            f"SDEI stack, in use by event {user:#x}",
        )
    k.sdei_stack_users[(pe.index, slot)] = event
    interrupted_sp = pe.sp_elx[k.el]
    pe.sp_elx[k.el] = k.sdei_stacks[pe.index][slot]
    if k.era.entry_sets_pan:
        pe.pstate |= PSTATE_PAN  # B10: force the kernel's PAN whatever firmware set
    entered = yield from nmi_enter(k, pe)
    regs: list[int] = []
    for n in range(4):
        _, value = yield from driver.call(pe, Function.EVENT_CONTEXT, n)
        regs.append(value)
    err = yield from record.callback(pe, event, tuple(regs), record.arg)
    vbar = pe.vbar[k.el]
    el = pstate_el(interrupted_pstate)
    aarch32 = bool(interrupted_pstate & PSTATE_NRW)
    kernel_mode = not aarch32 and el == k.el and bool(interrupted_pstate & 1)
    argument_out: int
    if err:
        function, argument_out = Function.EVENT_COMPLETE, CompleteStatus.EV_FAILED
    elif kernel_mode and interrupted_pstate & PSTATE_I:
        function, argument_out = Function.EVENT_COMPLETE, CompleteStatus.EV_HANDLED
    else:
        offset = (
            VECTOR_CURRENT_EL_IRQ
            if kernel_mode
            else VECTOR_LOWER_EL_AARCH32_IRQ
            if aarch32
            else VECTOR_LOWER_EL_AARCH64_IRQ
        )
        function, argument_out = Function.EVENT_COMPLETE_AND_RESUME, vbar + offset
    yield from nmi_exit(k, pe, entered)
    if k.era.crash_aborts_handlers:
        k.active[pe.index][slot] = 0
    del k.sdei_stack_users[(pe.index, slot)]
    pe.sp_elx[k.el] = interrupted_sp
    outermost = sum(1 for c in pe.stack if c.kind.is_sdei) == 1
    if outermost and pe.guest_loaded and pe.hcr_tge:
        raise ClientFault(
            "vhe-tge",
            f"CPU{pe.index} returns with the guest's state loaded and HCR_EL2.TGE set after "
            f"event {event:#x}",
        )
    err, result = yield from driver.call(pe, function, argument_out)
    raise ClientFault(
        "kernel-assertion", f"{Function(function).name} returned {result} on CPU{pe.index}"
    )


def irq_vector(k: Kernel, pe: PE) -> Gen:
    """The IRQ vector entered by COMPLETE_AND_RESUME: IRQ exit work, then ERET."""
    yield Local("irq vector: exit work")
    return None


def unexpected_vector(k: Kernel, pe: PE) -> Gen:
    raise ClientFault("kernel-assertion", f"unexpected exception vector entered on CPU{pe.index}")
    yield Local()  # pragma: no cover - makes this a generator

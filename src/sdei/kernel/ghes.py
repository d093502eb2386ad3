"""What Linux's GHES driver does with an error firmware reported through SDEI
(drivers/acpi/apei/ghes.c, linux-client.md §2.10; docs/ras.md).

In the SDEI callback (NMI-like context), `ghes_in_nmi_queue_one_entry()`: read the block's
address from the source's Error Status Address register, peek the header (nothing there, or a
header `cper_estatus_check_header()` refuses: clear it and say -ENOENT), copy the whole record
into the estatus pool, panic now if it is fatal (`__ghes_panic`), clear the block (Block Status
0; GHESv2 also writes its Read Ack register back: `ghes_ack_error`), drop it when the estatus
cache has just seen the same record, else queue it and raise the irq_work. The callback
serialises on a raw spinlock and maps the block through a fixmap slot.

In IRQ context, `ghes_proc_in_irq()`: each queued record through `ghes_do_proc()` (a memory
error with a valid physical address is queued for `memory_failure_queue()`: flags 0 when
recoverable, MF_SOFT_OFFLINE for a corrected one past its threshold) and, unless the cache saw
it, printed (`ghes_print_estatus`, then cached).

Since the 2019 "in_nmi() rework and SDEI wire-up" each NMI-like notification has its own
fixmap slot and lock (FIX_APEI_GHES_SDEI_NORMAL / _CRITICAL, ghes_notify_lock_sdei_normal /
_critical). Before it the NMI-like sources shared one (`Era.ghes_shared_nmi_slot`): a critical
event taken while the normal callback holds the lock spins on it forever.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sdei.formats import cper
from sdei.formats.errors import FormatError
from sdei.kernel.core import Gen
from sdei.machine import Access, Note, SendIpi

if TYPE_CHECKING:
    from sdei.kernel.system import Linux
    from sdei.machine import PE
    from sdei.ras import RasFirmware, RasSource

ENOENT, ENOMEM = 2, 12
POOL_RECORDS = 4  # the estatus pool: records waiting for ghes_proc_in_irq (gen_pool)
CACHE_SIZE = 4  # GHES_ESTATUS_CACHES_SIZE
MF_SOFT_OFFLINE = 1 << 3  # include/linux/mm.h (the flag's value is not what matters here)
HW_ERR = "[Hardware Error]: "


@dataclass
class Queued:
    """A record copied out of a block, waiting for the irq_work (struct ghes_estatus_node)."""

    source: int
    record: cper.ErrorStatusBlock
    raw: bytes


@dataclass
class GhesState:
    """The GHES driver's state that outlives a callback."""

    pool: list[Queued] = field(default_factory=list)  # the llist, oldest first
    allocated: int = 0  # estatus pool nodes in use (queued, or being filled)
    cache: list[bytes] = field(default_factory=list)  # recently printed records
    seqno: int = 0
    memory_failures: list[tuple[int, int]] = field(default_factory=list)  # (pfn, flags)
    panicked: str | None = None
    taken: dict[int, int] = field(default_factory=dict)  # records copied out, by source
    irq_work_on: int | None = None  # the CPU ghes_proc_irq_work is pending on


def _slot(linux: Linux, critical: bool) -> tuple[str, str]:
    """(lock, fixmap slot) a callback uses: one per source since the 2019 rework."""
    if linux.k.era.ghes_shared_nmi_slot:  # v5.0: in_nmi() picked the slot and the lock
        return "ghes_ioremap_lock_nmi", "FIX_APEI_GHES_NMI"
    if critical:
        return "ghes_notify_lock_sdei_critical", "FIX_APEI_GHES_SDEI_CRITICAL"
    return "ghes_notify_lock_sdei_normal", "FIX_APEI_GHES_SDEI_NORMAL"


def sdei_callback(linux: Linux, pe: PE, source: RasSource, critical: bool) -> Gen:
    """ghes_sdei_{normal,critical}_callback: lock, queue one entry, unlock; on success raise
    the irq_work. Returns 0 or -ENOENT (which the SDEI handler reports as failed)."""
    k = linux.k
    ras: RasFirmware = linux.machine.shared["ras"]
    lock_name, slot = _slot(linux, critical)
    lock = linux.machine.lock(f"{k.name}:{lock_name}")
    yield from k.spin_lock(pe, lock)  # raw_spin_lock: IRQs are already masked in the handler
    err = yield from _queue_one_entry(linux, pe, ras, source, slot)
    yield from k.spin_unlock(pe, lock)
    if err:  # __ghes_sdei_callback: any failure is -ENOENT (the SDEI handler says FAILED)
        return -ENOENT
    # irq_work_queue(&ghes_proc_irq_work): one work for the whole system. Claiming it queues it
    # on this CPU and raises a self-IPI; while it is pending (on whichever CPU claimed it) a
    # queue elsewhere does nothing - the records wait on the global llist for that CPU.
    yield Access("ghes_proc_irq_work", label="irq_work_queue(&ghes_proc_irq_work)")
    if linux.ghes.irq_work_on is None:
        linux.ghes.irq_work_on = pe.index
        yield SendIpi(pe.index, lambda target: proc_in_irq(linux, target), "irq_work: ghes_proc")
    return 0


def _queue_one_entry(linux: Linux, pe: PE, ras: RasFirmware, source: RasSource, slot: str) -> Gen:
    k = linux.k
    state = linux.ghes
    desc = source.desc
    yield Access(f"ghes:{desc.error_status_address:#x}", write=False, label=f"apei_read: {slot}")
    address = ras.memory.read64(desc.error_status_address)
    yield Access(source.resource, write=False, label="ghes_peek_estatus")
    header = ras.memory.read(address, 20)
    status, _, _, data_length, _ = struct.unpack("<5I", header)
    if not status:
        return ENOENT
    length = 20 + data_length
    try:
        raw = ras.memory.read(address, length)
        record = cper.parse(raw, f"GHES source {desc.source_id}")
    except (FormatError, ValueError) as error:  # __ghes_check_estatus refuses it
        k.printk(pe.index, f"GHES: Failed to read error status block! ({error})")
        yield from _clear(linux, ras, source, address)
        return ENOENT
    yield Access("ghes_estatus_pool", label="gen_pool_alloc(ghes_estatus_pool)")
    if state.allocated >= POOL_RECORDS:  # gen_pool_alloc failed: the record stays in the block
        return ENOMEM
    state.allocated += 1
    state.taken[desc.source_id] = state.taken.get(desc.source_id, 0) + 1
    node = Queued(desc.source_id, record, raw)
    if ghes_severity(record.severity) == "panic":
        yield from _panic(linux, pe, ras, source, address, node)
    yield from _clear(linux, ras, source, address)
    yield Access("ghes_estatus_pool", label="ghes_estatus_cached")
    if raw in state.cache:  # ghes_estatus_cached(): reported just now, not again
        state.allocated -= 1
        yield Note(f"GHES: record of source {desc.source_id} is in the estatus cache: dropped")
        return 0
    yield Access("ghes_estatus_llist", label="llist_add(&ghes_estatus_llist)")
    state.pool.append(node)
    return 0


def _clear(linux: Linux, ras: RasFirmware, source: RasSource, address: int) -> Gen:
    """ghes_clear_estatus: Block Status 0; GHESv2 acknowledges with (val & preserve) | write."""
    yield Access(source.resource, label="ghes_clear_estatus: block_status = 0")
    ras.memory.write(address, bytes(4))
    d = source.desc
    if source.v2 and d.read_ack_address:
        yield Access(source.resource, label="ghes_ack_error")
        value = ras.memory.read64(d.read_ack_address)
        ras.memory.write64(d.read_ack_address, (value & d.read_ack_preserve) | d.read_ack_write)


def ghes_severity(severity: int) -> str:
    """ghes_severity(): the CPER severity as GHES acts on it."""
    return {cper.RECOVERABLE: "recoverable", cper.CORRECTED: "corrected", cper.INFO: "no"}.get(
        severity, "panic"
    )


def print_lines(state: GhesState, source_id: int, record: cper.ErrorStatusBlock) -> list[str]:
    """__ghes_print_estatus: a header line, then cper_estatus_print, under one sequence
    number."""
    state.seqno += 1
    prefix = f"{{{state.seqno}}}{HW_ERR}"
    header = f"{prefix}Hardware error from APEI Generic Hardware Error Source: {source_id}"
    return [header, *cper.linux_lines(record, prefix)]


def _panic(
    linux: Linux, pe: PE, ras: RasFirmware, source: RasSource, address: int, node: Queued
) -> Gen:
    """__ghes_panic: print the record at KERN_EMERG, clear the block, panic."""
    k = linux.k
    for line in print_lines(linux.ghes, node.source, node.record):
        k.printk(pe.index, line)
    yield from _clear(linux, ras, source, address)
    message = "GHES: Fatal hardware error" if k.era.ghes_honours_panic else "Fatal hardware error!"
    linux.ghes.panicked = message
    if linux.config.kdump:  # panic() -> __crash_kexec() when a crash kernel is loaded
        yield from linux.crash_kexec(pe, message)
    else:
        yield from linux.panic(pe, message)


def proc_in_irq(linux: Linux, pe: PE) -> Gen:
    """ghes_proc_in_irq: every queued record, oldest first: ghes_do_proc, then print and cache
    it unless the cache saw it."""
    state = linux.ghes
    yield Access("ghes_proc_irq_work", label="irq_work_run: ghes_proc_irq_work")
    state.irq_work_on = None  # irq_work_single clears PENDING before it calls the function
    yield Access("ghes_estatus_llist", label="llist_del_all(&ghes_estatus_llist)")
    nodes, state.pool = state.pool, []
    for node in nodes:
        yield from do_proc(linux, pe, node)
        yield Access("ghes_estatus_pool", label="ghes_estatus_cache_add, gen_pool_free")
        if node.raw not in state.cache:
            for line in print_lines(state, node.source, node.record):
                linux.k.printk(pe.index, line)
            state.cache = [*state.cache[-(CACHE_SIZE - 1) :], node.raw]
        state.allocated -= 1  # gen_pool_free
    return 0


def do_proc(linux: Linux, pe: PE, node: Queued) -> Gen:
    """ghes_do_proc (SDEI is never `sync`): memory errors and recoverable ARM cache errors with
    a physical address go to memory_failure_queue(), PCIe errors with AER info to
    aer_recover_queue()."""
    sev = ghes_severity(node.record.severity)
    for entry in node.record.entries:
        section = entry.section
        if isinstance(section, cper.MemoryError):
            flags = _memory_failure_flags(sev, entry)
            if flags is not None:
                yield from _memory_failure(linux, section.physical_address, flags)
        elif isinstance(section, cper.ArmProcessorError):
            if sev != "recoverable" or ghes_severity(entry.severity) != "recoverable":
                continue
            for info in section.errors:
                physical = info.validation_bits & cper.ArmErrorInfo.VALID_PHYSICAL_ADDR
                if info.type == cper.ArmErrorInfo.CACHE and physical:
                    yield from _memory_failure(linux, info.physical_fault_address, 0)
                else:
                    yield Note("GHES: Unhandled processor error type")
        elif isinstance(section, cper.PcieError):
            wanted = cper.PcieError.VALID_DEVICE_ID | cper.PcieError.VALID_AER_INFO
            if section.validation_bits & wanted == wanted:
                yield Note(
                    f"GHES: aer_recover_queue({section.segment:04x}:{section.bus:02x}:"
                    f"{section.device:02x}.{section.function:x})"
                )
    return 0


def _memory_failure(linux: Linux, address: int, flags: int) -> Gen:
    pfn = address >> 12
    yield Access("memory_failure_fifo", label=f"memory_failure_queue({pfn:#x}, {flags:#x})")
    linux.ghes.memory_failures.append((pfn, flags))
    yield Note(f"GHES: memory_failure_queue(pfn {pfn:#x}, flags {flags:#x})")


def _memory_failure_flags(sev: str, entry: cper.Entry) -> int | None:
    """ghes_handle_memory_failure: which memory errors are handed on, and how."""
    section = entry.section
    assert isinstance(section, cper.MemoryError)
    if not section.validation_bits & cper.MemoryError.VALID_PA:
        return None
    sec_sev = ghes_severity(entry.severity)
    if sec_sev == "corrected" and entry.flags & THRESHOLD_EXCEEDED:
        return MF_SOFT_OFFLINE
    if sev == "recoverable" and sec_sev == "recoverable":
        return 0
    return None


THRESHOLD_EXCEEDED = 0x8  # CPER_SEC_ERROR_THRESHOLD_EXCEEDED (section descriptor flags)


def find_source(linux: Linux, event: int) -> RasSource | None:
    """The firmware error source notified by `event`, when firmware reports in memory here."""
    ras: RasFirmware | None = linux.machine.shared.get("ras")
    if ras is None:
        return None
    return next((s for s in ras.sources.values() if s.event == event), None)


def unhandled(linux: Linux) -> str | None:
    """The `ghes-record-handled` oracle: every record firmware wrote was copied out by the OS,
    its block cleared and (GHESv2) acknowledged, and every copy processed."""
    ras: RasFirmware | None = linux.machine.shared.get("ras")
    if ras is None or linux.k.stopped:
        return None
    for sid, source in sorted(ras.sources.items()):
        if source.event not in linux.ghes_sources:
            continue  # GHES did not register it (no SDEI notification before v5.1)
        written = sum(1 for i in ras.written if i.source == sid and i.record is not None)
        taken = linux.ghes.taken.get(sid, 0)
        if taken < written:
            return f"GHES source {sid}: firmware wrote {written} record(s), the OS read {taken}"
        if ras.busy(source):
            return f"GHES source {sid}: {ras.busy(source)} (nothing will read it)"
    if linux.ghes.pool:
        where = linux.ghes.irq_work_on
        stuck = f" (its irq_work is pending on CPU{where})" if where is not None else ""
        return (
            f"{len(linux.ghes.pool)} record(s) queued for ghes_proc_in_irq, never processed{stuck}"
        )
    return None

"""CPER error records as firmware-first RAS hands them to the OS (build and parse).

A GHES error status block (ACPI 6.5 18.3.2.7.1, "Generic Error Status Block") holds generic error
data entries (same section), each wrapping one UEFI CPER error section (UEFI 2.10 appendix N):
here the ARM processor error (N.2.4.4), memory error (N.2.5) and PCI Express error (N.2.7)
sections, with their validation bits. `parse(build(b)) == b` for every block these types can
describe; a malformed block (lengths that do not add up, a truncated section, an unknown
section type) raises one `FormatError` naming the byte offset.

`linux_lines()` is what Linux's `cper_estatus_print()` (drivers/firmware/efi/cper.c,
cper-arm.c, 2025) prints for a block, field by field, from reading its source - except the hex
dumps (`print_hex_dump`) of ARM context registers and vendor bytes, and the decoding of an ARM
error information's `error_info` word beyond its first line.
"""

from __future__ import annotations

import dataclasses
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from sdei.formats.errors import FormatError, at

# Error severities (ACPI 18.3.2.7.1 / UEFI N.2.1): the block's and each entry's.
RECOVERABLE, FATAL, CORRECTED, INFO = 0, 1, 2, 3
SEVERITIES = {"recoverable": RECOVERABLE, "fatal": FATAL, "corrected": CORRECTED, "info": INFO}
_SEVERITY_NAMES = ("recoverable", "fatal", "corrected", "info")  # Linux cper_severity_strs

_BLOCK = struct.Struct("<IIIII")  # block status, raw data offset/length, data length, severity
_ENTRY = struct.Struct("<16sIHBBI16s20s")  # generic error data entry, revision 2
_TIMESTAMP = struct.Struct("<Q")  # revision 3 appends it
ENTRY_REVISION = 0x0300  # entries carry a timestamp field (ACPI 6.1 and later)
ENTRY_VALID_FRU_ID, ENTRY_VALID_FRU_TEXT, ENTRY_VALID_TIMESTAMP = 1, 2, 4
# Block status (ACPI 18.3.2.7.1 Table 18.11): which kinds of error the block holds, and how many
# entries (bits 4-13).
_UNCORRECTABLE, _CORRECTABLE = 1, 2


def severity_name(severity: int) -> str:
    return _SEVERITY_NAMES[severity] if 0 <= severity < len(_SEVERITY_NAMES) else "unknown"


def _guid(text: str) -> bytes:
    return uuid.UUID(text).bytes_le


def guid_text(raw: bytes) -> str:
    """A GUID as Linux's %pUl prints it (little-endian fields, lower case)."""
    return str(uuid.UUID(bytes_le=raw))


# ------------------------------------------------------------------ sections


class _Packed:
    """A fixed-layout structure: its dataclass fields, in order, are its LAYOUT's."""

    LAYOUT: ClassVar[struct.Struct]
    NAME: ClassVar[str]

    def pack(self) -> bytes:
        return self.LAYOUT.pack(*(getattr(self, f) for f in _fields(self)))

    @classmethod
    def unpack(cls, data: bytes, path: str, offset: int) -> Self:
        _need(data, path, offset, cls.LAYOUT.size, f"{cls.NAME} section")
        return cls(*cls.LAYOUT.unpack_from(data, offset))


@dataclass(frozen=True)
class MemoryError(_Packed):
    """Memory Error Section (UEFI N.2.5, `struct cper_sec_mem_err`, 80 bytes)."""

    GUID: ClassVar[bytes] = _guid("a5bc1114-6f64-4ede-b863-3e83ed7c83b1")
    NAME: ClassVar[str] = "memory error"
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<QQQQHHHHHHHHQQQBBHHH")
    # Validation bits, in field order (N.2.5 Table N-26).
    VALID_ERROR_STATUS, VALID_PA, VALID_PA_MASK, VALID_NODE = 1 << 0, 1 << 1, 1 << 2, 1 << 3
    VALID_CARD, VALID_MODULE, VALID_BANK, VALID_DEVICE = 1 << 4, 1 << 5, 1 << 6, 1 << 7
    VALID_ROW, VALID_COLUMN, VALID_BIT_POSITION = 1 << 8, 1 << 9, 1 << 10
    VALID_REQUESTOR_ID, VALID_RESPONDER_ID, VALID_TARGET_ID = 1 << 11, 1 << 12, 1 << 13
    VALID_ERROR_TYPE, VALID_RANK, VALID_CARD_HANDLE, VALID_MODULE_HANDLE = (
        1 << 14, 1 << 15, 1 << 16, 1 << 17,
    )  # fmt: skip

    validation_bits: int = 0
    error_status: int = 0
    physical_address: int = 0
    physical_address_mask: int = 0
    node: int = 0
    card: int = 0
    module: int = 0
    bank: int = 0
    device: int = 0
    row: int = 0
    column: int = 0
    bit_position: int = 0
    requestor_id: int = 0
    responder_id: int = 0
    target_id: int = 0
    error_type: int = 0
    extended: int = 0
    rank: int = 0
    card_handle: int = 0
    module_handle: int = 0


@dataclass(frozen=True)
class PcieError(_Packed):
    """PCI Express Error Section (UEFI N.2.7, `struct cper_sec_pcie`, 208 bytes)."""

    GUID: ClassVar[bytes] = _guid("d995e954-bbc1-430f-ad91-b44dcb3c6f35")
    NAME: ClassVar[str] = "PCIe error"
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<QIBBHHHIHH3sBBHBBHBIIHH60s96s")
    VALID_PORT_TYPE, VALID_VERSION, VALID_COMMAND_STATUS = 1 << 0, 1 << 1, 1 << 2
    VALID_DEVICE_ID, VALID_SERIAL_NUMBER, VALID_BRIDGE = 1 << 3, 1 << 4, 1 << 5
    VALID_CAPABILITY, VALID_AER_INFO = 1 << 6, 1 << 7

    validation_bits: int = 0
    port_type: int = 0
    version_minor: int = 0
    version_major: int = 0
    reserved0: int = 0
    command: int = 0
    status: int = 0
    reserved1: int = 0
    vendor_id: int = 0
    device_id: int = 0
    class_code: bytes = bytes(3)
    function: int = 0
    device: int = 0
    segment: int = 0
    bus: int = 0
    secondary_bus: int = 0
    slot: int = 0
    reserved2: int = 0
    serial_lower: int = 0
    serial_upper: int = 0
    bridge_secondary_status: int = 0
    bridge_control: int = 0
    capability: bytes = bytes(60)
    aer_info: bytes = bytes(96)


@dataclass(frozen=True)
class ArmErrorInfo(_Packed):
    """ARM Processor Error Information (UEFI N.2.4.4.1, `struct cper_arm_err_info`, 32 bytes)."""

    NAME: ClassVar[str] = "ARM error information"
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<BBHBHBQQQ")
    VALID_MULTIPLE_ERROR, VALID_FLAGS, VALID_ERR_INFO = 1 << 0, 1 << 1, 1 << 2
    VALID_VIRT_ADDR, VALID_PHYSICAL_ADDR = 1 << 3, 1 << 4
    CACHE, TLB, BUS, MICROARCH = 0, 1, 2, 3  # error types (Linux: one of them, 2025: bits)
    FLAG_FIRST, FLAG_LAST, FLAG_PROPAGATED, FLAG_OVERFLOW = 1, 2, 4, 8

    version: int = 0
    length: int = 32
    validation_bits: int = 0
    type: int = 0
    multiple_error: int = 0
    flags: int = 0
    error_info: int = 0
    virtual_fault_address: int = 0
    physical_fault_address: int = 0


@dataclass(frozen=True)
class ArmContext:
    """ARM Processor Context Information (UEFI N.2.4.4.2): a register array of `type`."""

    HEADER: ClassVar[struct.Struct] = struct.Struct("<HHI")

    version: int = 0
    type: int = 0
    registers: bytes = b""

    def pack(self) -> bytes:
        return self.HEADER.pack(self.version, self.type, len(self.registers)) + self.registers


@dataclass(frozen=True)
class ArmProcessorError:
    """ARM Processor Error Section (UEFI N.2.4.4, `struct cper_sec_proc_arm`, 40 bytes of
    header, then its error information, context information and vendor-specific bytes)."""

    GUID: ClassVar[bytes] = _guid("e19e3d16-bc11-11e4-9caa-c2051d5d46b0")
    NAME: ClassVar[str] = "ARM processor error"
    HEADER: ClassVar[struct.Struct] = struct.Struct("<IHHIB3sQQII")
    VALID_MPIDR, VALID_AFFINITY_LEVEL, VALID_RUNNING_STATE, VALID_VENDOR = 1, 2, 4, 8

    validation_bits: int = 0
    affinity_level: int = 0
    mpidr: int = 0
    midr: int = 0
    running_state: int = 0
    psci_state: int = 0
    errors: tuple[ArmErrorInfo, ...] = (ArmErrorInfo(),)
    contexts: tuple[ArmContext, ...] = ()
    vendor: bytes = b""

    def pack(self) -> bytes:
        body = b"".join(e.pack() for e in self.errors)
        body += b"".join(c.pack() for c in self.contexts) + self.vendor
        length = self.HEADER.size + len(body)
        header = self.HEADER.pack(
            self.validation_bits, len(self.errors), len(self.contexts), length,
            self.affinity_level, bytes(3), self.mpidr, self.midr, self.running_state,
            self.psci_state,
        )  # fmt: skip
        return header + body

    @classmethod
    def unpack(cls, data: bytes, path: str, offset: int, length: int) -> ArmProcessorError:
        _need(data, path, offset, cls.HEADER.size, "ARM processor error section")
        (valid, n_errors, n_contexts, section_length, level, _, mpidr, midr, running,
         psci) = cls.HEADER.unpack_from(data, offset)  # fmt: skip
        if section_length != length:
            raise FormatError(
                path, at(offset + 8),
                f"ARM processor error section length {section_length} but its entry says "
                f"{length}",
            )  # fmt: skip
        end = offset + length
        pos = offset + cls.HEADER.size
        errors = []
        for i in range(n_errors):
            _need(data, path, pos, ArmErrorInfo.LAYOUT.size, f"error information {i}", end)
            errors.append(ArmErrorInfo(*ArmErrorInfo.LAYOUT.unpack_from(data, pos)))
            if errors[-1].length != ArmErrorInfo.LAYOUT.size:
                raise FormatError(
                    path, at(pos + 1), f"error information {i} length {errors[-1].length}, "
                    f"expected {ArmErrorInfo.LAYOUT.size}"
                )  # fmt: skip
            pos += ArmErrorInfo.LAYOUT.size
        contexts = []
        for i in range(n_contexts):
            _need(data, path, pos, ArmContext.HEADER.size, f"context information {i}", end)
            version, kind, size = ArmContext.HEADER.unpack_from(data, pos)
            start = pos + ArmContext.HEADER.size
            _need(data, path, start, size, f"context information {i} registers", end)
            contexts.append(ArmContext(version, kind, data[start : start + size]))
            pos = start + size
        return cls(
            valid, level, mpidr, midr, running, psci, tuple(errors), tuple(contexts),
            data[pos:end],
        )  # fmt: skip


Section = MemoryError | PcieError | ArmProcessorError
SECTION_TYPES: dict[bytes, type[MemoryError] | type[PcieError] | type[ArmProcessorError]] = {
    t.GUID: t for t in (MemoryError, PcieError, ArmProcessorError)
}


# ------------------------------------------------------------------ entries and the block


@dataclass(frozen=True)
class Entry:
    """A Generic Error Data Entry (ACPI 18.3.2.7.1, revision 0x300 with its timestamp)."""

    section: Section
    severity: int = RECOVERABLE
    revision: int = ENTRY_REVISION
    validation_bits: int = 0
    flags: int = 0
    fru_id: bytes = bytes(16)
    fru_text: bytes = bytes(20)
    timestamp: int = 0

    def pack(self) -> bytes:
        payload = self.section.pack()
        header = _ENTRY.pack(
            self.section.GUID, self.severity, self.revision, self.validation_bits, self.flags,
            len(payload), self.fru_id, self.fru_text,
        )  # fmt: skip
        if self.revision >> 8 >= 3:
            header += _TIMESTAMP.pack(self.timestamp)
        return header + payload


@dataclass(frozen=True)
class ErrorStatusBlock:
    """A Generic Error Status Block: what firmware writes at the address HEST gives."""

    entries: tuple[Entry, ...] = ()
    severity: int = RECOVERABLE
    raw_data: bytes = b""
    multiple_uncorrectable: bool = False
    multiple_correctable: bool = False
    block_status: int | None = field(default=None, compare=False)  # as parsed

    def status(self) -> int:
        """Block Status: the kinds of error held and how many entries (bits 4-13)."""
        value = (len(self.entries) & 0x3FF) << 4
        if any(e.severity in (RECOVERABLE, FATAL) for e in self.entries):
            value |= _UNCORRECTABLE
        if any(e.severity == CORRECTED for e in self.entries):
            value |= _CORRECTABLE
        value |= 4 * self.multiple_uncorrectable | 8 * self.multiple_correctable
        return value

    def pack(self) -> bytes:
        data = b"".join(e.pack() for e in self.entries)
        raw_offset = _BLOCK.size + len(data) if self.raw_data else 0
        header = _BLOCK.pack(self.status(), raw_offset, len(self.raw_data), len(data),
                             self.severity)  # fmt: skip
        return header + data + self.raw_data


def build(block: ErrorStatusBlock) -> bytes:
    return block.pack()


_RECORD = struct.Struct("<4sHIHIII Q16s16s16s16sQIQ12s".replace(" ", ""))  # UEFI N.2.1, 128
_DESCRIPTOR = struct.Struct("<IIHBBI16s16sI20s")  # UEFI N.2.2, 72 bytes
RECORD_VALID_TIMESTAMP = 2


def record(block: ErrorStatusBlock, record_id: int = 1) -> bytes:
    """The same errors as a Common Platform Error Record (UEFI N.2.1-N.2.2: the "CPER" header
    and a section descriptor per section), the form BERT, ERST and decoders such as libcper
    read."""
    sections = [e.section.pack() for e in block.entries]
    offset = _RECORD.size + _DESCRIPTOR.size * len(sections)
    descriptors = b""
    for entry, data in zip(block.entries, sections, strict=True):
        descriptors += _DESCRIPTOR.pack(
            offset, len(data), ENTRY_REVISION, entry.validation_bits & 3, 0, entry.flags,
            entry.section.GUID, entry.fru_id, entry.severity, entry.fru_text,
        )  # fmt: skip
        offset += len(data)
    header = _RECORD.pack(
        b"CPER", 0x0101, 0xFFFF_FFFF, len(sections), block.severity, 0, offset, 0,
        bytes(16), bytes(16), bytes(16), bytes(16), record_id, 0, 0, bytes(12),
    )  # fmt: skip
    return header + descriptors + b"".join(sections)


def parse(data: bytes, path: str = "<error status block>") -> ErrorStatusBlock:
    """The block in `data`; a FormatError naming the byte offset when it is malformed."""
    _need(data, path, 0, _BLOCK.size, "generic error status block header")
    status, raw_offset, raw_length, data_length, severity = _BLOCK.unpack_from(data, 0)
    end = _BLOCK.size + data_length
    if end > len(data):
        raise FormatError(
            path, at(12), f"data length {data_length} runs past the end ({len(data)} bytes)"
        )
    if data_length and data_length < _ENTRY.size:
        raise FormatError(
            path, at(12), f"data length {data_length} is shorter than one entry ({_ENTRY.size})"
        )
    if raw_length and (raw_offset < end or raw_offset + raw_length > len(data)):
        raise FormatError(
            path, at(4), f"raw data at {raw_offset:#x} (+{raw_length}) overlaps the entries or "
            f"runs past the end"
        )  # fmt: skip
    entries = []
    pos = _BLOCK.size
    while pos < end:
        entry, pos = _parse_entry(data, path, pos, end)
        entries.append(entry)
    if (status >> 4) & 0x3FF != len(entries):
        raise FormatError(
            path, at(0), f"block status says {(status >> 4) & 0x3FF} entries, the data holds "
            f"{len(entries)}"
        )  # fmt: skip
    return ErrorStatusBlock(
        tuple(entries), severity, data[raw_offset : raw_offset + raw_length] if raw_length else b"",
        bool(status & 4), bool(status & 8), status,
    )  # fmt: skip


def _parse_entry(data: bytes, path: str, pos: int, end: int) -> tuple[Entry, int]:
    _need(data, path, pos, _ENTRY.size, "generic error data entry", end)
    guid, severity, revision, valid, flags, length, fru_id, fru_text = _ENTRY.unpack_from(data, pos)
    header = _ENTRY.size
    timestamp = 0
    if revision >> 8 >= 3:
        _need(data, path, pos, header + _TIMESTAMP.size, "generic error data entry", end)
        (timestamp,) = _TIMESTAMP.unpack_from(data, pos + header)
        header += _TIMESTAMP.size
    start = pos + header
    if start + length > end:
        raise FormatError(
            path, at(pos + 24), f"section length {length} runs past the block's data "
            f"(ends at {end:#x})"
        )  # fmt: skip
    kind = SECTION_TYPES.get(guid)
    if kind is None:
        raise FormatError(path, at(pos), f"unknown section type {guid_text(guid)}")
    section: Section
    if kind is ArmProcessorError:
        section = ArmProcessorError.unpack(data, path, start, length)
    else:
        assert kind is MemoryError or kind is PcieError
        if length != kind.LAYOUT.size:
            raise FormatError(
                path, at(pos + 24), f"{kind.NAME} section length {length}, expected "
                f"{kind.LAYOUT.size}"
            )  # fmt: skip
        section = kind.unpack(data, path, start)
    entry = Entry(section, severity, revision, valid, flags, fru_id, fru_text, timestamp)
    return entry, start + length


def _need(
    data: bytes, path: str, offset: int, size: int, what: str, end: int | None = None
) -> None:
    limit = len(data) if end is None else min(end, len(data))
    if offset + size > limit:
        raise FormatError(
            path, at(offset), f"truncated {what}: {size} bytes needed, {max(0, limit - offset)} "
            f"left"
        )  # fmt: skip


def _fields(section: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(section)]


# ------------------------------------------------------------------ what Linux prints

_MEM_TYPES = (
    "unknown", "no error", "single-bit ECC", "multi-bit ECC", "single-symbol chipkill ECC",
    "multi-symbol chipkill ECC", "master abort", "target abort", "parity error",
    "watchdog timeout", "invalid address", "mirror Broken", "memory sparing",
    "scrub corrected error", "scrub uncorrected error", "physical memory map-out event",
)  # fmt: skip
_PORT_TYPES = (
    "PCIe end point", "legacy PCI end point", "unknown", "unknown", "root port",
    "upstream switch port", "downstream switch port", "PCIe to PCI/PCI-X bridge",
    "PCI/PCI-X to PCIe bridge", "root complex integrated endpoint device",
    "root complex event collector",
)  # fmt: skip
_ARM_CONTEXTS = (
    "AArch32 general purpose registers", "AArch32 EL1 context registers",
    "AArch32 EL2 context registers", "AArch32 secure context registers",
    "AArch64 general purpose registers", "AArch64 EL1 context registers",
    "AArch64 EL2 context registers", "AArch64 EL3 context registers",
    "Misc. system register structure",
)  # fmt: skip
_PROC_ERROR_TYPES = ("cache error", "TLB error", "bus error", "micro-architectural error")


def linux_lines(block: ErrorStatusBlock, prefix: str = "[Hardware Error]: ") -> list[str]:
    """The lines `cper_estatus_print(prefix, block)` prints (cper.c, cper-arm.c), without the
    log level. GHES passes "{seq}[Hardware Error]: " as the prefix."""
    out: list[str] = []
    if block.severity == CORRECTED:
        out.append(f"{prefix}It has been corrected by h/w and requires no further action")
    out.append(f"{prefix}event severity: {severity_name(block.severity)}")
    pfx = prefix + " "
    for n, entry in enumerate(block.entries):
        out.append(f"{pfx}Error {n}, type: {severity_name(entry.severity)}")
        if entry.validation_bits & ENTRY_VALID_FRU_ID:
            out.append(f"{pfx}fru_id: {guid_text(entry.fru_id)}")
        if entry.validation_bits & ENTRY_VALID_FRU_TEXT:
            text = entry.fru_text.split(b"\0")[0].decode("latin-1")
            out.append(f"{pfx}fru_text: {text}")
        section_pfx = pfx + " "
        out.append(f"{section_pfx}section_type: {entry.section.NAME}")
        section = entry.section
        if isinstance(section, MemoryError):
            out += _memory_lines(section_pfx, section)
        elif isinstance(section, PcieError):
            out += _pcie_lines(section_pfx, section, entry.severity)
        else:
            out += _arm_lines(section_pfx, section)
    return out


def _memory_lines(pfx: str, m: MemoryError) -> list[str]:
    v = m.validation_bits
    out = []
    if v & m.VALID_ERROR_STATUS:
        out.append(f"{pfx}error_status: 0x{m.error_status:016x}")
    if v & m.VALID_PA:
        out.append(f"{pfx}physical_address: 0x{m.physical_address:016x}")
    if v & m.VALID_PA_MASK:
        out.append(f"{pfx}physical_address_mask: 0x{m.physical_address_mask:016x}")
    location = ""
    for bit, name, value in (
        (m.VALID_NODE, "node", m.node), (m.VALID_CARD, "card", m.card),
        (m.VALID_MODULE, "module", m.module), (m.VALID_RANK, "rank", m.rank),
        (m.VALID_BANK, "bank", m.bank), (m.VALID_DEVICE, "device", m.device),
        (m.VALID_ROW, "row", m.row), (m.VALID_COLUMN, "column", m.column),
        (m.VALID_BIT_POSITION, "bit_position", m.bit_position),
    ):  # fmt: skip
        if v & bit:
            location += f"{name}: {value} "
    for bit, name, value in (
        (m.VALID_REQUESTOR_ID, "requestor_id", m.requestor_id),
        (m.VALID_RESPONDER_ID, "responder_id", m.responder_id),
    ):
        if v & bit:
            location += f"{name}: 0x{value:016x} "
    # target_id: cper_mem_err_location() writes it without advancing its length, then ends the
    # string at that length: Linux never prints it.
    if location:
        out.append(pfx + location)
    if v & m.VALID_ERROR_TYPE:
        name = _MEM_TYPES[m.error_type] if m.error_type < len(_MEM_TYPES) else "unknown"
        out.append(f"{pfx}error_type: {m.error_type}, {name}")
    if v & m.VALID_MODULE_HANDLE:  # cper_dimm_err_location(), with no DMI table to name it
        out.append(f"{pfx}DIMM location: not present. DMI handle: 0x{m.module_handle:04x} ")
    return out


def _pcie_lines(pfx: str, p: PcieError, severity: int) -> list[str]:
    v = p.validation_bits
    out = []
    if v & p.VALID_PORT_TYPE:
        name = _PORT_TYPES[p.port_type] if p.port_type < len(_PORT_TYPES) else "unknown"
        out.append(f"{pfx}port_type: {p.port_type}, {name}")
    if v & p.VALID_VERSION:
        out.append(f"{pfx}version: {p.version_major}.{p.version_minor}")
    if v & p.VALID_COMMAND_STATUS:
        out.append(f"{pfx}command: 0x{p.command:04x}, status: 0x{p.status:04x}")
    if v & p.VALID_DEVICE_ID:
        out.append(f"{pfx}device_id: {p.segment:04x}:{p.bus:02x}:{p.device:02x}.{p.function:x}")
        out.append(f"{pfx}slot: {p.slot >> 3}")
        out.append(f"{pfx}secondary_bus: 0x{p.secondary_bus:02x}")
        out.append(f"{pfx}vendor_id: 0x{p.vendor_id:04x}, device_id: 0x{p.device_id:04x}")
        c = p.class_code
        out.append(f"{pfx}class_code: {c[2]:02x}{c[1]:02x}{c[0]:02x}")
    if v & p.VALID_SERIAL_NUMBER:
        out.append(f"{pfx}serial number: 0x{p.serial_lower:04x}, 0x{p.serial_upper:04x}")
    if v & p.VALID_BRIDGE:
        out.append(
            f"{pfx}bridge: secondary_status: 0x{p.bridge_secondary_status:04x}, "
            f"control: 0x{p.bridge_control:04x}"
        )
    # Fatal errors panic before the AER driver prints them (cper.c tests severity & FATAL).
    if v & p.VALID_AER_INFO and severity & FATAL:
        status, mask, uncor_severity = struct.unpack_from("<III", p.aer_info, 4)
        tlp = struct.unpack_from("<IIII", p.aer_info, 28)
        out.append(f"{pfx}aer_uncor_status: 0x{status:08x}, aer_uncor_mask: 0x{mask:08x}")
        out.append(f"{pfx}aer_uncor_severity: 0x{uncor_severity:08x}")
        out.append(f"{pfx}TLP Header: " + " ".join(f"{w:08x}" for w in tlp))
    return out


def _arm_lines(pfx: str, a: ArmProcessorError) -> list[str]:
    out = [f"{pfx}MIDR: 0x{a.midr:016x}"]
    if a.validation_bits & a.VALID_MPIDR:
        out.append(f"{pfx}Multiprocessor Affinity Register (MPIDR): 0x{a.mpidr:016x}")
    if a.validation_bits & a.VALID_AFFINITY_LEVEL:
        out.append(f"{pfx}error affinity level: {a.affinity_level}")
    if a.validation_bits & a.VALID_RUNNING_STATE:
        out.append(f"{pfx}running state: 0x{a.running_state:x}")
        out.append(f"{pfx}Power State Coordination Interface state: {a.psci_state}")
    info_pfx = pfx + " "
    for i, e in enumerate(a.errors):
        out.append(f"{pfx}Error info structure {i}:")
        out.append(f"{pfx}num errors: {e.multiple_error + 1}")
        if e.validation_bits & e.VALID_FLAGS:
            for flag, text in (
                (e.FLAG_FIRST, "first error captured"),
                (e.FLAG_LAST, "last error captured"),
                (e.FLAG_PROPAGATED, "propagated error captured"),
                (e.FLAG_OVERFLOW, "overflow occurred, error info is incomplete"),
            ):
                if e.flags & flag:
                    out.append(info_pfx + text)
        name = _PROC_ERROR_TYPES[e.type] if e.type < len(_PROC_ERROR_TYPES) else "unknown"
        out.append(f"{info_pfx}error_type: {e.type}, {name}")
        if e.validation_bits & e.VALID_ERR_INFO:
            out.append(f"{info_pfx}error_info: 0x{e.error_info:016x}")
        if e.validation_bits & e.VALID_VIRT_ADDR:
            out.append(f"{info_pfx}virtual fault address: 0x{e.virtual_fault_address:016x}")
        if e.validation_bits & e.VALID_PHYSICAL_ADDR:
            out.append(f"{info_pfx}physical fault address: 0x{e.physical_fault_address:016x}")
    for i, c in enumerate(a.contexts):
        out.append(f"{pfx}Context info structure {i}:")
        if c.type >= len(_ARM_CONTEXTS):
            out.append(f"{info_pfx}Invalid context type: {c.type} (max: {len(_ARM_CONTEXTS) - 1})")
            return out
        out.append(f"{info_pfx}register context type: {_ARM_CONTEXTS[c.type]}")
    if a.vendor:
        out.append(f"{pfx}Vendor specific error info has {len(a.vendor)} bytes:")
    return out

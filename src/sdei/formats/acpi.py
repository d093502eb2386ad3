"""The ACPI tables SDEI discovery needs: SDEI, FADT, MADT and HEST (parse and build).

Hand-written with :mod:`struct`; every multi-byte field is little-endian (ACPI 6.5 5.2).
Each ``parse_*`` takes the table bytes and a path used only in messages, and raises
:class:`FormatError` (never anything else) naming the byte offset of the problem. Each
``build_*`` returns a complete table with the right length and checksum.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from sdei.formats.errors import FormatError, at

HEADER_LEN = 36
_HEADER = struct.Struct("<4sIBB6s8sI4sI")  # ACPI 6.5 5.2.6

SIG_SDEI = "SDEI"
SIG_FADT = "FACP"
SIG_MADT = "APIC"
SIG_HEST = "HEST"

# FADT (ACPI 6.5 5.2.9).
FADT_FLAGS = 112
FADT_ARM_BOOT_ARCH = 129
FADT_MINOR_REVISION = 131
FADT_LEN_V6 = 276
FADT_HW_REDUCED_ACPI = 1 << 20  # FADT Flags, HW_REDUCED_ACPI
ARM_PSCI_COMPLIANT = 1 << 0  # ARM boot architecture flags, 5.2.9.4
ARM_PSCI_USE_HVC = 1 << 1

# MADT (ACPI 6.5 5.2.12).
MADT_SUBTABLES = 44
MADT_GICC = 0x0B
MADT_GICD = 0x0C
GICC_LEN = 0x50  # 0x52 from ACPI 6.5 (TRBE interrupt added)
GICC_LEN_6_5 = 0x52
GICD_LEN = 0x18
GICC_ENABLED = 1 << 0  # GICC CPU interface flags
_GICC = struct.Struct("<BBHIIIIIQQQQIQQBBH")  # 80 bytes, 5.2.12.14
_GICD = struct.Struct("<BBHIQIB3s")  # 24 bytes, 5.2.12.15
MPIDR_AFFINITY_MASK = 0xFF_00FF_FFFF  # Aff3 [39:32], Aff2..0 [23:0]

# HEST (ACPI 6.5 18.3.2).
HEST_ENTRIES = 40
HEST_GHES = 9
HEST_GHES_V2 = 10
GHES_LEN = 64
GHES_V2_LEN = 92
NOTIFY_LEN = 28  # Hardware Error Notification, 18.3.2.9
NOTIFY_SDEI = 11  # "Software Delegated Exception"
NOTIFY_MAX = 11  # ACPI 6.x defines types 0..11
MC_BANK_LEN = 28  # IA-32 machine check bank, 18.3.2.1.1
# Fixed part of each error source type; types 3-5 are reserved.
_HEST_FIXED = {0: 40, 1: 48, 2: 20, 6: 48, 7: 44, 8: 56, 9: 64, 10: 92, 11: 48}
# Offset of "Number of Hardware Banks" for the variable-length IA-32 types.
_HEST_BANKS = {0: 32, 1: 44, 11: 44}
# Offset of the notification structure for the types that carry one.
_HEST_NOTIFY = {1: 16, 9: 32, 10: 32, 11: 16}
_GAS = struct.Struct("<BBBBQ")  # Generic Address Structure, 5.2.3.2
_NOTIFY = struct.Struct("<BBHIIIIII")
_GHES = struct.Struct("<HHHBBIII")  # up to the error status address GAS


@dataclass(frozen=True)
class AcpiHeader:
    signature: str
    length: int
    revision: int
    checksum: int
    oem_id: str
    oem_table_id: str
    oem_revision: int
    creator_id: str
    creator_revision: int


@dataclass(frozen=True)
class SdeiTable:
    """The SDEI table has no body: its presence is the whole message (DEN0054 App. D)."""

    header: AcpiHeader


@dataclass(frozen=True)
class Fadt:
    header: AcpiHeader
    minor_revision: int
    flags: int
    arm_boot_flags: int

    @property
    def psci_compliant(self) -> bool:
        return bool(self.arm_boot_flags & ARM_PSCI_COMPLIANT)

    @property
    def psci_use_hvc(self) -> bool:
        return bool(self.arm_boot_flags & ARM_PSCI_USE_HVC)

    @property
    def hw_reduced(self) -> bool:
        return bool(self.flags & FADT_HW_REDUCED_ACPI)


@dataclass(frozen=True)
class Gicc:
    """MADT GIC CPU interface (type 0x0B): one per CPU."""

    cpu_interface_number: int
    uid: int
    flags: int
    mpidr: int
    gicr_base_address: int = 0
    offset: int = field(default=0, compare=False)

    @property
    def enabled(self) -> bool:
        return bool(self.flags & GICC_ENABLED)


@dataclass(frozen=True)
class Gicd:
    """MADT GIC distributor (type 0x0C)."""

    gic_id: int
    base_address: int
    version: int  # 0 = not specified, 1..4 = GICv1..GICv4
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Madt:
    header: AcpiHeader
    local_interrupt_controller_address: int
    flags: int
    gicc: tuple[Gicc, ...]
    gicd: tuple[Gicd, ...]

    @property
    def gic_version(self) -> int | None:
        """The distributor's GIC version; None if there is none or it says "unspecified"."""
        for d in self.gicd:
            if d.version:
                return d.version
        return None


@dataclass(frozen=True)
class HestEntry:
    """Any error source entry, as walked."""

    type: int
    source_id: int
    offset: int
    length: int


@dataclass(frozen=True)
class Ghes:
    """A Generic Hardware Error Source (type 9, ``ghes_version`` 1) or GHESv2 (type 10).

    Also the input of :func:`build_hest`: ``parse_hest(build_hest(s)).ghes == tuple(s)``.
    """

    source_id: int
    ghes_version: int
    notify_type: int
    vector: int
    error_status_address: int
    related_source_id: int = 0xFFFF
    enabled: bool = True
    records_to_preallocate: int = 1
    max_sections_per_record: int = 1
    max_raw_data_length: int = 0x1000
    error_status_block_length: int = 0x1000
    read_ack_address: int = 0  # GHESv2 only
    read_ack_preserve: int = 0
    read_ack_write: int = 0
    offset: int = field(default=0, compare=False)

    @property
    def event(self) -> int | None:
        """The SDEI event number if this source is notified by SDEI (Linux ghes.c)."""
        return self.vector if self.notify_type == NOTIFY_SDEI else None


@dataclass(frozen=True)
class Hest:
    header: AcpiHeader
    error_source_count: int
    entries: tuple[HestEntry, ...]
    ghes: tuple[Ghes, ...]


# --------------------------------------------------------------------------------------
# Header


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").rstrip(" \0")


def parse_header(data: bytes, path: str, signature: str | None = None) -> AcpiHeader:
    """Check and decode the standard header (length, checksum, optional signature)."""
    size = len(data)
    if size < HEADER_LEN:
        raise FormatError(path, at(size), f"truncated: {size} bytes, an ACPI header needs 36")
    sig, length, revision, checksum, oem_id, oem_table, oem_rev, creator, creator_rev = (
        _HEADER.unpack_from(data)
    )
    if signature is not None and sig != signature.encode("ascii"):
        raise FormatError(path, at(0), f"signature {sig!r}, expected {signature!r}")
    if length > size:
        raise FormatError(path, at(4), f"length {length:#x} exceeds the file ({size:#x} bytes)")
    if length < HEADER_LEN:
        raise FormatError(path, at(4), f"length {length:#x} is shorter than the header")
    total = sum(data[:length]) & 0xFF
    if total:
        expect = (checksum - total) & 0xFF
        raise FormatError(
            path,
            at(9),
            f"bad checksum {checksum:#04x}: bytes sum to {total:#04x}, "
            f"checksum should be {expect:#04x}",
        )
    return AcpiHeader(
        sig.decode("latin-1"),
        length,
        revision,
        checksum,
        _text(oem_id),
        _text(oem_table),
        oem_rev,
        _text(creator),
        creator_rev,
    )


def _pad(text: str, width: int) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > width:
        raise ValueError(f"{text!r} is longer than {width} characters")
    return raw.ljust(width, b" ")


def build_table(
    signature: str,
    body: bytes,
    *,
    revision: int,
    oem_id: str = "SDEIMD",
    oem_table_id: str = "SDEIMODL",
    oem_revision: int = 1,
    creator_id: str = "SDEM",
    creator_revision: int = 1,
) -> bytes:
    """Prefix ``body`` with a standard header and fix up the length and checksum."""
    length = HEADER_LEN + len(body)
    header = _HEADER.pack(
        _pad(signature, 4),
        length,
        revision,
        0,
        _pad(oem_id, 6),
        _pad(oem_table_id, 8),
        oem_revision,
        _pad(creator_id, 4),
        creator_revision,
    )
    table = bytearray(header + body)
    table[9] = -sum(table) & 0xFF
    return bytes(table)


def fix_checksum(data: bytes) -> bytes:
    """Recompute the checksum byte over the length the header claims (or the whole data)."""
    if len(data) < HEADER_LEN:
        return data
    table = bytearray(data)
    length = min(struct.unpack_from("<I", table, 4)[0], len(table))
    table[9] = 0
    table[9] = -sum(table[:length]) & 0xFF
    return bytes(table)


# --------------------------------------------------------------------------------------
# SDEI and FADT


def parse_sdei(data: bytes, path: str) -> SdeiTable:
    return SdeiTable(parse_header(data, path, SIG_SDEI))


def build_sdei(
    *, revision: int = 1, oem_id: str = "SDEIMD", oem_table_id: str = "SDEIMODL"
) -> bytes:
    return build_table(SIG_SDEI, b"", revision=revision, oem_id=oem_id, oem_table_id=oem_table_id)


def parse_fadt(data: bytes, path: str) -> Fadt:
    header = parse_header(data, path, SIG_FADT)
    # ARM boot flags were added in ACPI 5.1 (FADT 5.1); a shorter FADT cannot carry them.
    if header.length < FADT_MINOR_REVISION:
        raise FormatError(
            path,
            at(header.length),
            f"FADT is {header.length} bytes: too short for the ARM "
            f"boot architecture flags at offset {FADT_ARM_BOOT_ARCH} (ACPI 6.5 5.2.9)",
        )
    flags: int = struct.unpack_from("<I", data, FADT_FLAGS)[0]
    arm: int = struct.unpack_from("<H", data, FADT_ARM_BOOT_ARCH)[0]
    minor = data[FADT_MINOR_REVISION] if header.length > FADT_MINOR_REVISION else 0
    return Fadt(header, minor, flags, arm)


def build_fadt(
    psci_use_hvc: bool,
    *,
    psci_compliant: bool = True,
    hw_reduced: bool = True,
    minor_revision: int = 3,
) -> bytes:
    """A revision 6.x FADT (276 bytes) that only sets what an arm64 OS reads."""
    body = bytearray(FADT_LEN_V6 - HEADER_LEN)
    struct.pack_into("<I", body, FADT_FLAGS - HEADER_LEN, FADT_HW_REDUCED_ACPI if hw_reduced else 0)
    arm = (ARM_PSCI_COMPLIANT if psci_compliant else 0) | (ARM_PSCI_USE_HVC if psci_use_hvc else 0)
    struct.pack_into("<H", body, FADT_ARM_BOOT_ARCH - HEADER_LEN, arm)
    body[FADT_MINOR_REVISION - HEADER_LEN] = minor_revision
    return build_table(SIG_FADT, bytes(body), revision=6)


# --------------------------------------------------------------------------------------
# MADT


def parse_madt(data: bytes, path: str) -> Madt:
    header = parse_header(data, path, SIG_MADT)
    end = header.length
    if end < MADT_SUBTABLES:
        raise FormatError(path, at(end), "MADT ends before its interrupt controller list")
    lic_address, flags = struct.unpack_from("<II", data, HEADER_LEN)
    giccs: list[Gicc] = []
    gicds: list[Gicd] = []
    seen: dict[int, int] = {}
    off = MADT_SUBTABLES
    while off < end:
        if off + 2 > end:
            raise FormatError(path, at(off), "truncated subtable header")
        stype, slen = data[off], data[off + 1]
        if slen < 2:
            raise FormatError(path, at(off), f"subtable type {stype:#04x} has length {slen}")
        if off + slen > end:
            raise FormatError(
                path,
                at(off),
                f"subtable type {stype:#04x} length {slen:#x} runs past the end "
                f"of the table ({end:#x})",
            )
        if stype == MADT_GICC:
            giccs.append(_parse_gicc(data, path, off, slen, seen))
        elif stype == MADT_GICD:
            gicds.append(_parse_gicd(data, path, off, slen))
        off += slen
    return Madt(header, lic_address, flags, tuple(giccs), tuple(gicds))


def _parse_gicc(data: bytes, path: str, off: int, slen: int, seen: dict[int, int]) -> Gicc:
    if slen < GICC_LEN:
        raise FormatError(path, at(off), f"GICC length {slen:#x} is shorter than {GICC_LEN:#x}")
    f = _GICC.unpack_from(data, off)
    cpu_if, uid, flags, gicr, mpidr = f[3], f[4], f[5], f[13], f[14]
    # Linux acpi_map_gic_cpu_interface rejects these (MPIDR_HWID_BITMASK, duplicates).
    if mpidr & ~MPIDR_AFFINITY_MASK:
        raise FormatError(
            path, at(off + 68), f"MPIDR {mpidr:#x} has bits outside the affinity fields"
        )
    if mpidr in seen:
        raise FormatError(
            path, at(off + 68), f"MPIDR {mpidr:#x} repeats the GICC at {at(seen[mpidr])}"
        )
    seen[mpidr] = off
    return Gicc(cpu_if, uid, flags, mpidr, gicr, off)


def _parse_gicd(data: bytes, path: str, off: int, slen: int) -> Gicd:
    if slen < GICD_LEN:
        raise FormatError(path, at(off), f"GICD length {slen:#x} is shorter than {GICD_LEN:#x}")
    _, _, _, gic_id, base, _, version, _ = _GICD.unpack_from(data, off)
    if version > 4:  # ACPI 6.5 5.2.12.15: 5..255 reserved
        raise FormatError(path, at(off + 20), f"reserved GIC version {version}")
    return Gicd(gic_id, base, version, off)


def build_madt(
    mpidrs: Sequence[int],
    gic_version: int,
    *,
    enabled: Sequence[bool] | None = None,
    gicc_length: int = GICC_LEN,
) -> bytes:
    """A MADT with one GICC per MPIDR (in order) and one GICD of ``gic_version``."""
    if gicc_length not in (GICC_LEN, GICC_LEN_6_5):
        raise ValueError("gicc_length must be 0x50 or 0x52")
    if enabled is None:
        enabled = [True] * len(mpidrs)
    if len(enabled) != len(mpidrs):
        raise ValueError("enabled must have one entry per MPIDR")
    body = bytearray(struct.pack("<II", 0, 0))
    for i, (mpidr, on) in enumerate(zip(mpidrs, enabled, strict=True)):
        gicr = 0x080A_0000 + i * 0x2_0000 if gic_version >= 3 else 0
        body += _GICC.pack(
            MADT_GICC, gicc_length, 0, i, i, GICC_ENABLED if on else 0,
            0, 0, 0, 0, 0, 0, 0, gicr, mpidr, 0, 0, 0,
        )  # fmt: skip
        body += bytes(gicc_length - GICC_LEN)  # ACPI 6.5 TRBE interrupt, left 0
    body += _GICD.pack(MADT_GICD, GICD_LEN, 0, 0, 0x0800_0000, 0, gic_version, b"\0\0\0")
    return build_table(SIG_MADT, bytes(body), revision=5 if gicc_length == GICC_LEN else 6)


# --------------------------------------------------------------------------------------
# HEST


def _hest_entry_length(data: bytes, path: str, off: int, end: int, etype: int) -> int:
    fixed = _HEST_FIXED.get(etype)
    if fixed is None:
        raise FormatError(
            path, at(off), f"unknown error source type {etype} (ACPI 6.5 18.3.2: 0-2, 6-11)"
        )
    if off + fixed > end:
        raise FormatError(
            path,
            at(off),
            f"error source type {etype} needs {fixed} bytes, only {end - off} left in the table",
        )
    length = fixed
    if etype in _HEST_BANKS:
        length += MC_BANK_LEN * data[off + _HEST_BANKS[etype]]
        if off + length > end:
            raise FormatError(
                path,
                at(off),
                f"error source type {etype} with {data[off + _HEST_BANKS[etype]]} "
                f"banks ({length} bytes) runs past the end of the table ({end:#x})",
            )
    return length


def _notify_type(data: bytes, path: str, off: int) -> int:
    ntype = data[off]
    if ntype > NOTIFY_MAX:
        raise FormatError(
            path, at(off), f"unknown notification type {ntype:#04x} (ACPI 6.5 18.3.2.9: 0-11)"
        )
    return ntype


def _parse_ghes(data: bytes, off: int, etype: int, ntype: int) -> Ghes:
    _, source_id, related, _, enabled, records, sections, raw_len = _GHES.unpack_from(data, off)
    status_address = _GAS.unpack_from(data, off + 20)[4]
    vector = _NOTIFY.unpack_from(data, off + 32)[4]
    block_len: int = struct.unpack_from("<I", data, off + 60)[0]
    ack_address = ack_preserve = ack_write = 0
    version = 1
    if etype == HEST_GHES_V2:
        version = 2
        ack_address = _GAS.unpack_from(data, off + 64)[4]
        ack_preserve, ack_write = struct.unpack_from("<QQ", data, off + 76)
    return Ghes(
        source_id=source_id,
        ghes_version=version,
        notify_type=ntype,
        vector=vector,
        error_status_address=status_address,
        related_source_id=related,
        enabled=bool(enabled),
        records_to_preallocate=records,
        max_sections_per_record=sections,
        max_raw_data_length=raw_len,
        error_status_block_length=block_len,
        read_ack_address=ack_address,
        read_ack_preserve=ack_preserve,
        read_ack_write=ack_write,
        offset=off,
    )


def parse_hest(data: bytes, path: str) -> Hest:
    header = parse_header(data, path, SIG_HEST)
    end = header.length
    if end < HEST_ENTRIES:
        raise FormatError(path, at(end), "HEST ends before its Error Source Count")
    count: int = struct.unpack_from("<I", data, HEADER_LEN)[0]
    entries: list[HestEntry] = []
    ghes: list[Ghes] = []
    off = HEST_ENTRIES
    # Walk exactly Error Source Count entries (Linux apei_hest_parse does the same).
    for _ in range(count):
        if off + 4 > end:
            raise FormatError(
                path,
                at(off),
                f"Error Source Count is {count} but the table holds only {len(entries)} entries",
            )
        etype, source_id = struct.unpack_from("<HH", data, off)
        length = _hest_entry_length(data, path, off, end, etype)
        if etype in _HEST_NOTIFY:
            ntype = _notify_type(data, path, off + _HEST_NOTIFY[etype])
            if etype in (HEST_GHES, HEST_GHES_V2):
                ghes.append(_parse_ghes(data, off, etype, ntype))
        entries.append(HestEntry(etype, source_id, off, length))
        off += length
    if off != end:
        raise FormatError(
            path,
            at(off),
            f"{end - off} bytes after the last of the {count} error sources "
            "(Error Source Count too small?)",
        )
    return Hest(header, count, tuple(entries), tuple(ghes))


def build_ghes(source: Ghes) -> bytes:
    """One type 9 or type 10 error source entry."""
    if source.ghes_version not in (1, 2):
        raise ValueError("ghes_version must be 1 (GHES) or 2 (GHESv2)")
    etype = HEST_GHES if source.ghes_version == 1 else HEST_GHES_V2
    entry = _GHES.pack(
        etype,
        source.source_id,
        source.related_source_id,
        0,
        1 if source.enabled else 0,
        source.records_to_preallocate,
        source.max_sections_per_record,
        source.max_raw_data_length,
    )
    # System memory, 64-bit, QWord access: what firmware uses for these registers.
    entry += _GAS.pack(0, 64, 0, 4, source.error_status_address)
    entry += _NOTIFY.pack(source.notify_type, NOTIFY_LEN, 0, 0, source.vector, 0, 0, 0, 0)
    entry += struct.pack("<I", source.error_status_block_length)
    if etype == HEST_GHES_V2:
        entry += _GAS.pack(0, 64, 0, 4, source.read_ack_address)
        entry += struct.pack("<QQ", source.read_ack_preserve, source.read_ack_write)
    return entry


def build_hest(ghes_sources: Sequence[Ghes], *, other_entries: Sequence[bytes] = ()) -> bytes:
    """A HEST holding ``other_entries`` (raw, already encoded) then ``ghes_sources``."""
    count = len(other_entries) + len(ghes_sources)
    body = struct.pack("<I", count) + b"".join(other_entries)
    body += b"".join(build_ghes(s) for s in ghes_sources)
    return build_table(SIG_HEST, body, revision=1)

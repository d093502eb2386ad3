"""ACPI tables: iasl-compiled examples, builder round trips, iasl -d, malformed input."""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sdei.formats import (
    FormatError,
    Ghes,
    build_fadt,
    build_ghes,
    build_hest,
    build_madt,
    build_sdei,
    build_table,
    fix_checksum,
    parse_fadt,
    parse_header,
    parse_hest,
    parse_madt,
    parse_sdei,
)

CompileAsl = Callable[[Path, Path], Path]  # the compile_asl fixture (conftest.py)
DATA = Path(__file__).resolve().parent / "data"

MPIDRS = [0x0, 0x1, 0x100, 0x101]
# The two error sources of examples/acpi/hest.asl.
EXAMPLE_GHES = [
    Ghes(0, 1, 11, 0x4000_0010, 0xFFFF_0000),
    Ghes(
        1,
        2,
        11,
        0x4000_0011,
        0xFFFF_0008,
        read_ack_address=0xFFFF_0010,
        read_ack_preserve=0xFFFF_FFFF_FFFF_FFFE,
        read_ack_write=1,
    ),
]


def _disassemble(iasl: str, table: bytes, tmp_path: Path, name: str) -> str:
    """``iasl -d`` a table; return the .dsl text with runs of blanks squeezed."""
    binary = tmp_path / f"{name}.dat"
    binary.write_bytes(table)
    result = subprocess.run(
        [iasl, "-vs", "-d", str(binary)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checksum" not in (result.stdout + result.stderr).lower()  # iasl agrees on it
    return re.sub(r"[ \t]+", " ", (tmp_path / f"{name}.dsl").read_text())


# --- iasl-compiled examples ------------------------------------------------------------


def test_example_sdei(acpi_tables: dict[str, bytes]) -> None:
    header = parse_sdei(acpi_tables["sdei"], "sdei.aml").header
    assert (header.signature, header.length, header.revision) == ("SDEI", 36, 1)
    assert (header.oem_id, header.oem_table_id, header.oem_revision) == ("SDEIMD", "SDEI4CPU", 1)
    assert header.creator_id == "INTL"  # iasl overwrites the compiler fields


def test_example_fadt(acpi_tables: dict[str, bytes]) -> None:
    fadt = parse_fadt(acpi_tables["facp"], "facp.aml")
    assert (fadt.header.revision, fadt.minor_revision, fadt.header.length) == (6, 3, 276)
    assert fadt.psci_compliant and not fadt.psci_use_hvc and fadt.hw_reduced
    assert fadt.arm_boot_flags == 0x1


def test_example_madt(acpi_tables: dict[str, bytes]) -> None:
    madt = parse_madt(acpi_tables["apic"], "apic.aml")
    assert [g.mpidr for g in madt.gicc] == MPIDRS
    assert [g.cpu_interface_number for g in madt.gicc] == [0, 1, 2, 3]
    assert [g.offset for g in madt.gicc] == [44, 124, 204, 284]
    assert all(g.enabled for g in madt.gicc)
    assert madt.gic_version == 3
    assert [d.base_address for d in madt.gicd] == [0x0800_0000]


def test_example_hest(acpi_tables: dict[str, bytes]) -> None:
    hest = parse_hest(acpi_tables["hest"], "hest.aml")
    assert hest.error_source_count == 2
    assert [(e.type, e.offset, e.length) for e in hest.entries] == [(9, 40, 64), (10, 104, 92)]
    assert list(hest.ghes) == EXAMPLE_GHES
    assert [g.event for g in hest.ghes] == [0x4000_0010, 0x4000_0011]


def test_iasl_and_builder_agree(acpi_tables: dict[str, bytes]) -> None:
    iasl_fadt = parse_fadt(acpi_tables["facp"], "facp.aml")
    ours_fadt = parse_fadt(build_fadt(psci_use_hvc=False), "built")
    assert (iasl_fadt.arm_boot_flags, iasl_fadt.flags, iasl_fadt.minor_revision) == (
        ours_fadt.arm_boot_flags,
        ours_fadt.flags,
        ours_fadt.minor_revision,
    )
    iasl_madt = parse_madt(acpi_tables["apic"], "apic.aml")
    ours_madt = parse_madt(build_madt(MPIDRS, 3), "built")
    assert iasl_madt.gicc == ours_madt.gicc  # incl. UIDs, flags and GICR bases
    assert iasl_madt.gic_version == ours_madt.gic_version
    assert (
        parse_hest(acpi_tables["hest"], "hest.aml").ghes
        == parse_hest(build_hest(EXAMPLE_GHES), "built").ghes
    )
    # Same bytes apart from the header (OEM table id, compiler fields, checksum).
    assert acpi_tables["hest"][36:] == build_hest(EXAMPLE_GHES)[36:]


def test_every_hest_type_from_iasl(compile_asl: CompileAsl, tmp_path: Path) -> None:
    hest = parse_hest(compile_asl(DATA / "hest-all-types.asl", tmp_path).read_bytes(), "all")
    assert [(e.type, e.length) for e in hest.entries] == [
        (0, 40 + 2 * 28),
        (1, 48 + 2 * 28),
        (2, 20),
        (6, 48),
        (7, 44),
        (8, 56),
        (9, 64),
        (9, 64),
        (10, 92),
        (11, 48 + 28),
    ]
    assert [(g.ghes_version, g.notify_type, g.event) for g in hest.ghes] == [
        (1, 3, None),
        (1, 4, None),
        (2, 4, None),
    ]


def test_iasl_hest_template_has_a_wrong_count(iasl: str, tmp_path: Path) -> None:
    # iasl 20200925's HEST template says "Error Source Count : 4" but holds 8 entries.
    subprocess.run([iasl, "-vs", "-T", "HEST"], cwd=tmp_path, capture_output=True, check=True)
    subprocess.run([iasl, "-vs", "hest.asl"], cwd=tmp_path, capture_output=True, check=True)
    table = (tmp_path / "hest.aml").read_bytes()
    with pytest.raises(FormatError, match="after the last of the 4 error sources"):
        parse_hest(table, "template")
    fixed = fix_checksum(table[:36] + struct.pack("<I", 8) + table[40:])
    assert [e.type for e in parse_hest(fixed, "template").entries] == [0, 1, 7, 8, 9, 9, 10, 11]


def test_iasl_accepts_unknown_notify_type(compile_asl: CompileAsl, tmp_path: Path) -> None:
    # tooling.md §3.2: iasl compiles notify type 0x0C silently; we must refuse it.
    source = Path(__file__).resolve().parents[2] / "examples" / "acpi" / "hest.asl"
    broken = tmp_path / "src" / "hest.asl"
    broken.parent.mkdir()
    broken.write_text(source.read_text().replace("Notify Type : 0B", "Notify Type : 0C", 1))
    table = compile_asl(broken, tmp_path).read_bytes()
    with pytest.raises(FormatError) as err:
        parse_hest(table, "hest.aml")
    assert err.value.where == "offset 0x48"
    assert "unknown notification type 0x0c" in err.value.message


# --- builders: round trips and what iasl reads back -------------------------------------


@pytest.mark.parametrize("hvc", [False, True])
@pytest.mark.parametrize("compliant", [False, True])
def test_fadt_round_trip(hvc: bool, compliant: bool) -> None:
    table = build_fadt(psci_use_hvc=hvc, psci_compliant=compliant)
    assert len(table) == 276 and sum(table) % 256 == 0
    fadt = parse_fadt(table, "t")
    assert (fadt.psci_use_hvc, fadt.psci_compliant, fadt.hw_reduced) == (hvc, compliant, True)
    assert table[129] == (1 if compliant else 0) | (2 if hvc else 0)


@pytest.mark.parametrize("gicc_length", [0x50, 0x52])
def test_madt_round_trip(gicc_length: int) -> None:
    mpidrs = [0x0, 0x1, 0x100, 0x1_0000_0101, 0xFF_00FF_FFFF]
    enabled = [True, False, True, True, False]
    table = build_madt(mpidrs, 4, enabled=enabled, gicc_length=gicc_length)
    assert len(table) == 44 + len(mpidrs) * gicc_length + 24 and sum(table) % 256 == 0
    madt = parse_madt(table, "t")
    assert [(g.mpidr, g.enabled) for g in madt.gicc] == list(zip(mpidrs, enabled, strict=True))
    assert madt.gic_version == 4


def test_hest_round_trip() -> None:
    sources = [
        *EXAMPLE_GHES,
        Ghes(7, 1, 3, 0, 0x1234_5678_9ABC_DEF0, related_source_id=2, enabled=False),
        Ghes(8, 2, 11, 0, 0x8000, error_status_block_length=0x2000, max_raw_data_length=0),
    ]
    other = [build_ghes(Ghes(9, 1, 0, 0, 0))]  # raw entries go first
    table = build_hest(sources, other_entries=other)
    assert len(table) == 40 + 64 * 3 + 92 * 2 and sum(table) % 256 == 0
    hest = parse_hest(table, "t")
    assert hest.error_source_count == 5
    assert list(hest.ghes[1:]) == sources
    assert [g.event for g in hest.ghes] == [None, 0x4000_0010, 0x4000_0011, None, 0]


def test_sdei_round_trip() -> None:
    header = parse_sdei(build_sdei(oem_id="ARM", oem_table_id="FVP"), "t").header
    assert (header.signature, header.length, header.oem_id, header.oem_table_id) == (
        "SDEI",
        36,
        "ARM",
        "FVP",
    )


def test_iasl_reads_our_sdei(iasl: str, tmp_path: Path) -> None:
    dsl = _disassemble(iasl, build_sdei(), tmp_path, "sdei")
    assert 'Signature : "SDEI" [Software Delegated Exception Interface Table]' in dsl
    assert "Table Length : 00000024" in dsl


@pytest.mark.parametrize("hvc", [False, True])
def test_iasl_reads_our_fadt(iasl: str, tmp_path: Path, hvc: bool) -> None:
    dsl = _disassemble(iasl, build_fadt(psci_use_hvc=hvc), tmp_path, "fadt")
    assert "[081h 0129 2] ARM Flags (decoded below) : 000" in dsl
    assert "PSCI Compliant : 1" in dsl
    assert f"Must use HVC for PSCI : {int(hvc)}" in dsl
    assert "Hardware Reduced (V5) : 1" in dsl
    assert "FADT Minor Revision : 03" in dsl


def test_iasl_reads_our_madt(iasl: str, tmp_path: Path) -> None:
    dsl = _disassemble(
        iasl, build_madt(MPIDRS, 3, enabled=[True, True, True, False]), tmp_path, "madt"
    )
    assert re.findall(r"ARM MPIDR : (\w+)", dsl) == [f"{m:016X}" for m in MPIDRS]
    assert re.findall(r"Processor Enabled : (\d)", dsl) == ["1", "1", "1", "0"]
    assert dsl.count("Subtable Type : 0B [Generic Interrupt Controller]") == 4
    assert "Subtable Type : 0C [Generic Interrupt Distributor]" in dsl
    assert re.search(r"\] Version : 03", dsl)


def test_iasl_reads_our_hest(iasl: str, tmp_path: Path) -> None:
    dsl = _disassemble(iasl, build_hest(EXAMPLE_GHES), tmp_path, "hest")
    assert "Error Source Count : 00000002" in dsl
    assert "Subtable Type : 0009 [Generic Hardware Error Source]" in dsl
    assert "Subtable Type : 000A [Generic Hardware Error Source V2]" in dsl
    assert dsl.count("Notify Type : 0B [Software Delegated Exception]") == 2
    assert re.findall(r"Vector : (\w+)", dsl) == ["40000010", "40000011"]
    assert "Address : 00000000FFFF0000" in dsl and "Address : 00000000FFFF0008" in dsl
    assert "Read Ack Preserve : FFFFFFFFFFFFFFFE" in dsl


# --- malformed input: FormatError with the file and the offset --------------------------


def _rejects(
    parse: Callable[[bytes, str], object], data: bytes, where: str, text: str
) -> FormatError:
    with pytest.raises(FormatError) as err:
        parse(data, "/fw/table.aml")
    assert (err.value.path, err.value.where) == ("/fw/table.aml", where), str(err.value)
    assert text in err.value.message, str(err.value)
    assert str(err.value) == f"/fw/table.aml: {where}: {err.value.message}"
    return err.value


def _set_length(table: bytes, length: int) -> bytes:
    return fix_checksum(table[:4] + struct.pack("<I", length) + table[8:])


def test_bad_headers() -> None:
    good = build_hest(EXAMPLE_GHES)
    _rejects(parse_hest, b"", "offset 0x0", "truncated")
    _rejects(parse_hest, good[:35], "offset 0x23", "truncated")
    _rejects(parse_hest, build_sdei(), "offset 0x0", "expected 'HEST'")
    _rejects(parse_sdei, good, "offset 0x0", "b'HEST', expected 'SDEI'")
    bad_sum = good[:9] + bytes([good[9] ^ 1]) + good[10:]
    _rejects(parse_hest, bad_sum, "offset 0x9", f"checksum should be {good[9]:#04x}")
    _rejects(parse_hest, good[:-1], "offset 0x4", "exceeds the file")
    _rejects(parse_hest, _set_length(good, 20), "offset 0x4", "shorter than the header")
    # The checksum covers exactly `length` bytes; trailing bytes in the file are ignored.
    assert parse_hest(good + b"\xff", "t").ghes == parse_hest(good, "t").ghes


def test_parse_header_without_signature() -> None:
    assert parse_header(build_table("DSDT", b"\x01\x02", revision=2), "t").signature == "DSDT"


def test_short_fadt() -> None:
    _rejects(parse_fadt, build_table("FACP", bytes(94), revision=6), "offset 0x82", "too short")
    _rejects(parse_fadt, build_table("FACP", b"", revision=1), "offset 0x24", "too short")
    # 131 bytes (ACPI 5.1 without the minor revision byte) is enough.
    assert parse_fadt(build_table("FACP", bytes(95), revision=5), "t").minor_revision == 0


def _madt(*subtables: bytes) -> bytes:
    return build_table("APIC", struct.pack("<II", 0, 0) + b"".join(subtables), revision=5)


def test_bad_madt() -> None:
    good = build_madt(MPIDRS, 3)
    gicc = good[44 : 44 + 80]
    gicd = good[-24:]
    _rejects(parse_madt, build_table("APIC", b"\0" * 4, revision=5), "offset 0x28", "ends before")
    _rejects(parse_madt, _madt(b"\x0b\x00" + gicc[2:]), "offset 0x2c", "length 0")
    _rejects(parse_madt, _madt(gicc, b"\x0c\x01"), "offset 0x7c", "length 1")
    _rejects(parse_madt, _madt(gicc, b"\x0c"), "offset 0x7c", "truncated subtable header")
    _rejects(parse_madt, _madt(gicc[:79]), "offset 0x2c", "runs past the end")
    _rejects(parse_madt, _madt(b"\x0b\x40" + gicc[2:64]), "offset 0x2c", "GICC length 0x40")
    _rejects(parse_madt, _madt(b"\x0c\x10" + gicd[2:16]), "offset 0x2c", "GICD length 0x10")
    dup = build_madt([0x100, 0x100], 3)
    _rejects(parse_madt, dup, "offset 0xc0", "repeats the GICC at offset 0x2c")
    _rejects(parse_madt, build_madt([1 << 24], 3), "offset 0x70", "outside the affinity")
    _rejects(parse_madt, build_madt([0], 5), "offset 0x90", "reserved GIC version 5")
    # Unknown subtable types are skipped by their length.
    madt = parse_madt(_madt(b"\x7f\x05abc", gicc, gicd), "t")
    assert [g.mpidr for g in madt.gicc] == [0] and madt.gic_version == 3


def _hest(count: int, *entries: bytes) -> bytes:
    return build_table("HEST", struct.pack("<I", count) + b"".join(entries), revision=1)


def test_bad_hest() -> None:
    ghes = build_ghes(EXAMPLE_GHES[0])
    ghes2 = build_ghes(EXAMPLE_GHES[1])
    _rejects(parse_hest, build_table("HEST", b"\0", revision=1), "offset 0x25", "Error Source")
    _rejects(parse_hest, _hest(2, ghes), "offset 0x68", "holds only 1 entries")
    _rejects(parse_hest, _hest(1, ghes, ghes), "offset 0x68", "64 bytes after the last of the 1")
    _rejects(parse_hest, _hest(1, ghes[:63]), "offset 0x28", "needs 64 bytes, only 63")
    _rejects(parse_hest, _hest(2, ghes, ghes2[:91]), "offset 0x68", "needs 92 bytes")
    _rejects(parse_hest, _hest(1, b"\x03\x00" + ghes[2:]), "offset 0x28", "unknown error source")
    _rejects(parse_hest, _hest(1, b"\x0c\x00" + ghes[2:]), "offset 0x28", "type 12")
    bad_notify = build_hest([Ghes(0, 1, 12, 0x4000_0010, 0)])
    _rejects(parse_hest, bad_notify, "offset 0x48", "unknown notification type 0x0c")
    bad_notify2 = build_hest([EXAMPLE_GHES[0], Ghes(1, 2, 0xFF, 0, 0)])
    _rejects(parse_hest, bad_notify2, "offset 0x88", "unknown notification type 0xff")
    # IA-32 corrected machine check (type 1) with 3 banks but room for 2.
    mc = struct.pack("<HHHBBII", 1, 0, 0, 0, 1, 1, 1) + bytes(28) + bytes([3, 0, 0, 0])
    _rejects(parse_hest, _hest(1, mc + bytes(56)), "offset 0x28", "with 3 banks (132 bytes)")
    # ... and with its notification structure naming an unknown type.
    mc_bad = mc[:16] + b"\x0d" + mc[17:44] + b"\x02" + mc[45:]
    _rejects(parse_hest, _hest(1, mc_bad + bytes(56)), "offset 0x38", "type 0x0d")


def test_length_field_rewrites() -> None:
    good = build_hest(EXAMPLE_GHES)
    for length in range(36, len(good)):
        with pytest.raises(FormatError) as err:
            parse_hest(_set_length(good, length), "t")
        assert err.value.where.startswith("offset 0x")

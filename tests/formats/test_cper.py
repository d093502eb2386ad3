"""CPER error records: built and parsed both ways for every section type, laid out as Linux's
structs are, malformed ones refused naming the byte offset, and printed as Linux prints them."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sdei.cli import app
from sdei.formats import cper
from sdei.formats.errors import FormatError

u8, u16 = st.integers(0, 0xFF), st.integers(0, 0xFFFF)
u32, u64 = st.integers(0, 0xFFFF_FFFF), st.integers(0, (1 << 64) - 1)
severity = st.integers(0, 3)

memory = st.builds(
    cper.MemoryError, u64, u64, u64, u64, u16, u16, u16, u16, u16, u16, u16, u16, u64, u64, u64,
    u8, u8, u16, u16, u16,
)  # fmt: skip
pcie = st.builds(
    cper.PcieError, u64, u32, u8, u8, u16, u16, u16, u32, u16, u16, st.binary(min_size=3,
    max_size=3), u8, u8, u16, u8, u8, u16, u8, u32, u32, u16, u16,
    st.binary(min_size=60, max_size=60), st.binary(min_size=96, max_size=96),
)  # fmt: skip
arm = st.builds(
    cper.ArmProcessorError, u32, u8, u64, u64, u32, u32,
    st.lists(st.builds(cper.ArmErrorInfo, u8, st.just(32), u16, u8, u16, u8, u64, u64, u64),
             max_size=3).map(tuple),
    st.lists(st.builds(cper.ArmContext, u16, u16, st.binary(max_size=40)), max_size=2).map(tuple),
    st.binary(max_size=24),
)  # fmt: skip
entry = st.builds(
    cper.Entry,
    st.one_of(memory, pcie, arm),
    severity,
    st.sampled_from((0x0200, 0x0300)),
    u8,
    u8,
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=20, max_size=20),
    u64,
).map(lambda e: e if e.revision >> 8 >= 3 else replace(e, timestamp=0))  # no field before v3
block = st.builds(
    cper.ErrorStatusBlock, st.lists(entry, max_size=4).map(tuple), severity,
    st.binary(max_size=32), st.booleans(), st.booleans(),
)  # fmt: skip


@given(block)
def test_every_block_round_trips(b: cper.ErrorStatusBlock) -> None:
    data = cper.build(b)
    assert cper.parse(data) == b
    assert cper.build(cper.parse(data)) == data


def test_the_layout_is_linuxs() -> None:
    """Offsets as in Linux's acpi_hest_generic_status / _data_v300 and cper_sec_mem_err."""
    mem = cper.MemoryError(validation_bits=0x4002, physical_address=0x8123_4000, error_type=3)
    data = cper.build(cper.ErrorStatusBlock((cper.Entry(mem, cper.CORRECTED),), cper.CORRECTED))
    status, raw_offset, raw_length, data_length, sev = struct.unpack_from("<5I", data)
    assert (status, raw_offset, raw_length, data_length, sev) == (0x12, 0, 0, 72 + 80, 2)
    assert data[20:36] == bytes.fromhex("1411bca5646fde4eb8633e83ed7c83b1")  # the GUID, LE
    assert struct.unpack_from("<IHBBI", data, 36) == (2, 0x300, 0, 0, 80)
    section = 20 + 72
    assert struct.unpack_from("<Q", data, section + 16) == (0x8123_4000,)  # physical_addr
    assert data[section + 72] == 3  # error_type
    assert len(cper.PcieError().pack()) == 208 and len(cper.ArmErrorInfo().pack()) == 32
    assert len(cper.ArmProcessorError(errors=()).pack()) == 40


def _memory_block() -> bytes:
    return cper.build(cper.ErrorStatusBlock((cper.Entry(cper.MemoryError()),)))


@pytest.mark.parametrize(
    ("mangle", "offset", "words"),
    [
        (lambda d: d[:12], "0x0", "truncated generic error status block header"),
        (lambda d: d[:-1], "0xc", "runs past the end"),
        (lambda d: d[:20] + bytes(16) + d[36:], "0x14", "unknown section type"),
        (lambda d: d[:44] + struct.pack("<I", 81) + d[48:], "0x2c", "runs past the block"),
        (lambda d: d[:44] + struct.pack("<I", 79) + d[48:], "0x2c",
         "memory error section length 79, expected 80"),
        (lambda d: struct.pack("<I", 0x20) + d[4:], "0x0", "says 2 entries"),
        (lambda d: d[:12] + struct.pack("<I", 10) + d[16:], "0xc", "shorter than one entry"),
    ],
)  # fmt: skip
def test_a_malformed_block_names_the_byte_offset(mangle: object, offset: str, words: str) -> None:
    data = mangle(_memory_block())  # type: ignore[operator]
    with pytest.raises(FormatError) as caught:
        cper.parse(data, "estatus.bin")
    assert caught.value.where == f"offset {offset}"
    assert words in caught.value.message
    assert str(caught.value).startswith("estatus.bin: offset ")


def test_an_arm_section_whose_lengths_disagree_is_refused() -> None:
    section = cper.ArmProcessorError(errors=(cper.ArmErrorInfo(), cper.ArmErrorInfo()))
    data = bytearray(cper.build(cper.ErrorStatusBlock((cper.Entry(section),))))
    struct.pack_into("<H", data, 92 + 4, 3)  # three error infos claimed, two there
    with pytest.raises(FormatError, match=r"offset 0xc4: truncated error information 2"):
        cper.parse(bytes(data))


def test_linux_prints_a_memory_error_field_by_field() -> None:
    """cper_estatus_print() -> cper_print_mem(): each printk of cper.c, in order."""
    m = cper.MemoryError
    valid = (m.VALID_ERROR_STATUS | m.VALID_PA | m.VALID_NODE | m.VALID_BANK | m.VALID_ROW
             | m.VALID_REQUESTOR_ID | m.VALID_TARGET_ID | m.VALID_ERROR_TYPE
             | m.VALID_MODULE_HANDLE)  # fmt: skip
    mem = m(valid, error_status=0x400, physical_address=0x8000_2000, node=1, bank=2, row=77,
            requestor_id=5, target_id=9, error_type=2, module_handle=0x11)  # fmt: skip
    block = cper.ErrorStatusBlock((cper.Entry(mem, cper.CORRECTED),), cper.CORRECTED)
    pfx = "{1}[Hardware Error]: "
    assert cper.linux_lines(cper.parse(cper.build(block)), pfx) == [
        pfx + "It has been corrected by h/w and requires no further action",
        pfx + "event severity: corrected",
        pfx + " Error 0, type: corrected",
        pfx + "  section_type: memory error",
        pfx + "  error_status: 0x0000000000000400",
        pfx + "  physical_address: 0x0000000080002000",
        # target_id is written past the end Linux then cuts at (cper_mem_err_location)
        pfx + "  node: 1 bank: 2 row: 77 requestor_id: 0x0000000000000005 ",
        pfx + "  error_type: 2, single-bit ECC",
        pfx + "  DIMM location: not present. DMI handle: 0x0011 ",
    ]


def test_linux_prints_pcie_and_arm_errors() -> None:
    p = cper.PcieError
    pcie = p(p.VALID_PORT_TYPE | p.VALID_VERSION | p.VALID_DEVICE_ID | p.VALID_AER_INFO,
             port_type=4, version_major=3, version_minor=1, vendor_id=0x13B5, device_id=0x1234,
             class_code=bytes((0, 4, 6)), function=1, device=2, segment=0, bus=0x80, slot=5 << 3,
             aer_info=struct.pack("<IIII", 0, 0x20, 0x400, 0x62030) + bytes(80))  # fmt: skip
    e = cper.ArmErrorInfo
    arm = cper.ArmProcessorError(
        cper.ArmProcessorError.VALID_MPIDR | cper.ArmProcessorError.VALID_RUNNING_STATE,
        mpidr=0x8100_0002, midr=0x410F_D0C1, running_state=1, psci_state=0,
        errors=(e(validation_bits=e.VALID_FLAGS | e.VALID_PHYSICAL_ADDR, type=e.BUS,
                  multiple_error=1, flags=e.FLAG_FIRST | e.FLAG_OVERFLOW,
                  physical_fault_address=0x9000),),
    )  # fmt: skip
    block = cper.ErrorStatusBlock(
        (cper.Entry(pcie, cper.FATAL), cper.Entry(arm, cper.RECOVERABLE)), cper.FATAL
    )
    lines = cper.linux_lines(cper.parse(cper.build(block)), "")
    assert lines == [
        "event severity: fatal",
        " Error 0, type: fatal",
        "  section_type: PCIe error",
        "  port_type: 4, root port",
        "  version: 3.1",
        "  device_id: 0000:80:02.1",
        "  slot: 5",
        "  secondary_bus: 0x00",
        "  vendor_id: 0x13b5, device_id: 0x1234",
        "  class_code: 060400",
        "  aer_uncor_status: 0x00000020, aer_uncor_mask: 0x00000400",
        "  aer_uncor_severity: 0x00062030",
        "  TLP Header: 00000000 00000000 00000000 00000000",
        " Error 1, type: recoverable",
        "  section_type: ARM processor error",
        "  MIDR: 0x00000000410fd0c1",
        "  Multiprocessor Affinity Register (MPIDR): 0x0000000081000002",
        "  running state: 0x1",
        "  Power State Coordination Interface state: 0",
        "  Error info structure 0:",
        "  num errors: 2",
        "   first error captured",
        "   overflow occurred, error info is incomplete",
        "   error_type: 2, bus error",
        "   physical fault address: 0x0000000000009000",
    ]


def test_sdei_ras_decode_prints_what_linux_would(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    good = tmp_path / "estatus.bin"
    mem = cper.MemoryError(cper.MemoryError.VALID_PA, physical_address=0x8000_4000)
    good.write_bytes(cper.build(cper.ErrorStatusBlock((cper.Entry(mem),))))
    result = runner.invoke(app, ["ras", "decode", str(good)])
    assert result.exit_code == 0, result.output
    assert "physical_address: 0x0000000080004000" in result.output
    bad = tmp_path / "bad.bin"
    bad.write_bytes(good.read_bytes()[:100])
    result = runner.invoke(app, ["ras", "decode", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: offset 0xc: data length 152 runs past the end" in result.output
    assert "Traceback" not in result.output

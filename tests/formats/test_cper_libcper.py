"""CPER cross-checked against an independent decoder: OpenBMC's libcper, through PyPI's `cper`
bindings (`make test` builds them: meson and Debian's libjson-c-dev). Every section we build,
wrapped in a Common Platform Error Record, decodes there to the fields we put in."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdei.formats import cper

u8, u16 = st.integers(0, 0xFF), st.integers(0, 0xFFFF)
# json-c holds integers as int64: libcper shows a 64-bit field from 2**63 up as 2**63 - 1.
u32, u64 = st.integers(0, 0xFFFF_FFFF), st.integers(0, (1 << 63) - 1)
bcd = st.integers(0, 99).map(lambda v: (v // 10) << 4 | v % 10)  # PCIe version bytes (N.2.7)


def unbcd(value: int) -> int:
    return (value >> 4) * 10 + (value & 0xF)


@pytest.fixture(scope="module")
def libcper() -> ModuleType:
    try:
        return importlib.import_module("cper")
    except ImportError:
        message = "PyPI's cper (libcper) is not installed: make test builds it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def decode(libcper: ModuleType, *entries: cper.Entry) -> list[dict[str, Any]]:
    block = cper.ErrorStatusBlock(tuple(entries), entries[0].severity)
    decoded = libcper.parse(cper.record(block))
    assert decoded["header"]["sectionCount"] == len(entries)
    for descriptor, entry in zip(decoded["sectionDescriptors"], entries, strict=True):
        assert descriptor["sectionType"]["data"] == cper.guid_text(entry.section.GUID)
        assert descriptor["severity"]["code"] == entry.severity
    return [next(iter(s.values())) for s in decoded["sections"]]


M = cper.MemoryError
memory = st.builds(
    M, st.just(M.VALID_PA | M.VALID_NODE | M.VALID_ERROR_TYPE | M.VALID_CARD | M.VALID_MODULE
               | M.VALID_DEVICE | M.VALID_ROW | M.VALID_COLUMN | M.VALID_BIT_POSITION),
    u64, u64, u64, u16, u16, u16, u16, u16, u16, u16, u16, st.just(0), st.just(0), st.just(0),
    st.integers(0, 15),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(section=memory)
def test_memory_errors_decode_to_what_we_built(libcper: ModuleType, section: M) -> None:
    (got,) = decode(libcper, cper.Entry(section, cper.RECOVERABLE))
    assert got["physicalAddress"] == section.physical_address
    assert got["node"] == section.node
    assert got["card"] == section.card and got["moduleRank"] == section.module
    assert got["device"] == section.device and got["column"] == section.column
    assert got["bitPosition"] == section.bit_position
    assert got["memoryErrorType"]["value"] == section.error_type


P = cper.PcieError
pcie = st.builds(
    P, st.just(P.VALID_PORT_TYPE | P.VALID_VERSION | P.VALID_COMMAND_STATUS | P.VALID_DEVICE_ID),
    st.integers(0, 10), bcd, bcd, st.just(0), u16, u16, st.just(0), u16, u16,
    st.binary(min_size=3, max_size=3), u8, u8, u16, u8, u8, u16,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(section=pcie)
def test_pcie_errors_decode_to_what_we_built(libcper: ModuleType, section: P) -> None:
    (got,) = decode(libcper, cper.Entry(section, cper.FATAL))
    assert got["portType"]["value"] == section.port_type
    assert got["version"] == {
        "major": unbcd(section.version_major), "minor": unbcd(section.version_minor),
    }  # fmt: skip
    assert got["commandStatus"] == {
        "commandRegister": section.command, "statusRegister": section.status,
    }  # fmt: skip
    device = got["deviceID"]
    assert (device["vendorID"], device["deviceID"]) == (section.vendor_id, section.device_id)
    assert device["functionNumber"] == section.function
    assert device["deviceNumber"] == section.device
    assert device["segmentNumber"] == section.segment
    assert device["primaryOrDeviceBusNumber"] == section.bus
    assert device["secondaryBusNumber"] == section.secondary_bus
    assert device["slotNumber"] == section.slot >> 3  # as Linux prints it too


E, A = cper.ArmErrorInfo, cper.ArmProcessorError
info = st.builds(
    E, st.just(0), st.just(32),
    st.just(E.VALID_MULTIPLE_ERROR | E.VALID_FLAGS | E.VALID_VIRT_ADDR | E.VALID_PHYSICAL_ADDR),
    st.integers(0, 3), u16, st.integers(0, 15), st.just(0), u64, u64,
)  # fmt: skip
arm = st.builds(
    A, st.just(A.VALID_MPIDR | A.VALID_RUNNING_STATE), u8, u64, u64, st.integers(0, 1), u32,
    st.lists(info, min_size=1, max_size=3).map(tuple),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(section=arm)
def test_arm_processor_errors_decode_to_what_we_built(
    libcper: ModuleType, section: cper.ArmProcessorError
) -> None:
    (got,) = decode(libcper, cper.Entry(section, cper.RECOVERABLE))
    assert got["errorInfoNum"] == len(section.errors)
    assert got["sectionLength"] == len(section.pack())
    assert got["mpidrEl1"] == section.mpidr and got["midrEl1"] == section.midr
    assert got["running"] == bool(section.running_state & 1)
    for ours, theirs in zip(section.errors, got["errorInfo"], strict=True):
        assert theirs["errorType"]["value"] == ours.type
        assert theirs["multipleError"]["value"] == ours.multiple_error
        assert theirs["flags"]["firstErrorCaptured"] == bool(ours.flags & E.FLAG_FIRST)
        assert theirs["flags"]["overflow"] == bool(ours.flags & E.FLAG_OVERFLOW)
        assert theirs["virtualFaultAddress"] == ours.virtual_fault_address
        assert theirs["physicalFaultAddress"] == ours.physical_fault_address

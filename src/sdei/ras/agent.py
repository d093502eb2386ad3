"""Firmware's RAS agent as machine code (what `sdei ras inject` and the RAS scenarios run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sdei.formats import cper
from sdei.machine import PE, Access, AssertInterrupt, Note
from sdei.ras.firmware import Injection, RasFirmware, RasSource

KINDS = ("memory", "processor", "pcie")


class InjectError(Exception):
    """A request the board cannot carry out (exit 2)."""


def reporting(
    ras: RasFirmware,
    source: RasSource,
    record: cper.ErrorStatusBlock,
    intid: int,
    *,
    repeat: int = 1,
    done: list[Injection] | None = None,
) -> Callable[[PE], Any]:
    """Firmware's RAS agent as machine code: write the record into the source's block and
    assert the interrupt of its SDEI event, `repeat` times (a record that finds the block
    busy is dropped, and says so)."""

    def agent(pe: PE) -> Any:
        for _ in range(repeat):
            yield Access(source.resource, label="firmware writes")
            injection = ras.write(source, record)
            if done is not None:
                done.append(injection)
            if injection.record is None:
                yield Note(f"firmware: error dropped: {injection.reason}")
                continue
            yield Note(
                f"firmware: {len(injection.record)}-byte CPER record written to the block of "
                f"GHES source {source.desc.source_id} at {source.block_address:#x}"
            )
            yield AssertInterrupt(intid)
        return 0

    return agent


def make_record(kind: str, severity: str, address: int, mpidr: int = 0) -> cper.ErrorStatusBlock:
    """A one-section error status block for `kind` at `address`."""
    sev = cper.SEVERITIES[severity]
    section: cper.Section
    if kind == "memory":
        m = cper.MemoryError
        section = m(m.VALID_PA | m.VALID_ERROR_TYPE, physical_address=address,
                    error_type=3 if sev != cper.CORRECTED else 2)  # fmt: skip
    elif kind == "processor":
        e = cper.ArmErrorInfo
        a = cper.ArmProcessorError
        info = e(validation_bits=e.VALID_FLAGS | e.VALID_PHYSICAL_ADDR, type=e.CACHE,
                 flags=e.FLAG_FIRST, physical_fault_address=address)  # fmt: skip
        section = a(a.VALID_MPIDR, mpidr=mpidr | 1 << 31, midr=0x410F_D0C1, errors=(info,))
    elif kind == "pcie":
        p = cper.PcieError
        section = p(p.VALID_PORT_TYPE | p.VALID_DEVICE_ID, port_type=4, vendor_id=0x13B5,
                    device_id=0x0001, bus=address >> 8 & 0xFF, device=address >> 3 & 0x1F,
                    function=address & 7)  # fmt: skip
    else:
        raise InjectError(f"unknown error type {kind!r}: one of {', '.join(KINDS)}")
    return cper.ErrorStatusBlock((cper.Entry(section, sev),), sev)

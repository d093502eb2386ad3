"""The platform's firmware-first error sources, as firmware runs them.

HEST (ACPI 6.5 18.3.2.7) gives each GHES source an Error Status Address: a register holding the
physical address of the source's error status block. Injecting an error writes a CPER record
(`sdei.formats.cper`) into that block and raises the SDEI event HEST binds to the source. A
block still holding an error the OS has not finished with is never overwritten: for GHES that
is a block whose Block Status is not zero yet (the OS clears it once it has copied the record),
for GHESv2 also a Read Ack register the OS has not written back (ACPI 6.5 18.3.2.8). An error
that arrives meanwhile is dropped and counted in `lost`, where the report shows it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from sdei.formats import cper
from sdei.formats.discovery import GhesSource

BLOCK_BASE = 0xFFFE_0000  # where this platform's firmware keeps its error status blocks


@dataclass
class PhysicalMemory:
    """The few regions of physical memory firmware and OS share here: 64-bit registers and
    error status blocks (sparse: a dict of base address to bytes)."""

    regions: dict[int, bytearray] = field(default_factory=dict)

    def add(self, base: int, size: int) -> None:
        self.regions.setdefault(base, bytearray(size))

    def _find(self, address: int, size: int) -> tuple[bytearray, int]:
        for base, data in self.regions.items():
            if base <= address and address + size <= base + len(data):
                return data, address - base
        raise ValueError(f"no memory at {address:#x} (+{size})")

    def read(self, address: int, size: int) -> bytes:
        data, at = self._find(address, size)
        return bytes(data[at : at + size])

    def write(self, address: int, value: bytes) -> None:
        data, at = self._find(address, len(value))
        data[at : at + len(value)] = value

    def read64(self, address: int) -> int:
        return int(struct.unpack("<Q", self.read(address, 8))[0])

    def write64(self, address: int, value: int) -> None:
        self.write(address, struct.pack("<Q", value & (1 << 64) - 1))


@dataclass
class RasSource:
    """One GHES source as firmware sees it: where its block is and how the OS acknowledges."""

    desc: GhesSource
    block_address: int

    @property
    def event(self) -> int | None:
        return self.desc.event

    @property
    def v2(self) -> bool:
        return self.desc.ghes_version == 2

    @property
    def resource(self) -> str:
        """The shared variable firmware and OS steps on this source name: its block and its
        Read Ack register together, as firmware reads both to decide and writes both."""
        return f"ghes-block:{self.block_address:#x}"


@dataclass(frozen=True)
class Injection:
    """What one injection did: the record written (None when it was dropped) and why not."""

    source: int
    record: bytes | None
    reason: str = ""


@dataclass
class RasFirmware:
    """The error sources of a platform and the memory they report in."""

    memory: PhysicalMemory
    sources: dict[int, RasSource]  # by HEST source id
    lost: list[tuple[int, str]] = field(default_factory=list)  # (source, why) dropped errors
    written: list[Injection] = field(default_factory=list)

    @classmethod
    def for_sources(cls, ghes: tuple[GhesSource, ...]) -> RasFirmware:
        """Blocks for every SDEI-notified source, their addresses in the Error Status Address
        registers, and every GHESv2 Read Ack register acknowledged (nothing outstanding)."""
        memory = PhysicalMemory()
        sources: dict[int, RasSource] = {}
        for n, g in enumerate(s for s in ghes if s.event is not None):
            block = BLOCK_BASE + n * max(g.error_block_length, 0x1000)
            memory.add(block, g.error_block_length)
            memory.add(g.error_status_address, 8)
            memory.write64(g.error_status_address, block)
            if g.ghes_version == 2 and g.read_ack_address:
                memory.add(g.read_ack_address, 8)
                memory.write64(g.read_ack_address, g.read_ack_write)
            sources[g.source_id] = RasSource(g, block)
        return cls(memory, sources)

    def source_for(self, severity: int) -> RasSource:
        """The source a record of this severity is reported through: a fatal error through a
        source notified by a critical event when the platform has one (here the GHESv2 one
        with the higher source id), anything else through the first."""
        ordered = sorted(self.sources.values(), key=lambda s: s.desc.source_id)
        if not ordered:
            raise ValueError("the platform describes no SDEI-notified GHES source")
        if severity == cper.FATAL and len(ordered) > 1:
            return ordered[-1]
        return ordered[0]

    def busy(self, source: RasSource) -> str:
        """Why the block cannot take a new record now ("" when it can)."""
        status = struct.unpack("<I", self.memory.read(source.block_address, 4))[0]
        if status:
            return "its block still holds an error the OS has not cleared"
        d = source.desc
        if source.v2 and d.read_ack_address:
            value = self.memory.read64(d.read_ack_address)
            if value & ~d.read_ack_preserve != d.read_ack_write:
                return "the OS has not acknowledged the previous error (GHESv2 Read Ack)"
        return ""

    def write(self, source: RasSource, block: cper.ErrorStatusBlock) -> Injection:
        """Write `block` for the OS, or drop it when the source's block is not free."""
        why = self.busy(source)
        sid = source.desc.source_id
        if why:
            self.lost.append((sid, why))
            done = Injection(sid, None, why)
        else:
            record = cper.build(block)
            if len(record) > source.desc.error_block_length:
                raise ValueError(
                    f"a {len(record)}-byte record does not fit source {sid}'s "
                    f"{source.desc.error_block_length}-byte block"
                )
            self.memory.write(source.block_address, record)
            d = source.desc
            if source.v2 and d.read_ack_address:  # outstanding until the OS writes it back
                self.memory.write64(d.read_ack_address, 0)
            done = Injection(sid, record)
        self.written.append(done)
        return done

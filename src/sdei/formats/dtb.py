"""Read what SDEI discovery needs from a flattened device tree (DTB).

Two passes:

1. ``_check_blob`` validates the container itself (header, memory reservation map,
   structure and strings blocks; Devicetree Specification v0.4 chapter 5) and reports
   the byte offset of the first problem.
2. The PyPI ``fdt`` library builds the node tree. Its typed property values are only
   guesses (tooling.md §2.3), so every value we use is turned back into its exact bytes
   (``_raw``) and decoded with the type the binding demands: ``reg`` as cells,
   ``method`` as a string, ``compatible`` as a string list.

Every problem raises :class:`FormatError`; nothing from ``fdt`` escapes.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fdt

from sdei.formats.errors import FormatError, at

FDT_MAGIC = 0xD00DFEED
_HEADER_V16 = 36  # DT spec 5.2: v16 has no size_dt_struct
_HEADER_V17 = 40

# Structure block tokens (DT spec 5.4.1).
FDT_BEGIN_NODE = 0x1
FDT_END_NODE = 0x2
FDT_PROP = 0x3
FDT_NOP = 0x4
FDT_END = 0x9

# MPIDR_EL1 affinity fields Aff3 [39:32], Aff2..Aff0 [23:0] (Arm ARM; Linux MPIDR_HWID_BITMASK).
MPIDR_AFFINITY_MASK = 0xFF_00FF_FFFF

SDEI_COMPATIBLE = "arm,sdei-1.0"
CONDUITS = ("smc", "hvc")
# GIC bindings: arm,gic-v3.yaml and arm,gic.yaml (the GICv2-class compatibles).
GIC_VERSIONS = {
    "arm,gic-v3": 3,
    "arm,gic-400": 2,
    "arm,cortex-a15-gic": 2,
    "arm,cortex-a7-gic": 2,
}


@dataclass(frozen=True)
class DtSdei:
    """The SDEI firmware node (Linux binding arm/firmware/sdei.txt)."""

    path: str
    method: str  # "smc" or "hvc"


@dataclass(frozen=True)
class DtPsci:
    path: str
    compatible: tuple[str, ...]
    method: str  # "smc" or "hvc"


@dataclass(frozen=True)
class DtCpu:
    path: str
    mpidr: int
    enabled: bool
    enable_method: str | None


@dataclass(frozen=True)
class DtGic:
    path: str
    compatible: str
    version: int  # 2 or 3


@dataclass(frozen=True)
class DtbInfo:
    path: str
    version: int
    sdei: DtSdei | None
    psci: DtPsci | None
    cpus: tuple[DtCpu, ...]
    gic: DtGic | None


# --------------------------------------------------------------------------------------
# Pass 1: the container


def _u32(data: bytes, offset: int) -> int:
    value: int = struct.unpack_from(">I", data, offset)[0]
    return value


def _name_ok(name: bytes) -> bool:
    # DT spec 2.2.1 / 2.2.4 allow a subset of these; printable ASCII is all fdt accepts.
    return all(0x21 <= c <= 0x7E and c != 0x2F for c in name)


def _check_blob(data: bytes, path: str) -> int:
    """Validate the DTB container; return its header version."""
    size = len(data)
    if size < 4:
        raise FormatError(path, at(size), f"truncated: {size} bytes, not a DTB")
    magic = _u32(data, 0)
    if magic != FDT_MAGIC:
        raise FormatError(path, at(0), f"bad magic {magic:#010x} (expected {FDT_MAGIC:#x})")
    if size < 28:
        raise FormatError(path, at(size), f"truncated header: {size} bytes")
    fields: tuple[int, ...] = struct.unpack_from(">6I", data, 4)
    totalsize, off_struct, off_strings, off_rsvmap, version, last_comp = fields
    if version < 16 or version > 17:
        raise FormatError(path, at(0x14), f"unsupported DTB version {version} (need 16 or 17)")
    if last_comp > 16:  # dtc writes 16; the fdt library refuses anything newer
        raise FormatError(path, at(0x18), f"last_comp_version {last_comp} is newer than 16")
    header_len = _HEADER_V17 if version >= 17 else _HEADER_V16
    if size < header_len:
        raise FormatError(path, at(size), f"truncated header: {size} of {header_len} bytes")
    if totalsize > size:
        raise FormatError(
            path, at(0x4), f"totalsize {totalsize:#x} is larger than the file ({size:#x} bytes)"
        )
    if totalsize < header_len:
        raise FormatError(path, at(0x4), f"totalsize {totalsize:#x} is smaller than the header")
    size_strings = _u32(data, 0x20)
    size_struct = _u32(data, 0x24) if version >= 17 else totalsize - min(off_struct, totalsize)

    # Memory reservation map: 8-aligned (u64 address, u64 size) pairs ending in 0,0 (5.3).
    if off_rsvmap % 8 or not header_len <= off_rsvmap < totalsize:
        raise FormatError(path, at(0x10), f"bad off_mem_rsvmap {off_rsvmap:#x}")
    entry = off_rsvmap
    while True:
        if entry + 16 > totalsize:
            raise FormatError(path, at(entry), "memory reservation map is not terminated")
        if struct.unpack_from(">QQ", data, entry) == (0, 0):
            break
        entry += 16

    if off_struct % 4 or not header_len <= off_struct <= totalsize:
        raise FormatError(path, at(0x8), f"bad off_dt_struct {off_struct:#x}")
    if off_struct + size_struct > totalsize:
        raise FormatError(
            path, at(0x24), f"structure block {off_struct:#x}+{size_struct:#x} exceeds totalsize"
        )
    if not header_len <= off_strings <= totalsize or off_strings + size_strings > totalsize:
        raise FormatError(
            path, at(0xC), f"strings block {off_strings:#x}+{size_strings:#x} exceeds totalsize"
        )
    _check_structure(data, path, off_struct, off_struct + size_struct, off_strings, size_strings)
    return version


def _check_structure(
    data: bytes, path: str, start: int, end: int, strings: int, strings_size: int
) -> None:
    """Walk the structure block tokens (DT spec 5.4) so that fdt only sees sane input."""
    off = start
    # One (property names, child names) pair per open node.
    stack: list[tuple[set[bytes], set[bytes]]] = []
    seen_root = False
    while True:
        if off + 4 > end:
            raise FormatError(path, at(off), "structure block ends without FDT_END")
        token = _u32(data, off)
        here = off
        off += 4
        if token == FDT_NOP:
            continue
        if token == FDT_BEGIN_NODE:
            nul = data.find(b"\0", off, end)
            if nul < 0:
                raise FormatError(path, at(off), "unterminated node name")
            name = data[off:nul]
            off = (nul + 4) & ~3
            if not stack:
                if seen_root:
                    raise FormatError(path, at(here), "second root node")
                if name:
                    raise FormatError(path, at(here), "root node has a non-empty name")
                seen_root = True
            else:
                if not name or not _name_ok(name):
                    raise FormatError(path, at(here), f"invalid node name {name!r}")
                children = stack[-1][1]
                if name in children:
                    raise FormatError(path, at(here), f"duplicate node {name.decode()!r}")
                children.add(name)
            stack.append((set(), set()))
        elif token == FDT_END_NODE:
            if not stack:
                raise FormatError(path, at(here), "FDT_END_NODE without an open node")
            stack.pop()
        elif token == FDT_PROP:
            if not stack:
                raise FormatError(path, at(here), "property outside any node")
            if off + 8 > end:
                raise FormatError(path, at(off), "truncated property header")
            length, nameoff = struct.unpack_from(">II", data, off)
            off += 8
            if off + length > end:
                raise FormatError(path, at(here), f"property value ({length:#x} bytes) overruns")
            off = (off + length + 3) & ~3
            if nameoff >= strings_size:
                raise FormatError(path, at(here + 8), f"property name offset {nameoff:#x}")
            nul = data.find(b"\0", strings + nameoff, strings + strings_size)
            pname = data[strings + nameoff : nul] if nul >= 0 else b""
            if not pname or not _name_ok(pname):
                raise FormatError(path, at(here + 8), f"invalid property name at {nameoff:#x}")
            props = stack[-1][0]
            if pname in props:
                raise FormatError(path, at(here), f"duplicate property {pname.decode()!r}")
            props.add(pname)
        elif token == FDT_END:
            if stack or not seen_root:
                raise FormatError(path, at(here), "FDT_END inside a node or before the root")
            return
        else:
            raise FormatError(path, at(here), f"unknown structure token {token:#x}")


# --------------------------------------------------------------------------------------
# Pass 2: the tree, through fdt


def _fdt_parse(blob: bytes) -> Any:
    # fdt 0.3.3 gives FDT() a shared mutable default list for the memory reservations and
    # parse_dtb() appends to it; undo that so parses do not leak into each other.
    defaults = getattr(fdt.FDT.__init__, "__defaults__", None) or ()
    shared = next((d for d in defaults if isinstance(d, list)), None)
    before = len(shared) if shared is not None else 0
    try:
        return fdt.parse_dtb(blob)
    finally:
        if shared is not None:
            del shared[before:]


def _raw(prop: Any) -> bytes:
    """The exact bytes of a property, whatever type fdt guessed for it."""
    if isinstance(prop, fdt.PropStrings):  # lossless: fdt only guesses strings when exact
        return b"".join(s.encode("ascii") + b"\0" for s in prop.data)
    if isinstance(prop, fdt.PropWords):
        return b"".join(struct.pack(">I", w) for w in prop.data)
    if isinstance(prop, fdt.PropBytes):
        return bytes(prop.data)
    return b""  # plain Property: no value


def _prop(node: Any, name: str) -> bytes | None:
    prop = node.get_property(name)
    return None if prop is None else _raw(prop)


def _strings(raw: bytes | None) -> tuple[str, ...] | None:
    """Decode a DT stringlist (DT spec 2.2.4.1); None if it is not one."""
    if not raw or raw[-1] != 0:
        return None
    try:
        parts = raw[:-1].decode("ascii").split("\0")
    except UnicodeDecodeError:
        return None
    return tuple(parts)


def _string(raw: bytes | None) -> str | None:
    parts = _strings(raw)
    return parts[0] if parts is not None and len(parts) == 1 else None


def _cells(raw: bytes) -> tuple[int, ...] | None:
    if len(raw) % 4:
        return None
    return tuple(w for (w,) in struct.iter_unpack(">I", raw))


def _walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Yield (full path, node) in document order. fdt's Node.path is the parent's path."""
    stack: list[tuple[str, Any]] = [("/", root)]
    while stack:
        path, node = stack.pop()
        yield path, node
        prefix = "" if path == "/" else path
        stack.extend((f"{prefix}/{child.name}", child) for child in reversed(node.nodes))


def _available(node: Any) -> bool:
    status = _string(_prop(node, "status"))
    return status is None or status in ("okay", "ok")  # DT spec 2.3.4


def _conduit(path: str, node_path: str, node: Any, what: str) -> str:
    raw = _prop(node, "method")
    if raw is None:
        # Linux sdei_get_conduit / psci get_set_conduit_method: no method, no conduit.
        raise FormatError(path, node_path, f'{what} node has no "method" property: no conduit')
    method = _string(raw)
    if method not in CONDUITS:
        as_strings = _strings(raw)
        shown = ", ".join(map(repr, as_strings)) if as_strings else f"<{raw.hex()}>"
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise FormatError(path, node_path, f'invalid method {shown}: {what} needs "smc" or "hvc"')
    return method


def _cpus(path: str, tree: Any) -> tuple[DtCpu, ...]:
    if not tree.exist_node("/cpus"):
        return ()
    cpus_node = tree.get_node("/cpus")
    found: list[DtCpu] = []
    by_mpidr: dict[int, str] = {}
    for child in cpus_node.nodes:
        node_path = f"/cpus/{child.name}"
        base = child.name.split("@", 1)[0]
        # Linux for_each_of_cpu_node: named "cpu" or device_type = "cpu".
        if base != "cpu" and _string(_prop(child, "device_type")) != "cpu":
            continue
        ac_raw = _prop(cpus_node, "#address-cells")
        ac = _cells(ac_raw) if ac_raw is not None else None
        if ac is None or len(ac) != 1 or ac[0] not in (1, 2):
            raise FormatError(
                path, "/cpus", "#address-cells must be <1> or <2> (arm64 cpus binding)"
            )
        reg_raw = _prop(child, "reg")
        reg = _cells(reg_raw) if reg_raw is not None else None
        if reg is None or len(reg) != ac[0]:
            raise FormatError(path, node_path, f"reg must be exactly {ac[0]} cell(s)")
        mpidr = 0
        for cell in reg:
            mpidr = (mpidr << 32) | cell
        if mpidr & ~MPIDR_AFFINITY_MASK:
            raise FormatError(
                path, node_path, f"reg {mpidr:#x} has bits outside the MPIDR affinity fields"
            )
        if mpidr in by_mpidr:
            raise FormatError(path, node_path, f"MPIDR {mpidr:#x} also used by {by_mpidr[mpidr]}")
        by_mpidr[mpidr] = node_path
        enable_method = _string(_prop(child, "enable-method"))
        found.append(DtCpu(node_path, mpidr, _available(child), enable_method))
    return tuple(found)


def parse_dtb(data: bytes, path: str) -> DtbInfo:
    """Parse a DTB image; ``path`` is only used in error messages."""
    version = _check_blob(data, path)
    totalsize = _u32(data, 4)
    try:
        tree = _fdt_parse(bytes(data[:totalsize]))
    except Exception as exc:  # fdt raises anything (ValueError, AssertionError, ...)
        raise FormatError(
            path, at(_u32(data, 8)), f"fdt rejected the structure block: {exc!r}"
        ) from exc
    try:
        return _extract(path, version, tree)
    except FormatError:
        raise
    except Exception as exc:
        raise FormatError(path, "/", f"unexpected tree content: {exc!r}") from exc


def _extract(path: str, version: int, tree: Any) -> DtbInfo:
    sdei: DtSdei | None = None
    psci: DtPsci | None = None
    gic: DtGic | None = None
    for node_path, node in _walk(tree.root):
        compatible = _strings(_prop(node, "compatible")) or ()
        if sdei is None and SDEI_COMPATIBLE in compatible and _available(node):
            sdei = DtSdei(node_path, _conduit(path, node_path, node, "SDEI"))
        if psci is None and any(c.startswith("arm,psci") for c in compatible):
            psci = DtPsci(node_path, compatible, _conduit(path, node_path, node, "PSCI"))
        if gic is None:
            for c in compatible:
                if c in GIC_VERSIONS:
                    gic = DtGic(node_path, c, GIC_VERSIONS[c])
                    break
    return DtbInfo(path, version, sdei, psci, _cpus(path, tree), gic)


def read_dtb(path: str | os.PathLike[str]) -> DtbInfo:
    """Read and parse a DTB file."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise FormatError(name, "file", exc.strerror or str(exc)) from exc
    return parse_dtb(data, name)

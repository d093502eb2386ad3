"""Firmware tables in the forms users have them, turned into the binary the parsers read:
device-tree source (compiled with dtc) and the text `acpidump` prints (hex lines per table).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from sdei.formats.errors import FormatError

DTB_MAGIC = b"\xd0\x0d\xfe\xed"
_DTS_START = re.compile(rb"\s*(/\*.*?\*/\s*|//[^\n]*\n\s*)*/dts-v1/", re.DOTALL)
# acpidump: "APIC @ 0x0000000000000000", then "    0000: 41 50 49 43 ...  APIC...." lines.
_DUMP_HEADER = re.compile(r"\s*([A-Za-z0-9_!]{4}) @ 0x[0-9A-Fa-f]+\s*$")
_DUMP_LINE = re.compile(r"\s*([0-9A-Fa-f]{4,8}):((?: [0-9A-Fa-f]{2}){1,16})(?:\s|$)")


def is_dts(data: bytes) -> bool:
    """Device-tree source: starts (after comments) with `/dts-v1/`."""
    return not data.startswith(DTB_MAGIC) and _DTS_START.match(data[:4096]) is not None


def compile_dts(path: str) -> bytes:
    """Compile a `.dts` with dtc, as the demo does; a dtc error names the source line."""
    dtc = shutil.which("dtc")
    if dtc is None:
        raise FormatError(
            path,
            "source",
            "a device-tree source: install dtc (apt-get install device-tree-compiler) or "
            f"compile it yourself: dtc -I dts -O dtb -o OUT.dtb {path}",
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.dtb")
        done = subprocess.run(
            [dtc, "-q", "-I", "dts", "-O", "dtb", "-o", out, path],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            first = next((ln for ln in done.stderr.splitlines() if ln.strip()), "dtc failed")
            raise FormatError(path, "source", f"dtc: {first}")
        with open(out, "rb") as f:
            return f.read()


def is_acpidump(data: bytes) -> bool:
    """The text `acpidump` prints: a table header line within the first lines."""
    try:
        head = data[:2048].decode("ascii")
    except UnicodeDecodeError:
        return False
    return any(_DUMP_HEADER.match(line) for line in head.splitlines()[:8])


def parse_acpidump(data: bytes, path: str) -> list[tuple[int, bytes]]:
    """Every table in acpidump text, as (line of its header, binary), checked: offsets in
    order and the table's own length field matching its bytes."""
    tables: list[tuple[int, bytes]] = []
    current: bytearray | None = None
    start = 0

    def close(line: int) -> None:
        if current is None:
            return
        if len(current) < 8:
            raise FormatError(path, f"line {start}", "table too short to hold its header")
        length = int.from_bytes(current[4:8], "little")
        if length != len(current):
            raise FormatError(
                path,
                f"line {line}",
                f"table {current[:4].decode('latin-1')} says it is {length} bytes but "
                f"{len(current)} are dumped",
            )
        tables.append((start, bytes(current)))

    number = 0
    for number, line in enumerate(data.decode("ascii", errors="replace").splitlines(), 1):
        if _DUMP_HEADER.match(line):
            close(number)
            current, start = bytearray(), number
            continue
        found = _DUMP_LINE.match(line)
        if found is None:
            continue  # blank lines, acpidump's banner
        if current is None:
            raise FormatError(path, f"line {number}", "hex dump line before any table header")
        offset = int(found.group(1), 16)
        if offset != len(current):
            raise FormatError(
                path, f"line {number}", f"offset {offset:#x}, expected {len(current):#x}"
            )
        current.extend(bytes.fromhex(found.group(2)))
    close(number + 1)
    return tables

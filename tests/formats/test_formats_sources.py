"""Tables the way users have them: sysfs copies, acpidump text (cross-checked with ACPICA's own
acpixtract), device-tree source; and a board that cannot boot said in one line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.formats import FormatError, discover_acpi, discover_dtb
from sdei.formats.sources import parse_acpidump
from sdei.testing import require_tool

REPO = Path(__file__).resolve().parents[2]
DT_EXAMPLES = REPO / "examples" / "dt"


SYSFS = {"sdei": "SDEI", "facp": "FACP", "apic": "APIC", "hest": "HEST"}


def acpidump_text(tables: dict[str, bytes]) -> str:
    """What `acpidump` prints for these tables (its hex-and-ASCII layout)."""
    out = []
    for data in tables.values():
        out.append(f"{data[:4].decode()} @ 0x0000000000000000")
        for offset in range(0, len(data), 16):
            chunk = data[offset : offset + 16]
            hexes = " ".join(f"{b:02X}" for b in chunk)
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
            out.append(f"    {offset:04X}: {hexes:<47}  {text}")
        out.append("")
    return "\n".join(out) + "\n"


def _boot(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["boot", *args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_sysfs_names_boot_like_the_compiled_tables(
    acpi_dir: Path, acpi_tables: dict[str, bytes], tmp_path: Path
) -> None:
    for stem, name in SYSFS.items():
        (tmp_path / name).write_bytes(acpi_tables[stem])
    (tmp_path / "README").write_text("copied from /sys/firmware/acpi/tables\n")
    found, expected = discover_acpi(tmp_path), discover_acpi(acpi_dir)
    assert (found.cpus, found.conduit, found.ghes) == (
        expected.cpus,
        expected.conduit,
        expected.ghes,
    )
    code, output = _boot("--acpi", str(tmp_path))
    assert code == 0 and "probe: probed" in output


def test_acpidump_text_matches_acpixtract(acpi_tables: dict[str, bytes], tmp_path: Path) -> None:
    acpixtract = require_tool("acpixtract", "acpica-tools")
    dump = tmp_path / "acpi.out"
    dump.write_text("Intel ACPI table dump\n\n" + acpidump_text(acpi_tables))
    ours = {data[:4].decode(): data for _, data in parse_acpidump(dump.read_bytes(), str(dump))}
    extracted = tmp_path / "x"
    extracted.mkdir()
    subprocess.run([acpixtract, "-a", str(dump)], cwd=extracted, check=True, capture_output=True)
    theirs = {p.stem.upper(): p.read_bytes() for p in extracted.glob("*.dat")}
    assert ours == theirs and set(ours) == {"SDEI", "FACP", "APIC", "HEST"}
    # The file on its own, or in a directory, boots.
    for where in (dump, tmp_path):
        code, output = _boot("--acpi", str(where))
        assert code == 0 and "0x0, 0x1, 0x100, 0x101" in output


def test_acpidump_mistakes_name_the_line(acpi_tables: dict[str, bytes], tmp_path: Path) -> None:
    lines = acpidump_text({"sdei": acpi_tables["sdei"]}).splitlines()
    skipped = "\n".join(line for n, line in enumerate(lines) if n != 2)  # the 0x10 line
    with pytest.raises(FormatError, match=r"line 3: offset 0x20, expected 0x10"):
        parse_acpidump(skipped.encode(), "dump")
    truncated = "\n".join(lines[:2])  # a 36-byte table, 16 bytes dumped
    with pytest.raises(FormatError, match="says it is 36 bytes but 16 are dumped"):
        parse_acpidump(truncated.encode(), "dump")
    with pytest.raises(FormatError, match="line 1: hex dump line before any table header"):
        parse_acpidump(b"    0000: 53 44 45 49\nSDEI @ 0x0\n", "dump")


def test_a_dts_source_is_compiled_and_booted(tmp_path: Path) -> None:
    require_tool("dtc", "device-tree-compiler")
    source = DT_EXAMPLES / "sdei-4cpu.dts"
    assert discover_dtb(source).cpus == discover_dtb(_compiled(source, tmp_path)).cpus
    code, output = _boot(str(source))
    assert code == 0 and "probe: probed" in output
    broken = tmp_path / "broken.dts"
    broken.write_text("/dts-v1/;\n/ { cpus { x = <1 ; }; };\n")
    code, output = _boot(str(broken))
    assert code == 2
    assert output.strip() == f"error: {broken}: source: dtc: Error: {broken}:2.19-20 syntax error"


def _compiled(source: Path, tmp_path: Path) -> Path:
    dtc = shutil.which("dtc")
    assert dtc is not None
    out = tmp_path / "out.dtb"
    subprocess.run([dtc, "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(source)], check=True)
    return out


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({}, "directory: no SDEI, FACP, APIC or HEST table found"),
        ({"sdei": "s.aml", "facp": "f.aml"}, "APIC: no MADT (APIC) table"),
    ],
)
def test_acpi_that_cannot_boot_says_what_is_missing(
    acpi_tables: dict[str, bytes], tmp_path: Path, tables: dict[str, str], message: str
) -> None:
    for stem, name in tables.items():
        (tmp_path / name).write_bytes(acpi_tables[stem])
    code, output = _boot("--acpi", str(tmp_path))
    assert code == 2
    assert output.strip() == f"error: {tmp_path}: {message}" + output.strip().split(message)[1]
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_a_device_tree_without_cpus_says_so(tmp_path: Path) -> None:
    dtc = require_tool("dtc", "device-tree-compiler")
    source = tmp_path / "nocpu.dts"
    source.write_text(
        "/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>;\n"
        '  psci { compatible = "arm,psci-1.0"; method = "smc"; };\n};\n'
    )
    blob = tmp_path / "nocpu.dtb"
    subprocess.run([dtc, "-q", "-o", str(blob), str(source)], check=True)
    for path in (blob, source):
        code, output = _boot(str(path))
        assert code == 2
        assert (
            output.strip() == f"error: {path}: /cpus: no enabled CPU is described: nothing can boot"
        )

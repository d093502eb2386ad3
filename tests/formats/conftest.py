"""Fixtures for the sdei.formats tests: the dtc / iasl tools and compiled examples."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sdei.testing import require_tool

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DT_EXAMPLES = EXAMPLES / "dt"
ACPI_EXAMPLES = EXAMPLES / "acpi"
DATA = Path(__file__).resolve().parent / "data"

CompileDts = Callable[..., Path]
CompileAsl = Callable[[Path, Path], Path]


@pytest.fixture(scope="session")
def dtc() -> str:
    return require_tool("dtc", "device-tree-compiler")


@pytest.fixture(scope="session")
def fdtget() -> str:
    return require_tool("fdtget", "device-tree-compiler")


@pytest.fixture(scope="session")
def iasl() -> str:
    return require_tool("iasl", "acpica-tools")


def run_dtc(dtc: str, source: Path, out: Path, *, allow_warnings: bool = False) -> Path:
    """Compile a .dts; a dtc warning fails the test unless allowed (tooling.md §2.4)."""
    result = subprocess.run(
        [dtc, "-I", "dts", "-O", "dtb", "-o", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert allow_warnings or not result.stderr.strip(), result.stderr
    return out


def run_iasl(iasl: str, source: Path, out_dir: Path) -> Path:
    """Compile an .asl data table into ``out_dir``; warnings fail the test."""
    prefix = out_dir / source.stem
    result = subprocess.run(
        [iasl, "-vs", "-p", str(prefix), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "0 Errors, 0 Warnings" in output, output
    return prefix.with_suffix(".aml")


@pytest.fixture
def compile_dts(dtc: str, tmp_path: Path) -> CompileDts:
    """Compile a .dts file into tmp_path and return the .dtb path."""

    def compile_one(source: Path, *, allow_warnings: bool = False) -> Path:
        out = tmp_path / f"{source.stem}.dtb"
        return run_dtc(dtc, source, out, allow_warnings=allow_warnings)

    return compile_one


@pytest.fixture
def compile_asl(iasl: str) -> CompileAsl:
    """Compile an .asl file into a given directory and return the .aml path."""

    def compile_one(source: Path, out_dir: Path) -> Path:
        return run_iasl(iasl, source, out_dir)

    return compile_one


@pytest.fixture(scope="session")
def example_dtbs(dtc: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every examples/dt/*.dts compiled once: stem -> .dtb path."""
    out = tmp_path_factory.mktemp("dtb")
    return {s.stem: run_dtc(dtc, s, out / f"{s.stem}.dtb") for s in DT_EXAMPLES.glob("*.dts")}


@pytest.fixture(scope="session")
def acpi_dir(iasl: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/acpi/*.asl compiled once into a directory of .aml tables."""
    out = tmp_path_factory.mktemp("acpi")
    for source in sorted(ACPI_EXAMPLES.glob("*.asl")):
        run_iasl(iasl, source, out)
    return out


@pytest.fixture(scope="session")
def acpi_tables(acpi_dir: Path) -> dict[str, bytes]:
    """The compiled example tables by file stem (sdei, facp, apic, hest)."""
    return {p.stem: p.read_bytes() for p in acpi_dir.glob("*.aml")}

"""discover_acpi / discover_dtb: the Discovery an OS would derive from the tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sdei.formats import (
    CpuDesc,
    Discovery,
    FormatError,
    Ghes,
    GhesSource,
    build_fadt,
    build_hest,
    build_madt,
    build_sdei,
    build_table,
    discover_acpi,
    discover_dtb,
)

EXAMPLE_CPUS = (CpuDesc(0x0, True), CpuDesc(0x1, True), CpuDesc(0x100, True), CpuDesc(0x101, True))


def _write(directory: Path, tables: dict[str, bytes]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, data in tables.items():
        (directory / name).write_bytes(data)
    return directory


def test_acpi_example(acpi_dir: Path) -> None:
    d = discover_acpi(acpi_dir)
    assert d == Discovery(
        source="acpi",
        path=str(acpi_dir),
        conduit="smc",
        sdei_present=True,
        psci_conduit="smc",
        cpus=EXAMPLE_CPUS,
        gic_version=3,
        ghes=(
            GhesSource(0, 11, 0x4000_0010, 1, 0xFFFF_0000),
            GhesSource(1, 11, 0x4000_0011, 2, 0xFFFF_0008, 0x1000, 0xFFFF_0010, (1 << 64) - 2, 1),
        ),
        tables=("APIC", "FACP", "HEST", "SDEI"),
    )


def test_dt_and_acpi_examples_describe_the_same_board(
    acpi_dir: Path, example_dtbs: dict[str, Path]
) -> None:
    dt = discover_dtb(example_dtbs["sdei-4cpu"])
    acpi = discover_acpi(acpi_dir)
    assert (dt.conduit, dt.psci_conduit, dt.cpus, dt.gic_version) == (
        acpi.conduit,
        acpi.psci_conduit,
        acpi.cpus,
        acpi.gic_version,
    )


def test_tables_are_found_by_signature(acpi_dir: Path, tmp_path: Path) -> None:
    names = {"sdei": "x.AML", "facp": "DSDT.aml", "apic": "hest.dat", "hest": "t1.DAT"}
    for stem, name in names.items():
        shutil.copy(acpi_dir / f"{stem}.aml", tmp_path / name)
    (tmp_path / "dsdt.dat").write_bytes(build_table("DSDT", b"\x10\x00", revision=2))
    (tmp_path / "notes.txt").write_bytes(b"ignored")
    (tmp_path / "sub.aml").mkdir()  # not a file: ignored
    d = discover_acpi(tmp_path)
    assert d.cpus == EXAMPLE_CPUS and d.conduit == "smc" and len(d.ghes) == 2


def test_hvc(tmp_path: Path) -> None:
    d = discover_acpi(
        _write(tmp_path / "t", {"s.aml": build_sdei(), "f.aml": build_fadt(psci_use_hvc=True)})
    )
    assert (d.conduit, d.psci_conduit, d.cpus, d.gic_version, d.ghes) == (
        "hvc",
        "hvc",
        (),
        None,
        (),
    )


def test_no_sdei_table(tmp_path: Path) -> None:
    tables = {"f.aml": build_fadt(psci_use_hvc=False), "m.aml": build_madt([0, 1], 2)}
    d = discover_acpi(_write(tmp_path / "t", tables))
    assert (d.sdei_present, d.conduit, d.psci_conduit) == (False, None, "smc")
    assert d.cpus == (CpuDesc(0, True), CpuDesc(1, True)) and d.gic_version == 2


def test_psci_not_compliant(tmp_path: Path) -> None:
    tables = {"s.aml": build_sdei(), "f.aml": build_fadt(False, psci_compliant=False)}
    d = discover_acpi(_write(tmp_path / "t", tables))
    assert (d.conduit, d.psci_conduit) == ("smc", None)  # Linux: SDEI still uses the HVC bit


def test_ghes_not_notified_by_sdei(tmp_path: Path) -> None:
    hest = build_hest([Ghes(3, 1, 3, 0x55, 0x9000), Ghes(4, 2, 11, 0x4000_0000, 0x9008)])
    d = discover_acpi(_write(tmp_path / "t", {"h.aml": hest}))
    assert d.ghes == (GhesSource(3, 3, None, 1, 0x9000), GhesSource(4, 11, 0x4000_0000, 2, 0x9008))
    assert d.sdei_present is False


def test_sdei_without_fadt(tmp_path: Path) -> None:
    directory = _write(tmp_path / "t", {"s.aml": build_sdei()})
    with pytest.raises(FormatError) as err:
        discover_acpi(directory)
    assert (err.value.path, err.value.where) == (str(directory), "FACP")


def test_two_fadts(tmp_path: Path) -> None:
    fadt = build_fadt(False)
    directory = _write(tmp_path / "t", {"a.aml": fadt, "b.dat": fadt})
    with pytest.raises(FormatError, match="a second FACP table") as err:
        discover_acpi(directory)
    assert err.value.path == str(directory / "b.dat")


def test_broken_table_in_directory(tmp_path: Path) -> None:
    madt = bytearray(build_madt([0], 3))
    madt[9] ^= 0xFF
    directory = _write(tmp_path / "t", {"APIC.aml": bytes(madt)})
    with pytest.raises(FormatError) as err:
        discover_acpi(directory)
    assert (err.value.path, err.value.where) == (str(directory / "APIC.aml"), "offset 0x9")


def test_tiny_file(tmp_path: Path) -> None:
    directory = _write(tmp_path / "t", {"x.aml": b"HE"})
    with pytest.raises(FormatError, match="offset 0x2"):
        discover_acpi(directory)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FormatError) as err:
        discover_acpi(tmp_path / "nope")
    assert (err.value.path, err.value.where) == (str(tmp_path / "nope"), "directory")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FormatError):
        discover_acpi(tmp_path / "file")


def test_empty_directory(tmp_path: Path) -> None:
    d = discover_acpi(tmp_path)
    assert (d.sdei_present, d.conduit, d.cpus, d.ghes) == (False, None, (), ())


def test_discovery_invariant() -> None:
    with pytest.raises(ValueError):
        Discovery("dt", "x", None, True, None, (), None)
    with pytest.raises(ValueError):
        Discovery("acpi", "x", "smc", False, None, (), None)

"""What an arm64 OS learns about SDEI from its firmware tables (linux-client.md §3)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from sdei.formats.acpi import (
    NOTIFY_SDEI,
    SIG_FADT,
    SIG_HEST,
    SIG_MADT,
    SIG_SDEI,
    Fadt,
    Hest,
    Madt,
    parse_fadt,
    parse_hest,
    parse_madt,
    parse_sdei,
)
from sdei.formats.dtb import parse_dtb
from sdei.formats.errors import FormatError, at
from sdei.formats.sources import compile_dts, is_acpidump, is_dts, parse_acpidump

Conduit = Literal["smc", "hvc"]
Source = Literal["dt", "acpi"]

ACPI_SUFFIXES = (".aml", ".dat", ".bin")
# /sys/firmware/acpi/tables names a table by its signature, with an instance number when
# there are several (SSDT1): no extension.
_SYSFS_NAME = re.compile(r"[A-Z][A-Z0-9_]{3}[0-9]*")
_WANTED = (SIG_SDEI, SIG_FADT, SIG_MADT, SIG_HEST)


@dataclass(frozen=True)
class CpuDesc:
    mpidr: int
    enabled: bool


@dataclass(frozen=True)
class GhesSource:
    """A HEST GHES/GHESv2 error source; ``event`` is set when it is notified by SDEI."""

    source_id: int
    notify_type: int
    event: int | None
    ghes_version: int  # 1 = GHES (type 9), 2 = GHESv2 (type 10)
    error_status_address: int  # a register holding the block's physical address
    error_block_length: int = 0x1000
    read_ack_address: int = 0  # GHESv2: the register the OS acknowledges in
    read_ack_preserve: int = 0
    read_ack_write: int = 0


@dataclass(frozen=True)
class Discovery:
    """The firmware description of one machine.

    ``conduit`` is None exactly when ``sdei_present`` is False: a described SDEI without
    a usable conduit is reported as a :class:`FormatError` instead.
    """

    source: Source
    path: str
    conduit: Conduit | None
    sdei_present: bool
    psci_conduit: Conduit | None
    cpus: tuple[CpuDesc, ...]
    gic_version: int | None
    ghes: tuple[GhesSource, ...] = ()
    tables: tuple[str, ...] = ()  # ACPI: the signatures found, in file order

    def __post_init__(self) -> None:
        if (self.conduit is None) == self.sdei_present:
            raise ValueError("conduit must be set exactly when sdei_present is True")


def _conduit(method: str) -> Conduit:
    if method == "smc":
        return "smc"
    if method == "hvc":
        return "hvc"
    raise ValueError(method)  # dtb.parse_dtb already rejected anything else


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise FormatError(path, "file", exc.strerror or str(exc)) from exc


def discover_dtb(path: str | os.PathLike[str]) -> Discovery:
    """Discovery from a DTB file (Linux sdei_get_conduit, arm64 of_parse_and_init_cpus); a
    device-tree source (`.dts`) is compiled with dtc first."""
    name = os.fspath(path)
    data = _read(name)
    if is_dts(data):
        data = compile_dts(name)
    info = parse_dtb(data, name)
    return Discovery(
        source="dt",
        path=name,
        conduit=_conduit(info.sdei.method) if info.sdei else None,
        sdei_present=info.sdei is not None,
        psci_conduit=_conduit(info.psci.method) if info.psci else None,
        cpus=tuple(CpuDesc(c.mpidr, c.enabled) for c in info.cpus),
        gic_version=info.gic.version if info.gic else None,
    )


def _find_tables(directory: str) -> dict[str, tuple[str, bytes]]:
    """Signature -> (file, bytes) for the tables we use, chosen by content, not by name:
    binary tables as `iasl` or `acpidump -b` write them (`*.aml`, `*.dat`) or as copied from
    /sys/firmware/acpi/tables (`SDEI`, `FACP`, `APIC`, `HEST`: no extension), and the text
    `acpidump` prints (any name; one file holds every table)."""
    if os.path.isfile(directory):  # one file: acpidump's output
        if not is_acpidump(_read(directory)):
            raise FormatError(
                directory, "file", "not a directory of ACPI tables nor acpidump's text output"
            )
        names = [os.path.basename(directory)]
        directory = os.path.dirname(directory)
    else:
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise FormatError(directory, "directory", exc.strerror or str(exc)) from exc
    found: dict[str, tuple[str, bytes]] = {}

    def keep(file: str, where: str, data: bytes) -> None:
        sig = data[:4].decode("latin-1")
        if sig not in _WANTED:
            return  # DSDT, GTDT, ...: not needed here
        if sig in found:
            raise FormatError(file, where, f"a second {sig} table (first: {found[sig][0]})")
        found[sig] = (file, data)

    for name in names:
        file = os.path.join(directory, name)
        if not os.path.isfile(file):
            continue
        data = _read(file)
        if is_acpidump(data):
            for offset, table in parse_acpidump(data, file):
                keep(file, f"line {offset}", table)
            continue
        suffixed = name.lower().endswith(ACPI_SUFFIXES)
        if not suffixed and not _SYSFS_NAME.fullmatch(name):
            continue  # not a table file (a README, a script)
        if len(data) < 4:
            raise FormatError(file, at(len(data)), "too short to hold an ACPI table signature")
        keep(file, at(0), data)
    return found


def discover_acpi(directory: str | os.PathLike[str]) -> Discovery:
    """Discovery from a directory of ACPI tables (see `_find_tables` for what it reads)."""
    name = os.fspath(directory)
    tables = _find_tables(name)
    if SIG_SDEI in tables:
        parse_sdei(tables[SIG_SDEI][1], tables[SIG_SDEI][0])
    fadt: Fadt | None = None
    if SIG_FADT in tables:
        fadt = parse_fadt(tables[SIG_FADT][1], tables[SIG_FADT][0])
    madt: Madt | None = None
    if SIG_MADT in tables:
        madt = parse_madt(tables[SIG_MADT][1], tables[SIG_MADT][0])
    hest: Hest | None = None
    if SIG_HEST in tables:
        hest = parse_hest(tables[SIG_HEST][1], tables[SIG_HEST][0])

    sdei_present = SIG_SDEI in tables  # Linux sdei_present_acpi: the table exists
    conduit: Conduit | None = None
    if sdei_present:
        if fadt is None:
            raise FormatError(
                name,
                "FACP",
                "SDEI table present but no FADT: the conduit is unknown "
                "(Linux picks HVC or SMC from the FADT ARM boot flags)",
            )
        conduit = "hvc" if fadt.psci_use_hvc else "smc"  # linux-client.md §3.2
    psci: Conduit | None = None
    if fadt is not None and fadt.psci_compliant:
        psci = "hvc" if fadt.psci_use_hvc else "smc"
    return Discovery(
        source="acpi",
        path=name,
        conduit=conduit,
        sdei_present=sdei_present,
        psci_conduit=psci,
        cpus=tuple(CpuDesc(g.mpidr, g.enabled) for g in madt.gicc) if madt else (),
        gic_version=madt.gic_version if madt else None,
        ghes=tuple(
            GhesSource(
                g.source_id,
                g.notify_type,
                g.vector if g.notify_type == NOTIFY_SDEI else None,
                g.ghes_version,
                g.error_status_address,
                g.error_status_block_length,
                g.read_ack_address,
                g.read_ack_preserve,
                g.read_ack_write,
            )
            for g in hest.ghes
        )
        if hest
        else (),
        tables=tuple(tables),
    )


def check_bootable(d: Discovery) -> None:
    """A machine can boot from `d`: it describes at least one enabled CPU. Says what is
    missing, in the user's terms."""
    if d.source == "acpi" and not d.tables:
        raise FormatError(
            d.path,
            "directory",
            "no SDEI, FACP, APIC or HEST table found (binary tables: *.aml, *.dat, *.bin or "
            "sysfs names such as APIC; or acpidump's text output)",
        )
    if d.source == "acpi" and SIG_MADT not in d.tables:
        raise FormatError(d.path, "APIC", "no MADT (APIC) table: the CPUs are not described")
    if not any(c.enabled for c in d.cpus):
        where = "APIC" if d.source == "acpi" else "/cpus"
        raise FormatError(d.path, where, "no enabled CPU is described: nothing can boot")

"""Firmware-table formats: SDEI discovery from device trees (DTB) and ACPI tables.

The bottom layer of the package: it imports nothing else from ``sdei``. Every parser
raises :class:`FormatError` (and nothing else) on malformed input.
"""

from sdei.formats.acpi import (
    AcpiHeader,
    Fadt,
    Ghes,
    Gicc,
    Gicd,
    Hest,
    HestEntry,
    Madt,
    SdeiTable,
    build_fadt,
    build_ghes,
    build_hest,
    build_madt,
    build_sdei,
    build_table,
    fix_checksum,
    parse_fadt,
    parse_header,
    parse_hest,
    parse_madt,
    parse_sdei,
)
from sdei.formats.discovery import (
    Conduit,
    CpuDesc,
    Discovery,
    GhesSource,
    check_bootable,
    discover_acpi,
    discover_dtb,
)
from sdei.formats.dtb import DtbInfo, DtCpu, DtGic, DtPsci, DtSdei, parse_dtb, read_dtb
from sdei.formats.errors import FormatError

__all__ = [
    "AcpiHeader",
    "Conduit",
    "CpuDesc",
    "Discovery",
    "DtCpu",
    "DtGic",
    "DtPsci",
    "DtSdei",
    "DtbInfo",
    "Fadt",
    "FormatError",
    "Ghes",
    "GhesSource",
    "Gicc",
    "Gicd",
    "Hest",
    "HestEntry",
    "Madt",
    "SdeiTable",
    "build_fadt",
    "build_ghes",
    "build_hest",
    "build_madt",
    "build_sdei",
    "build_table",
    "check_bootable",
    "discover_acpi",
    "discover_dtb",
    "fix_checksum",
    "parse_dtb",
    "parse_fadt",
    "parse_header",
    "parse_hest",
    "parse_madt",
    "parse_sdei",
    "read_dtb",
]

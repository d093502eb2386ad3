"""Mutated DTBs and ACPI tables: only FormatError may ever escape the parsers.

Deterministic: a seeded mutator plus Hypothesis with ``derandomize=True``. The counts keep
the whole file at a few seconds on a 2-core machine; raise FUZZ_ROUNDS locally to dig.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdei.formats import (
    FormatError,
    Ghes,
    build_fadt,
    build_hest,
    build_madt,
    build_sdei,
    fix_checksum,
    parse_dtb,
    parse_fadt,
    parse_hest,
    parse_madt,
    parse_sdei,
)

ROUNDS = int(os.environ.get("FUZZ_ROUNDS", "4000"))
SEED = 0x5DE1

Parser = Callable[[bytes, str], object]
ACPI_PARSERS: dict[str, Parser] = {
    "sdei": parse_sdei,
    "facp": parse_fadt,
    "apic": parse_madt,
    "hest": parse_hest,
}
INTERESTING = (0, 1, 2, 3, 4, 8, 0x10, 0x24, 0x28, 0x50, 0x7F, 0x80, 0xFF, 0xFFFF, 0xFFFF_FFFF)


def _mutate(rng: random.Random, data: bytes, length_fields: tuple[tuple[int, str], ...]) -> bytes:
    """One to three random edits: bit flips, truncation, insertion, deletion, field rewrite."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        if op == 0 and out:  # bit flips
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(out))
                out[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncation
            del out[rng.randrange(len(out) + 1) :]
        elif op == 2:  # insertion
            i = rng.randrange(len(out) + 1)
            out[i:i] = rng.randbytes(rng.choice((1, 2, 4, 16)))
        elif op == 3 and out:  # deletion
            i = rng.randrange(len(out))
            del out[i : i + rng.choice((1, 4, 16))]
        elif op == 4 and length_fields:  # rewrite a known length/offset field
            offset, fmt = rng.choice(length_fields)
            size = struct.calcsize(fmt)
            if offset + size <= len(out):
                value = rng.choice(
                    (rng.choice(INTERESTING), len(out) + rng.randint(-8, 8), rng.getrandbits(32))
                ) & ((1 << (8 * size)) - 1)
                struct.pack_into(fmt, out, offset, max(value, 0))
        elif out:  # overwrite one byte anywhere (subtable types and lengths included)
            out[rng.randrange(len(out))] = rng.choice(INTERESTING) & 0xFF
    return bytes(out)


def _check(parse: Parser, data: bytes, name: str) -> bool:
    """Parse; True if accepted, False if a well-formed FormatError came out."""
    try:
        parse(data, name)
    except FormatError as err:
        assert err.path == name
        assert err.where.startswith(("offset 0x", "/")), err
        assert "\n" not in str(err)
        return False
    return True


# DTB header fields worth rewriting (DT spec 5.2), big-endian.
DTB_FIELDS = tuple((off, ">I") for off in range(4, 40, 4))
# ACPI length fields: table length, MADT subtable lengths, HEST count, notify type.
ACPI_FIELDS = ((4, "<I"), (36, "<I"), (45, "B"), (44, "B"), (72, "B"), (40, "<H"))


@pytest.fixture(scope="module")
def seed_tables() -> dict[str, bytes]:
    ghes = [Ghes(0, 1, 11, 0x4000_0010, 0xFFFF_0000), Ghes(1, 2, 11, 0x4000_0011, 0xFFFF_0008)]
    return {
        "sdei": build_sdei(),
        "facp": build_fadt(psci_use_hvc=True),
        "apic": build_madt([0, 1, 0x100, 0x101], 3),
        "hest": build_hest(ghes),
    }


def _fix_totalsize(dtb: bytes) -> bytes:
    """The DTB analogue of fixing a checksum: make totalsize match the mutant."""
    return dtb[:4] + struct.pack(">I", len(dtb)) + dtb[8:] if len(dtb) >= 8 else dtb


def test_fuzz_dtb(example_dtbs: dict[str, Path]) -> None:
    rng = random.Random(SEED)
    seeds = [example_dtbs[n].read_bytes() for n in ("sdei-4cpu", "sdei-hvc-guest")]
    accepted = {"raw": 0, "fixed": 0}
    for _ in range(ROUNDS // 2):
        mutant = _mutate(rng, rng.choice(seeds), DTB_FIELDS)
        accepted["raw"] += _check(parse_dtb, mutant, "m.dtb")
        accepted["fixed"] += _check(parse_dtb, _fix_totalsize(mutant), "m.dtb")
    assert 0 < accepted["raw"] < accepted["fixed"] < ROUNDS // 2  # both outcomes reached


@pytest.mark.parametrize("origin", ["builder", "iasl"])
def test_fuzz_acpi(
    origin: str, seed_tables: dict[str, bytes], request: pytest.FixtureRequest
) -> None:
    # Only the iasl-compiled seeds need iasl.
    tables: dict[str, bytes] = (
        seed_tables if origin == "builder" else request.getfixturevalue("acpi_tables")
    )
    rng = random.Random(f"{SEED}-{origin}")
    accepted = {"raw": 0, "fixed": 0}
    for _ in range(ROUNDS // 2):
        name = rng.choice(sorted(ACPI_PARSERS))
        mutant = _mutate(rng, tables[name], ACPI_FIELDS)
        accepted["raw"] += _check(ACPI_PARSERS[name], mutant, f"{name}.aml")
        # With the checksum corrected the parser must look past the header.
        accepted["fixed"] += _check(ACPI_PARSERS[name], fix_checksum(mutant), f"{name}.aml")
    assert accepted["fixed"] > accepted["raw"] > 0


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.binary(max_size=600), which=st.sampled_from(sorted(ACPI_PARSERS)))
def test_random_bytes_acpi(data: bytes, which: str) -> None:
    _check(ACPI_PARSERS[which], data, "r.aml")
    # Give it a valid signature, length and checksum so the body parsers run too.
    table = which.upper().encode() + struct.pack("<I", len(data) + 8) + data
    _check(ACPI_PARSERS[which], fix_checksum(table), "r.aml")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.binary(max_size=400))
def test_random_bytes_dtb(data: bytes) -> None:
    _check(parse_dtb, data, "r.dtb")
    # A plausible v17 header in front of random blocks.
    size = 40 + 16 + len(data)
    header = struct.pack(">10I", 0xD00DFEED, size, 56, 56, 40, 17, 16, 0, 0, len(data))
    _check(parse_dtb, header + bytes(16) + data, "r.dtb")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.data())
def test_hypothesis_mutations_of_hest(data: st.DataObject) -> None:
    table = bytearray(build_hest([Ghes(0, 2, 11, 0x4000_0010, 0xFFFF_0000)]))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(table) - 1))
        table[i] = data.draw(st.integers(0, 255))
    _check(parse_hest, fix_checksum(bytes(table)), "h.aml")

"""The ABI constants and bit layouts against sdei-spec.md (§1, §2, §4), written out literally."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdei import abi
from sdei.abi import (
    CALLS,
    EventStatus,
    EventType,
    Feature,
    Function,
    Info,
    Priority,
    RegisterFlags,
    RoutingMode,
    Status,
    Version,
)

U64 = st.integers(min_value=0, max_value=2**64 - 1)
ANY_INT = st.integers(min_value=-(2**80), max_value=2**80)

# §2 quick table: offset -> name. Literal, so a renumbered enum member fails here.
FUNCTIONS = {
    0xC400_0020: "VERSION",
    0xC400_0021: "EVENT_REGISTER",
    0xC400_0022: "EVENT_ENABLE",
    0xC400_0023: "EVENT_DISABLE",
    0xC400_0024: "EVENT_CONTEXT",
    0xC400_0025: "EVENT_COMPLETE",
    0xC400_0026: "EVENT_COMPLETE_AND_RESUME",
    0xC400_0027: "EVENT_UNREGISTER",
    0xC400_0028: "EVENT_STATUS",
    0xC400_0029: "EVENT_GET_INFO",
    0xC400_002A: "EVENT_ROUTING_SET",
    0xC400_002B: "PE_MASK",
    0xC400_002C: "PE_UNMASK",
    0xC400_002D: "INTERRUPT_BIND",
    0xC400_002E: "INTERRUPT_RELEASE",
    0xC400_002F: "EVENT_SIGNAL",
    0xC400_0030: "FEATURES",
    0xC400_0031: "PRIVATE_RESET",
    0xC400_0032: "SHARED_RESET",
}

# §2 quick table: the argument count of every call.
ARITY = {
    "VERSION": 0,
    "EVENT_REGISTER": 5,
    "EVENT_ENABLE": 1,
    "EVENT_DISABLE": 1,
    "EVENT_CONTEXT": 1,
    "EVENT_COMPLETE": 1,
    "EVENT_COMPLETE_AND_RESUME": 1,
    "EVENT_UNREGISTER": 1,
    "EVENT_STATUS": 1,
    "EVENT_GET_INFO": 2,
    "EVENT_ROUTING_SET": 3,
    "PE_MASK": 0,
    "PE_UNMASK": 0,
    "INTERRUPT_BIND": 1,
    "INTERRUPT_RELEASE": 1,
    "EVENT_SIGNAL": 2,
    "FEATURES": 1,
    "PRIVATE_RESET": 0,
    "SHARED_RESET": 0,
}

# §2.x "Returns ..." lists: the error codes each call may give.
NS, IP, DE, PE, OR = -1, -2, -3, -5, -10
ERRORS = {
    "VERSION": {NS},
    "EVENT_REGISTER": {NS, IP, DE},
    "EVENT_ENABLE": {NS, IP, DE},
    "EVENT_DISABLE": {NS, IP, DE},
    "EVENT_CONTEXT": {NS, IP, DE},
    "EVENT_COMPLETE": {NS, DE},
    "EVENT_COMPLETE_AND_RESUME": {NS, IP, DE},
    "EVENT_UNREGISTER": {NS, IP, DE, PE},
    "EVENT_STATUS": {NS, IP},
    "EVENT_GET_INFO": {NS, IP, DE},
    "EVENT_ROUTING_SET": {NS, IP, DE},
    "PE_MASK": {NS},
    "PE_UNMASK": {NS},
    "INTERRUPT_BIND": {NS, IP, DE, OR},
    "INTERRUPT_RELEASE": {NS, IP, DE},
    "EVENT_SIGNAL": {NS, IP},
    "FEATURES": {NS, IP},
    "PRIVATE_RESET": {NS, DE},
    "SHARED_RESET": {NS, DE},
}


# ---------------------------------------------------------------- function ids


def test_there_are_exactly_19_smc64_functions() -> None:
    assert len(Function) == 19
    assert {int(f): f.name for f in Function} == FUNCTIONS


def test_function_ids_are_contiguous_smc64_fast_standard_service() -> None:
    ids = sorted(int(f) for f in Function)
    assert ids == list(range(0xC400_0020, 0xC400_0033))
    for fid in ids:
        assert fid >> 31 == 1  # fast call
        assert (fid >> 30) & 1 == 1  # SMC64 (no SMC32 variant exists, §1)
        assert (fid >> 24) & 0x3F == 4  # standard secure service owner
        assert fid & 0xFFE0 == 0x0020  # TF-A's is_sdei_fid window
    assert abi.FUNCTION_BASE == 0xC400_0020
    assert abi.FUNCTION_RANGE_END == 0xC400_003F


def test_features_is_base_plus_0x10() -> None:
    # §2.17: one KVM series used base+0x30, which is wrong.
    assert Function.FEATURES == abi.FUNCTION_BASE + 0x10


# ---------------------------------------------------------------- status values


def test_status_values_match_table_6() -> None:
    assert {s.name: int(s) for s in Status} == {
        "SUCCESS": 0,
        "NOT_SUPPORTED": -1,
        "INVALID_PARAMETERS": -2,
        "DENIED": -3,
        "PENDING": -5,
        "OUT_OF_RESOURCE": -10,
    }


def test_small_enums() -> None:
    assert {e.name: int(e) for e in EventStatus} == {"REGISTERED": 1, "ENABLED": 2, "RUNNING": 4}
    assert {e.name: int(e) for e in Info} == {
        "EV_TYPE": 0,
        "EV_SIGNALED": 1,
        "EV_PRIORITY": 2,
        "EV_ROUTING_MODE": 3,
        "EV_ROUTING_AFF": 4,
    }
    assert (RoutingMode.RM_ANY, RoutingMode.RM_PE) == (0, 1)
    assert (EventType.PRIVATE, EventType.SHARED) == (0, 1)
    assert (Priority.NORMAL, Priority.CRITICAL) == (0, 1)
    assert (Feature.BIND_SLOTS, Feature.RELATIVE_MODE) == (0, 1)
    assert (abi.CompleteStatus.EV_HANDLED, abi.CompleteStatus.EV_FAILED) == (0, 1)


def test_calls_table_describes_every_function_once_in_order() -> None:
    assert [c.function for c in CALLS] == sorted(Function)
    for c in CALLS:
        assert len(c.arguments) == ARITY[c.function.name], c.function.name
        assert {int(e) for e in c.errors} == ERRORS[c.function.name], c.function.name
        assert c.returns


# ---------------------------------------------------------------- register values


@given(ANY_INT)
def test_to_register_and_signed64_round_trip(value: int) -> None:
    reg = abi.to_register(value)
    assert 0 <= reg < 2**64
    assert reg == value % 2**64
    signed = abi.to_signed64(value)
    assert -(2**63) <= signed < 2**63
    assert abi.to_register(signed) == reg


@given(ANY_INT)
def test_low_int32(value: int) -> None:
    low = abi.low_int32(value)
    assert -(2**31) <= low < 2**31
    assert low % 2**32 == value % 2**32


def test_signed64_edges() -> None:
    assert abi.to_signed64(2**63 - 1) == 2**63 - 1
    assert abi.to_signed64(2**63) == -(2**63)
    assert abi.to_signed64(2**64 - 1) == -1
    assert abi.to_signed64(-3) == -3
    assert abi.low_int32(0x1_8000_0000) == -(2**31)


# ---------------------------------------------------------------- VERSION (§2.1)


VERSIONS = st.builds(
    Version,
    st.integers(0, 0x7FFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 2**32 - 1),
)


@given(VERSIONS)
def test_version_round_trips(version: Version) -> None:
    word = abi.encode_version(version)
    assert word >> 63 == 0
    assert abi.decode_version(word) == version


@given(U64)
def test_version_word_decodes_every_field(word: int) -> None:
    v = abi.decode_version(word)
    assert v.major == (word >> 48) & 0x7FFF
    assert v.minor == (word >> 32) & 0xFFFF
    assert v.vendor == word & 0xFFFF_FFFF
    assert abi.encode_version(v) == word & ~(1 << 63)  # bit63 is always 0


def test_version_layout() -> None:
    assert abi.encode_version(Version(1, 1)) == 0x0001_0001_0000_0000
    assert abi.encode_version(Version(1, 0)) == 0x0001_0000_0000_0000
    assert abi.encode_version(Version(1, 0, 0xDEAD_BEEF)) == 0x0001_0000_DEAD_BEEF
    assert abi.encode_version(Version(0x7FFF, 0xFFFF, 2**32 - 1)) == 2**63 - 1
    assert str(Version(1, 1, 2)) == "1.1 (vendor 0x2)"


# ---------------------------------------------------------------- event numbers (§4.1)


def test_event_number_validity_edges() -> None:
    valid = [0, 1, 0x00FF_FFFF, 0x4000_0000, 0x4000_0100, 0x40FF_FFFF]
    invalid = [-1, -(2**31), 0x8000_0000, 0xC000_0000, 0x0100_0000, 0x4100_0000, 0x7FFF_FFFF]
    for n in valid:
        assert abi.is_valid_event_number(n), hex(n)
    for n in invalid:
        assert not abi.is_valid_event_number(n), hex(n)
    for bit in range(24, 30):  # each reserved bit on its own
        assert not abi.is_valid_event_number(1 << bit)
        assert not abi.is_valid_event_number(0x4000_0000 | 1 << bit)
    assert abi.is_vendor_event(0x4000_0000)
    assert abi.is_vendor_event(0x40FF_FFFF)
    assert not abi.is_vendor_event(0)
    assert not abi.is_vendor_event(0x00FF_FFFF)
    assert not abi.is_vendor_event(0x4100_0000)  # vendor bit, but a reserved bit too
    assert not abi.is_vendor_event(0xC000_0000)  # bit31


@given(st.integers(min_value=-(2**33), max_value=2**33))
def test_event_number_validity_is_the_bit_rule(n: int) -> None:
    expected = 0 <= n < 2**31 and (n >> 24) & 0x3F == 0
    assert abi.is_valid_event_number(n) == expected
    assert abi.is_vendor_event(n) == (expected and bool(n >> 30 & 1))


@given(st.integers(0, 0x00FF_FFFF), st.booleans())
def test_make_event_number(number: int, vendor: bool) -> None:
    event = abi.make_event_number(number, vendor=vendor)
    assert abi.is_valid_event_number(event)
    assert abi.is_vendor_event(event) == vendor
    assert event & abi.EVENT_NUMBER_MASK == number


@pytest.mark.parametrize("number", [-1, 0x0100_0000, 2**32])
def test_make_event_number_refuses_overflow(number: int) -> None:
    with pytest.raises(ValueError):
        abi.make_event_number(number, vendor=True)


# ---------------------------------------------------------------- REGISTER flags (§4.4)


FLAGS = st.builds(
    RegisterFlags,
    st.sampled_from(RoutingMode),
    st.booleans(),
    st.integers(0, 2**64 - 1).map(lambda r: r & ~3),
)


@given(FLAGS)
def test_register_flags_round_trip(flags: RegisterFlags) -> None:
    assert abi.decode_register_flags(abi.encode_register_flags(flags)) == flags


@given(ANY_INT)
def test_register_flags_decode_keeps_every_bit(word: int) -> None:
    flags = abi.decode_register_flags(word)
    assert int(flags.routing) == word & 1
    assert flags.relative == bool(word & 2)
    assert flags.reserved == (word % 2**64) & ~3
    assert abi.encode_register_flags(flags) == word % 2**64


def test_register_flag_bits() -> None:
    assert abi.REGISTER_FLAG_ROUTING == 1
    assert abi.REGISTER_FLAG_RELATIVE == 2
    assert abi.encode_register_flags(RegisterFlags(RoutingMode.RM_PE)) == 1
    assert abi.encode_register_flags(RegisterFlags(relative=True)) == 2
    assert abi.decode_register_flags(4).reserved == 4


# ---------------------------------------------------------------- affinity (§2.2)

AFF = st.integers(0, 0xFF)


@given(AFF, AFF, AFF, AFF)
def test_affinity_round_trip(a3: int, a2: int, a1: int, a0: int) -> None:
    mpidr = abi.encode_affinity(a3, a2, a1, a0)
    assert mpidr == a3 << 32 | a2 << 16 | a1 << 8 | a0
    assert abi.decode_affinity(mpidr) == (a3, a2, a1, a0)
    assert abi.is_valid_affinity(mpidr)


@given(U64)
def test_affinity_mbz_bits(value: int) -> None:
    mbz = value & ~0xFF_00FF_FFFF
    assert abi.is_valid_affinity(value) == (mbz == 0)
    # Decoding ignores the MBZ bits.
    assert abi.encode_affinity(*abi.decode_affinity(value)) == value & 0xFF_00FF_FFFF


def test_affinity_mbz_examples() -> None:
    assert abi.MPIDR_AFFINITY_MASK == 0xFF_00FF_FFFF
    assert not abi.is_valid_affinity(1 << 24)  # bits[31:24] MBZ (MT/U bits in a real MPIDR)
    assert not abi.is_valid_affinity(1 << 31)
    assert not abi.is_valid_affinity(1 << 40)  # bits[63:40] MBZ
    assert not abi.is_valid_affinity(1 << 63)
    assert abi.is_valid_affinity(0xFF_00FF_FFFF)


@pytest.mark.parametrize("field", ["aff3", "aff2", "aff1", "aff0"])
@pytest.mark.parametrize("value", [-1, 0x100])
def test_affinity_field_overflow_is_refused(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        abi.encode_affinity(**{field: value})


# ---------------------------------------------------------------- bind slots (§2.17)

SLOTS = st.integers(0, 0xFFFF)


@given(SLOTS, SLOTS)
def test_bind_slots_round_trip(shared: int, private: int) -> None:
    word = abi.encode_bind_slots(shared, private)
    assert word >> 32 == 0
    assert word == shared << 16 | private
    assert abi.decode_bind_slots(word) == (shared, private)


def test_bind_slot_word_of_the_reference_platform() -> None:
    assert abi.encode_bind_slots(3, 3) == 0x0003_0003
    assert abi.encode_bind_slots(shared=2, private=5) == 0x0002_0005


@pytest.mark.parametrize(("shared", "private"), [(-1, 0), (0, -1), (0x10000, 0), (0, 0x10000)])
def test_bind_slots_overflow_is_refused(shared: int, private: int) -> None:
    with pytest.raises(ValueError):
        abi.encode_bind_slots(shared, private)


# ---------------------------------------------------------------- interrupts and PSTATE


def test_interrupt_classes() -> None:
    assert [i for i in range(0, 40) if abi.is_ppi(i)] == list(range(16, 32))
    assert not any(abi.is_ppi(i) or abi.is_spi(i) for i in range(16))  # SGIs
    assert abi.is_spi(32)
    assert abi.is_spi(1019)
    assert not abi.is_spi(1020)
    assert not abi.is_spi(31)


def test_pstate_fields() -> None:
    assert abi.PSTATE_DAIF == 0x3C0
    assert abi.PSTATE_PAN == 1 << 22
    assert abi.PSTATE_DIT == 1 << 24
    assert abi.PSTATE_NZCV == 0xF000_0000
    assert (abi.mode_for(0), abi.mode_for(1), abi.mode_for(2)) == (0x0, 0x5, 0x9)
    assert (abi.mode_for(1, handler_sp=False), abi.mode_for(2, handler_sp=False)) == (0x4, 0x8)
    assert [abi.pstate_el(m) for m in (0x0, 0x4, 0x5, 0x8, 0x9, 0x3C5)] == [0, 1, 1, 2, 2, 1]

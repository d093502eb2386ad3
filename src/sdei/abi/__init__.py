"""The SDEI ABI as constants: function ids, status codes and every bit layout (DEN0054C §4-5).

Values leave the dispatcher as signed 64-bit integers (x0); arguments are 64-bit register
values. Any integer is accepted as a register value: it is reduced modulo 2**64, as a register
would hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1

FUNCTION_BASE = 0xC400_0020
# TF-A routes the whole 0xC4000020-0xC400003F window to SDEI (TF-A include/services/sdei.h).
FUNCTION_RANGE_END = 0xC400_003F


class Function(IntEnum):
    """SMC64 function ids (DEN0054C 5.1; no SMC32 variants exist)."""

    VERSION = FUNCTION_BASE + 0x00
    EVENT_REGISTER = FUNCTION_BASE + 0x01
    EVENT_ENABLE = FUNCTION_BASE + 0x02
    EVENT_DISABLE = FUNCTION_BASE + 0x03
    EVENT_CONTEXT = FUNCTION_BASE + 0x04
    EVENT_COMPLETE = FUNCTION_BASE + 0x05
    EVENT_COMPLETE_AND_RESUME = FUNCTION_BASE + 0x06
    EVENT_UNREGISTER = FUNCTION_BASE + 0x07
    EVENT_STATUS = FUNCTION_BASE + 0x08
    EVENT_GET_INFO = FUNCTION_BASE + 0x09
    EVENT_ROUTING_SET = FUNCTION_BASE + 0x0A
    PE_MASK = FUNCTION_BASE + 0x0B
    PE_UNMASK = FUNCTION_BASE + 0x0C
    INTERRUPT_BIND = FUNCTION_BASE + 0x0D
    INTERRUPT_RELEASE = FUNCTION_BASE + 0x0E
    EVENT_SIGNAL = FUNCTION_BASE + 0x0F
    FEATURES = FUNCTION_BASE + 0x10
    PRIVATE_RESET = FUNCTION_BASE + 0x11
    SHARED_RESET = FUNCTION_BASE + 0x12


class Status(IntEnum):
    """Return codes (DEN0054C 5.3 Table 6); negative is an error."""

    SUCCESS = 0
    NOT_SUPPORTED = -1
    INVALID_PARAMETERS = -2
    DENIED = -3
    PENDING = -5
    OUT_OF_RESOURCE = -10


def to_signed64(value: int) -> int:
    """A register value as the signed int64 that x0 carries back."""
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def to_register(value: int) -> int:
    """Any integer as a 64-bit register holds it."""
    return value & MASK64


def low_int32(value: int) -> int:
    """The signed int32 in the low half of a register (event numbers: DEN0054C 4.4)."""
    value &= MASK32
    return value - (1 << 32) if value >> 31 else value


# --- VERSION (DEN0054C 5.1.1) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    vendor: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor} (vendor {self.vendor:#x})"


def encode_version(version: Version) -> int:
    """bit63 0, bits[62:48] major, bits[47:32] minor, bits[31:0] vendor."""
    return (version.major & 0x7FFF) << 48 | (version.minor & 0xFFFF) << 32 | version.vendor & MASK32


def decode_version(word: int) -> Version:
    word &= MASK64
    return Version((word >> 48) & 0x7FFF, (word >> 32) & 0xFFFF, word & MASK32)


# --- Event numbers (DEN0054C 4.4, Table 3/4) -----------------------------------------------

EVENT_SIGNALED = 0  # the only standard event: software-signalled, private
EVENT_VENDOR_BIT = 1 << 30
EVENT_RESERVED_BITS = 0x3F << 24  # bits[29:24] must be zero
EVENT_NUMBER_MASK = 0x00FF_FFFF
VENDOR_EVENT_FIRST = 0x4000_0000
VENDOR_EVENT_LAST = 0x40FF_FFFF


def is_valid_event_number(event: int) -> bool:
    """Bit31 clear, reserved bits[29:24] clear (DEN0054C 4.4)."""
    return 0 <= event <= 0x7FFF_FFFF and not event & EVENT_RESERVED_BITS


def is_vendor_event(event: int) -> bool:
    return is_valid_event_number(event) and bool(event & EVENT_VENDOR_BIT)


def make_event_number(number: int, *, vendor: bool) -> int:
    if not 0 <= number <= EVENT_NUMBER_MASK:
        raise ValueError(f"event number {number:#x} does not fit bits[23:0]")
    return (EVENT_VENDOR_BIT if vendor else 0) | number


# --- EVENT_REGISTER flags and routing (DEN0054C 5.1.2, 5.1.11) -----------------------------


class RoutingMode(IntEnum):
    RM_ANY = 0
    RM_PE = 1


REGISTER_FLAG_ROUTING = 1 << 0
REGISTER_FLAG_RELATIVE = 1 << 1  # v1.1 only: entry point relative to VBAR_ELC


@dataclass(frozen=True, slots=True)
class RegisterFlags:
    routing: RoutingMode = RoutingMode.RM_ANY
    relative: bool = False
    reserved: int = 0  # bits that must be zero; kept so a decoder never loses information


def encode_register_flags(flags: RegisterFlags) -> int:
    word = int(flags.routing) | (REGISTER_FLAG_RELATIVE if flags.relative else 0)
    return word | (flags.reserved & ~(REGISTER_FLAG_ROUTING | REGISTER_FLAG_RELATIVE) & MASK64)


def decode_register_flags(word: int) -> RegisterFlags:
    word &= MASK64
    return RegisterFlags(
        RoutingMode(word & REGISTER_FLAG_ROUTING),
        bool(word & REGISTER_FLAG_RELATIVE),
        word & ~(REGISTER_FLAG_ROUTING | REGISTER_FLAG_RELATIVE) & MASK64,
    )


# --- MPIDR affinity (DEN0054C 5.1.2: Aff3 [39:32], Aff2 [23:16], Aff1 [15:8], Aff0 [7:0]) ----

MPIDR_AFFINITY_MASK = 0xFF_00FF_FFFF


def encode_affinity(aff3: int = 0, aff2: int = 0, aff1: int = 0, aff0: int = 0) -> int:
    for name, value in (("aff3", aff3), ("aff2", aff2), ("aff1", aff1), ("aff0", aff0)):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"{name}={value} does not fit 8 bits")
    return aff3 << 32 | aff2 << 16 | aff1 << 8 | aff0


def decode_affinity(mpidr: int) -> tuple[int, int, int, int]:
    """(aff3, aff2, aff1, aff0)."""
    return (mpidr >> 32) & 0xFF, (mpidr >> 16) & 0xFF, (mpidr >> 8) & 0xFF, mpidr & 0xFF


def is_valid_affinity(value: int) -> bool:
    """Only the affinity fields may be set (bits[63:40] and [31:24] are MBZ)."""
    return not (value & MASK64) & ~MPIDR_AFFINITY_MASK


# --- EVENT_STATUS (DEN0054C 5.1.9) -------------------------------------------------------


class EventStatus(IntFlag):
    REGISTERED = 1 << 0
    ENABLED = 1 << 1
    RUNNING = 1 << 2


# --- EVENT_GET_INFO (DEN0054C 5.1.10) ----------------------------------------------------


class Info(IntEnum):
    EV_TYPE = 0  # 0 private, 1 shared
    EV_SIGNALED = 1  # 0 = CAN be signalled, 1 = cannot (inverted sense)
    EV_PRIORITY = 2  # 0 normal, 1 critical
    EV_ROUTING_MODE = 3
    EV_ROUTING_AFF = 4


class EventType(IntEnum):
    PRIVATE = 0
    SHARED = 1


class Priority(IntEnum):
    NORMAL = 0
    CRITICAL = 1


# --- FEATURES (DEN0054C 5.1.17) ----------------------------------------------------------


class Feature(IntEnum):
    BIND_SLOTS = 0
    RELATIVE_MODE = 1  # v1.1


def encode_bind_slots(shared: int, private: int) -> int:
    """bits[31:16] shared slots, bits[15:0] private slots."""
    if not (0 <= shared <= 0xFFFF and 0 <= private <= 0xFFFF):
        raise ValueError("bind-slot counts must fit 16 bits")
    return shared << 16 | private


def decode_bind_slots(word: int) -> tuple[int, int]:
    """(shared, private)."""
    return (word >> 16) & 0xFFFF, word & 0xFFFF


# --- EVENT_COMPLETE status codes (DEN0054C 5.1.6) ----------------------------------------


class CompleteStatus(IntEnum):
    EV_HANDLED = 0
    EV_FAILED = 1


# --- Interrupt ids (GICv3: SGI 0-15, PPI 16-31, SPI 32-1019) -------------------------------

SGI_LAST = 15
PPI_FIRST, PPI_LAST = 16, 31
SPI_FIRST, SPI_LAST = 32, 1019


def is_ppi(intid: int) -> bool:
    return PPI_FIRST <= intid <= PPI_LAST


def is_spi(intid: int) -> bool:
    return SPI_FIRST <= intid <= SPI_LAST


# --- PSTATE / SPSR fields SDEI touches (Arm ARM C5.2.18) ------------------------------------

PSTATE_M_MASK = 0xF
PSTATE_NRW = 1 << 4  # 1 = AArch32
PSTATE_F = 1 << 6
PSTATE_I = 1 << 7
PSTATE_A = 1 << 8
PSTATE_D = 1 << 9
PSTATE_DAIF = PSTATE_D | PSTATE_A | PSTATE_I | PSTATE_F  # 0x3C0
PSTATE_PAN = 1 << 22
PSTATE_DIT = 1 << 24
PSTATE_NZCV = 0xF << 28
MODE_EL0T, MODE_EL1T, MODE_EL1H, MODE_EL2T, MODE_EL2H = 0x0, 0x4, 0x5, 0x8, 0x9


def mode_for(el: int, handler_sp: bool = True) -> int:
    """The M[3:0] value for an AArch64 exception level (h = SP_ELx)."""
    return (el << 2) | (1 if handler_sp and el else 0)


def pstate_el(pstate: int) -> int:
    return (pstate >> 2) & 0x3


# --- The signature of every call, for `sdei abi` and the docs ------------------------------


@dataclass(frozen=True, slots=True)
class CallInfo:
    function: Function
    arguments: tuple[str, ...]
    returns: str
    errors: tuple[Status, ...]


_NS, _IP, _DE, _PE, _OR = (
    Status.NOT_SUPPORTED,
    Status.INVALID_PARAMETERS,
    Status.DENIED,
    Status.PENDING,
    Status.OUT_OF_RESOURCE,
)

CALLS: tuple[CallInfo, ...] = (
    CallInfo(
        Function.VERSION, (), "version word: [62:48] major, [47:32] minor, [31:0] vendor", (_NS,)
    ),
    CallInfo(
        Function.EVENT_REGISTER,
        ("event", "entry_point", "ep_argument", "flags", "affinity"),
        "SUCCESS",
        (_NS, _IP, _DE),
    ),
    CallInfo(Function.EVENT_ENABLE, ("event",), "SUCCESS", (_NS, _IP, _DE)),
    CallInfo(Function.EVENT_DISABLE, ("event",), "SUCCESS", (_NS, _IP, _DE)),
    CallInfo(Function.EVENT_CONTEXT, ("param_id 0-17",), "saved x<param_id>", (_NS, _IP, _DE)),
    CallInfo(Function.EVENT_COMPLETE, ("status_code",), "does not return", (_NS, _DE)),
    CallInfo(
        Function.EVENT_COMPLETE_AND_RESUME, ("resume_addr",), "does not return", (_NS, _IP, _DE)
    ),
    CallInfo(Function.EVENT_UNREGISTER, ("event",), "SUCCESS, or PENDING", (_NS, _IP, _DE, _PE)),
    CallInfo(
        Function.EVENT_STATUS, ("event",), "bit0 registered, bit1 enabled, bit2 running", (_NS, _IP)
    ),
    CallInfo(Function.EVENT_GET_INFO, ("event", "info 0-4"), "info value", (_NS, _IP, _DE)),
    CallInfo(
        Function.EVENT_ROUTING_SET,
        ("event", "routing_mode", "affinity"),
        "SUCCESS",
        (_NS, _IP, _DE),
    ),
    CallInfo(Function.PE_MASK, (), "1 if this call masked the PE, 0 if already masked", (_NS,)),
    CallInfo(Function.PE_UNMASK, (), "SUCCESS", (_NS,)),
    CallInfo(Function.INTERRUPT_BIND, ("interrupt",), "event number", (_NS, _IP, _DE, _OR)),
    CallInfo(Function.INTERRUPT_RELEASE, ("event",), "SUCCESS", (_NS, _IP, _DE)),
    CallInfo(Function.EVENT_SIGNAL, ("event (0)", "target_pe MPIDR"), "SUCCESS", (_NS, _IP)),
    CallInfo(
        Function.FEATURES,
        ("feature 0-1",),
        "0: [31:16] shared, [15:0] private bind slots; 1: relative mode 0/1",
        (_NS, _IP),
    ),
    CallInfo(Function.PRIVATE_RESET, (), "SUCCESS", (_NS, _DE)),
    CallInfo(Function.SHARED_RESET, (), "SUCCESS", (_NS, _DE)),
)

__all__ = [
    "CALLS",
    "EVENT_SIGNALED",
    "FUNCTION_BASE",
    "MASK32",
    "MASK64",
    "MPIDR_AFFINITY_MASK",
    "CallInfo",
    "CompleteStatus",
    "EventStatus",
    "EventType",
    "Feature",
    "Function",
    "Info",
    "Priority",
    "RegisterFlags",
    "RoutingMode",
    "Status",
    "Version",
    "decode_affinity",
    "decode_bind_slots",
    "decode_register_flags",
    "decode_version",
    "encode_affinity",
    "encode_bind_slots",
    "encode_register_flags",
    "encode_version",
    "is_valid_affinity",
    "is_valid_event_number",
    "is_vendor_event",
    "low_int32",
    "to_register",
    "to_signed64",
]

"""PSCI function ids and return codes (Arm DEN0022), the subset the model implements."""

from __future__ import annotations

from enum import IntEnum


class Psci(IntEnum):
    VERSION = 0x8400_0000
    CPU_SUSPEND = 0xC400_0001
    CPU_OFF = 0x8400_0002
    CPU_ON = 0xC400_0003
    AFFINITY_INFO = 0xC400_0004
    SYSTEM_OFF = 0x8400_0008
    SYSTEM_RESET = 0x8400_0009
    FEATURES = 0x8400_000A


class PsciStatus(IntEnum):
    SUCCESS = 0
    NOT_SUPPORTED = -1
    INVALID_PARAMETERS = -2
    DENIED = -3
    ALREADY_ON = -4
    ON_PENDING = -5
    INTERNAL_FAILURE = -6
    NOT_PRESENT = -7
    DISABLED = -8
    INVALID_ADDRESS = -9


PSCI_VERSION_1_1 = 0x0001_0001
POWER_STATE_TYPE_POWERDOWN = 1 << 16  # original power_state format: StateType bit
AFFINITY_ON, AFFINITY_OFF = 0, 1

# SMC32 forms of the 64-bit calls are accepted too (DEN0022 5.1).
PSCI_IDS = frozenset(int(f) for f in Psci) | frozenset(int(f) & ~0x4000_0000 for f in Psci)


def canonical(function: int) -> int:
    """The Psci value for an SMC32 or SMC64 id."""
    for f in Psci:
        if function in (int(f), int(f) & ~0x4000_0000):
            return int(f)
    return function

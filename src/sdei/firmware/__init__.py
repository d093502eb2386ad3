"""The SDEI dispatcher (EL3, or a hypervisor's virtual instance).

Sans-IO: it never imports a machine.
"""

from sdei.firmware.dispatcher import Dispatcher, DispatchError, Entry, Exit, Interrupted
from sdei.firmware.platform import EventDesc, MemoryRange, Platform, PlatformError
from sdei.firmware.ports import FirmwareInterrupts, InterruptPort
from sdei.firmware.profile import PROFILE_NAMES, Rules, rules_for

__all__ = [
    "PROFILE_NAMES",
    "DispatchError",
    "Dispatcher",
    "Entry",
    "EventDesc",
    "Exit",
    "FirmwareInterrupts",
    "InterruptPort",
    "Interrupted",
    "MemoryRange",
    "Platform",
    "PlatformError",
    "Rules",
    "rules_for",
]

"""The OS client modelled on Linux's SDEI driver: primitives, driver, entry, power, eras."""

from sdei.kernel.core import ERRNO_NAMES, Heap, Kernel
from sdei.kernel.driver import Driver, Event, Record
from sdei.kernel.eras import ERA_NAMES, ERAS, Era, era
from sdei.kernel.hotplug import Hotplug
from sdei.kernel.system import BootConfig, Counter, Linux, noop_callback

__all__ = [
    "ERAS",
    "ERA_NAMES",
    "ERRNO_NAMES",
    "BootConfig",
    "Counter",
    "Driver",
    "Era",
    "Event",
    "Heap",
    "Hotplug",
    "Kernel",
    "Linux",
    "Record",
    "era",
    "noop_callback",
]

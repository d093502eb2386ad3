"""Firmware-first RAS end to end: the platform's error sources and the memory they report in
(`firmware`), and what `sdei ras inject` shows (`flow`)."""

from sdei.ras.firmware import Injection, PhysicalMemory, RasFirmware, RasSource

__all__ = ["Injection", "PhysicalMemory", "RasFirmware", "RasSource"]

"""Firmware-first RAS (docs/ras.md): errors firmware reports through GHES error status blocks
and SDEI events, and the races between the NMI-like sources that handle them."""

from sdei.scenarios.api import Scenario
from sdei.scenarios.ras import critical_over_normal

SCENARIOS: tuple[Scenario, ...] = (critical_over_normal.SCENARIO,)

__all__ = ["SCENARIOS"]

"""Firmware-first RAS (docs/ras.md): errors firmware reports through GHES error status blocks
and SDEI events, and the races between the NMI-like sources that handle them."""

from sdei.scenarios.api import Scenario
from sdei.scenarios.ras import ack_race, critical_over_normal, fatal_in_handler, offline

SCENARIOS: tuple[Scenario, ...] = (
    critical_over_normal.SCENARIO,
    ack_race.SCENARIO,
    offline.SCENARIO,
    fatal_in_handler.SCENARIO,
)

__all__ = ["SCENARIOS"]

"""Latent issues in today's Linux SDEI driver (linux-client.md §12), each staged so the
explorer finds it, with the fix it suggests as a driver patch (`Scenario.fix`)."""

from sdei.scenarios.api import Scenario
from sdei.scenarios.latent import (
    failed_freeze,
    ghes_rollback,
    hotplug_window,
    one_bit_mask,
    partial_enable,
    pending_unregister,
)

SCENARIOS: tuple[Scenario, ...] = (
    *hotplug_window.SCENARIOS,
    ghes_rollback.SCENARIO,
    failed_freeze.SCENARIO,
    pending_unregister.SCENARIO,
    *partial_enable.SCENARIOS,
    one_bit_mask.SCENARIO,
)

__all__ = ["SCENARIOS"]

"""The built-in scenarios: the historic races of Linux's SDEI client (issue 5's table)."""

from sdei.scenarios.api import Scenario
from sdei.scenarios.builtin import (
    crash_in_handler,
    freeze_state_id,
    hibernate_hotplug,
    hibernate_shared,
    nested_nmi,
    probe_hotplug,
    register_hotplug,
    rt_hotplug,
    thaw_failure,
)

SCENARIOS: tuple[Scenario, ...] = (
    hibernate_hotplug.SCENARIO,
    probe_hotplug.SCENARIO,
    register_hotplug.SCENARIO,
    hibernate_shared.SCENARIO,
    thaw_failure.SCENARIO,
    nested_nmi.SCENARIO,
    rt_hotplug.SCENARIO,
    freeze_state_id.SCENARIO,
    crash_in_handler.SCENARIO,
)

__all__ = ["SCENARIOS"]

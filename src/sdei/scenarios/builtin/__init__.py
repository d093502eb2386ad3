"""The built-in scenarios: the historic races of Linux's SDEI client, the review-era ones no
kernel can have, and the latent issues of today's driver (`sdei.scenarios.latent`)."""

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
from sdei.scenarios.latent import SCENARIOS as LATENT
from sdei.scenarios.ras import SCENARIOS as RAS

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
    *LATENT,
    *RAS,
)

__all__ = ["SCENARIOS"]

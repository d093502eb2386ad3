"""Each era's deterministic bugs happen in that era and not after (B5, B6, B12, B13, and B11,
which the model shows on every path), and the built-in scenarios' era table holds for a
plain deterministic run."""

from __future__ import annotations

import pytest

from sdei.explore.target import Target
from sdei.kernel import ERA_NAMES, era
from sdei.kernel.eras import patch
from sdei.scenarios.api import Options
from sdei.scenarios.builtin import (
    SCENARIOS,
    crash_in_handler,
    freeze_state_id,
    hibernate_shared,
    rt_hotplug,
    thaw_failure,
)
from sdei.scenarios.common import SHARED_RAS

DETERMINISTIC = (hibernate_shared, thaw_failure, freeze_state_id, crash_in_handler, rt_hotplug)


def test_every_era_is_defined_and_ordered() -> None:
    assert ERA_NAMES == (
        "v4-rfc", "v4.16", "v5.7", "v5.8", "v6.1", "v6.4", "v6.6", "v6.12", "latest",
        "pre-apei-rework",
    )  # fmt: skip
    assert era("v4.16").flags_before_call and not era("v5.7").flags_before_call
    assert era("v6.4").freeze_wrong_state_id and not era("v6.12").freeze_wrong_state_id
    with pytest.raises(ValueError, match="unknown era"):
        era("v9.9")


@pytest.mark.parametrize(
    ("module", "era_name"),
    [(m, e) for m in DETERMINISTIC for e in m.SCENARIO.buggy_eras + m.SCENARIO.fixed_eras],
    ids=lambda v: getattr(v, "__name__", str(v)).rsplit(".", 1)[-1],
)
def test_deterministic_bug_in_its_era_only(module: object, era_name: str) -> None:
    scenario = module.SCENARIO  # type: ignore[attr-defined]
    machine = Target.make(scenario, era=era_name).build()  # with the scenario's own patches
    result = machine.run(max_steps=scenario.max_steps)
    if era_name in scenario.buggy_eras:
        assert result.violation is not None, f"{scenario.name} should break in {era_name}"
        assert scenario.accepts(result.violation.invariant), result.violation
    else:
        assert result.violation is None, result.violation


def test_b5_is_a_self_deadlock_on_the_list_lock() -> None:
    machine = hibernate_shared.SCENARIO.build(Options(era="v4.16"))
    result = machine.run()
    assert result.violation is not None
    assert "re-acquires linux:sdei_list_lock" in result.violation.message


def test_b6_fixed_marks_broken_and_destroys_the_event() -> None:
    machine = thaw_failure.SCENARIO.build(Options(era="v5.7"))
    result = machine.run()
    assert result.violation is None
    linux = machine.shared["linux"]
    assert SHARED_RAS not in linux.driver.events
    assert linux.driver.conduit is None  # marked broken
    assert all(machine.firmware.is_masked(c) for c in linux.k.online)


def test_b12_names_the_bogus_state() -> None:
    machine = freeze_state_id.SCENARIO.build(Options(era="v6.6"))
    result = machine.run()
    assert result.violation is not None
    entry = machine.shared["linux"].driver.entry_point
    assert f"invalid state {entry:#x}" in result.violation.message


def test_scenario_table_names_every_era_once() -> None:
    for scenario in SCENARIOS:
        named = scenario.buggy_eras + scenario.fixed_eras
        assert len(set(named)) == len(named), scenario.name
        assert set(named) <= set(ERA_NAMES), scenario.name
        # Fixed in some era, or (a latent issue) by a patch this project proposes.
        assert scenario.fixed_eras or scenario.fix, scenario.name
        assert all(not patch(p).upstream for p in scenario.fix), scenario.name
        if "proof" in scenario.tags:  # a protocol that holds everywhere: nothing to find
            assert not scenario.buggy_eras and scenario.fixed_eras, scenario.name
            continue
        # A race is found somewhere, or the scenario says why no kernel can have it.
        assert bool(scenario.buggy_eras) != bool(scenario.unreachable), scenario.name

"""Every built-in scenario keeps its verdict per era, in one process: the race is found in the
eras that have it (and is the race the scenario expects) - and a dfs there never says
"complete" without it -, and a complete dfs clears the eras that fixed it - or, for a
review-era race no kernel can interleave, every era."""

from __future__ import annotations

import pytest

from sdei.explore import explore
from sdei.scenarios.builtin import SCENARIOS

BUGGY = [(s.name, era) for s in SCENARIOS for era in s.buggy_eras]
FIXED = [(s.name, era) for s in SCENARIOS for era in s.fixed_eras]
BY_NAME = {s.name: s for s in SCENARIOS}


@pytest.mark.parametrize(("name", "era"), BUGGY)
def test_found_where_the_era_has_it(name: str, era: str) -> None:
    report = explore(name, era=era, jobs=1, budget=120, shrink=False)
    assert report.counterexample is not None, report.status()
    assert BY_NAME[name].accepts(report.counterexample.violation.invariant), report.status()


@pytest.mark.parametrize(("name", "era"), BUGGY)
def test_a_dfs_never_runs_out_of_tree_where_the_era_has_it(name: str, era: str) -> None:
    """A partial-order reduction that prunes too much ends early with "complete" (B8 once did,
    in 29 executions): in a buggy era a dfs finds the race or is cut by its budget."""
    report = explore(name, era=era, strategy="dfs", jobs=1, budget=8, shrink=False)
    assert report.verdict != "complete", report.status()
    if report.counterexample is not None:
        assert BY_NAME[name].accepts(report.counterexample.violation.invariant), report.status()


@pytest.mark.parametrize(("name", "era"), FIXED)
def test_cleared_by_a_complete_search_where_it_is_fixed(name: str, era: str) -> None:
    report = explore(name, era=era, strategy="dfs", jobs=1)
    assert report.verdict == "complete", report.status()


def test_review_era_races_say_why_they_cannot_happen() -> None:
    unreachable = {s.name for s in SCENARIOS if s.unreachable}
    assert unreachable == {"hibernate-hotplug", "probe-hotplug"}
    for name in unreachable:
        assert "v4-rfc" in BY_NAME[name].fixed_eras and not BY_NAME[name].buggy_eras

"""The machine's options are kept per PE and recomputed only where something changed: at
every step of many runs they equal a recomputation from scratch (`Machine.CHECK_OPTIONS`),
and the default chooser takes the same steps."""

from __future__ import annotations

import random

import pytest

from sdei.explore import explore
from sdei.machine import Machine
from sdei.scenarios.registry import builtin

from .randprog import build_program, random_program


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Machine, "CHECK_OPTIONS", True)


@pytest.mark.usefixtures("checked")
def test_random_programs_under_every_schedule() -> None:
    ran = 0
    for seed in range(40):
        scenario = build_program(random_program(random.Random(seed)))
        report = explore(scenario, strategy="random", executions=30, jobs=1, seed=seed)
        ran += report.executions
    assert ran >= 40 * 30 - 40  # every run went through, every step checked


@pytest.mark.usefixtures("checked")
@pytest.mark.parametrize("scenario", sorted(s.name for s in builtin()))
def test_builtin_scenarios_in_their_buggy_era(scenario: str) -> None:
    found = next(s for s in builtin() if s.name == scenario)
    era = (found.buggy_eras or found.fixed_eras or ("latest",))[0]
    report = explore(
        scenario,
        era=era,
        patches=found.patches if found.buggy_eras else (),
        strategy="random",
        executions=25,
        jobs=1,
    )
    assert report.executions >= 1

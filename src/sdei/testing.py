"""A pytest plugin for test suites that explore scenarios (registered as `sdei` in the
`pytest11` entry points, so it is active wherever sdei-model is installed).

    def test_my_change(explore):
        explore("my_scenarios.py::hotplug_race", era="latest")

The test fails with the counterexample - the per-CPU timeline, the violated invariant and a
one-line explanation - in the failure message, and the replay file is kept under pytest's
temporary directory (`sdei replay FILE` re-runs it). The fixture returns the `Report`, so a
test can also assert that a bug IS found: `explore(..., expect="deadlock")`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sdei.explore import Report

DEFAULT_BUDGET = 10.0


def require_tool(name: str, package: str) -> str:
    """The path of an external tool a test needs. Missing, it fails the test under CI
    (`CI=true`) and skips it elsewhere, saying which Debian package to install."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required under CI: apt-get install {package}")
        pytest.skip(f"{name} not installed: apt-get install {package}")
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sdei", "SDEI scenario exploration")
    group.addoption(
        "--sdei-budget",
        type=float,
        default=None,
        help=f"seconds each explore() may search (default {DEFAULT_BUDGET:g})",
    )
    group.addoption(
        "--sdei-seed",
        type=int,
        default=None,
        help="seed for explore() (default: the one the test passes, else 0)",
    )


Explore = Callable[..., "Report"]


@pytest.fixture
def explore(request: pytest.FixtureRequest, tmp_path: Path) -> Explore:
    """Search a scenario; fail the test with the counterexample if one is found (or, with
    `expect=INVARIANT`, if none is)."""
    budget_option = request.config.getoption("--sdei-budget")
    seed_option = request.config.getoption("--sdei-seed")

    def run(
        scenario: Any,
        *,
        era: str = "latest",
        expect: str | None = None,
        budget: float | None = None,
        seed: int | None = None,
        **options: Any,
    ) -> Report:
        from sdei.explore import UsageError, save
        from sdei.explore import explore as search
        from sdei.explore.render import as_text, counterexample_view, report_view

        seconds = budget if budget is not None else (budget_option or DEFAULT_BUDGET)
        if "executions" in options and budget is None and budget_option is None:
            seconds = None
        chosen_seed = seed_option if seed_option is not None else (seed or 0)
        try:
            report = search(scenario, era=era, budget=seconds, seed=chosen_seed, **options)
        except UsageError as error:
            pytest.fail(f"sdei explore: {error}", pytrace=False)
        cx = report.counterexample
        if expect is not None:
            if cx is None:
                pytest.fail(
                    f"{report.header()}\nexpected a violation of {expect!r}: {report.status()}",
                    pytrace=False,
                )
            if cx.violation.invariant != expect:
                pytest.fail(
                    f"{report.header()}\nexpected a violation of {expect!r}, found "
                    f"{cx.violation}\n" + as_text(counterexample_view(cx)),
                    pytrace=False,
                )
            return report
        if cx is not None:
            written = save(report, tmp_path / "sdei-out")
            text = as_text(report_view(report)) + as_text(counterexample_view(cx))
            text += f"replay: sdei replay {written['replay']}\n"
            pytest.fail(text, pytrace=False)
        return report

    return run

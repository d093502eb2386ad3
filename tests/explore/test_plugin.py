"""The pytest plugin: a failing exploration fails the test with the counterexample."""

from __future__ import annotations

import pytest

from .toys import ABBA, ORDERED

pytest_plugins = ["pytester"]


def test_explore_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        def test_correct(explore):
            report = explore({ORDERED!r}, strategy="dfs")
            assert report.complete

        def test_racy(explore):
            explore({ABBA!r}, era="latest", budget=5)

        def test_expected(explore):
            explore({ABBA!r}, expect="deadlock", budget=5)

        def test_expected_but_absent(explore):
            explore({ORDERED!r}, strategy="dfs", expect="deadlock")
    """)
    result = pytester.runpytest("-q")  # the plugin loads from its entry point
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*VIOLATION after*deadlock*",
            "*PE0*PE1*",
            "*✗ deadlock*",
            "replay: sdei replay *abba-latest.replay.json",
            "*expected a violation of 'deadlock': complete*",
        ]
    )

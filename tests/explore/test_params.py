"""Scenario parameters (`--param NAME=VALUE`): what they build, where they are recorded, and
the mistakes a user can make with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def test_three_callers_race_and_the_replay_file_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    found = runner.invoke(
        app,
        [
            *("explore", "register-hotplug", "--era", "v4.16", "--param", "callers=3"),
            *("--jobs", "1", "--out", str(out)),
        ],
    )
    assert found.exit_code == 1, found.output
    assert "(era v4.16, profile spec, callers=3)" in found.output
    (replay,) = out.glob("*.replay.json")
    data = json.loads(replay.read_text())
    assert data["params"] == {"callers": 3}
    again = runner.invoke(app, ["replay", str(replay)])
    assert again.exit_code == 1, again.output
    assert f"reproduced: [{data['violation']['invariant']}]" in again.output
    # The same choices on a one-caller machine: another run, and the replay says so.
    del data["params"]
    replay.write_text(json.dumps(data))
    other = runner.invoke(app, ["replay", str(replay)])
    assert "not reproduced: diverged at choice" in other.output, other.output


def test_a_caller_count_changes_what_is_searched() -> None:
    from sdei.explore import explore

    one = explore("register-hotplug", era="v5.7", strategy="dfs", executions=3000)
    two = explore(
        "register-hotplug", era="v5.7", strategy="dfs", params={"callers": 2}, executions=3000
    )
    assert one.complete and two.complete, (one.status(), two.status())
    assert two.executions > one.executions  # two events registered at once race more


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("caller=2", "has no parameter 'caller' (the parameters it takes: callers)"),
        ("callers=4", "callers=4 is out of range (1..3"),
        ("callers=x", "expected NAME=VALUE with a whole number VALUE"),
        ("callers", "expected NAME=VALUE"),
    ],
)
def test_a_mistaken_param_is_a_usage_error(given: str, message: str) -> None:
    result = runner.invoke(app, ["explore", "register-hotplug", "--param", given])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_scenario_without_parameters_says_so() -> None:
    result = runner.invoke(app, ["explore", "hibernate-shared", "--param", "callers=2"])
    assert result.exit_code == 2, result.output
    assert "has no parameter 'callers' (the parameters it takes: none)" in result.output


def test_a_replay_file_with_an_unknown_parameter_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    found = runner.invoke(
        app, ["explore", "register-hotplug", "--era", "v4.16", "--jobs", "1", "--out", str(out)]
    )
    assert found.exit_code == 1, found.output
    (replay,) = out.glob("*.replay.json")
    data = json.loads(replay.read_text())
    data["params"] = {"callers": 7}
    replay.write_text(json.dumps(data))
    refused = runner.invoke(app, ["replay", str(replay)])
    assert refused.exit_code == 2, refused.output
    assert "callers=7 is out of range" in " ".join(refused.output.split())


def test_the_scenario_list_shows_the_parameters() -> None:
    narrow = CliRunner(env={"COLUMNS": "72"})  # a block per scenario: no table borders
    result = narrow.invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    assert "--param callers=1..3 (default 1)" in " ".join(result.output.split())

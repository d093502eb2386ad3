"""The latent issues of today's Linux: listed in a group of their own, found in `latest` by
the default strategy, cleared by a complete dfs under the patch each suggests, and their
injected faults marked wherever a counterexample goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.explore import explore, save
from sdei.explore.dfs import OPENINGS
from sdei.explore.execution import execute
from sdei.explore.shrink import GuidedChooser
from sdei.explore.target import Target
from sdei.explore.visual import read_perfetto
from sdei.kernel.eras import patch
from sdei.scenarios.builtin import SCENARIOS
from sdei.trace import Recorder

LATENT = [s for s in SCENARIOS if s.group == "latent"]
BY_NAME = {s.name: s for s in LATENT}


def test_one_scenario_per_issue_each_with_a_proposed_fix() -> None:
    issues = {s.description.rsplit("(", 1)[1].rstrip(")") for s in LATENT}
    assert issues == {"L1", "L2", "L3", "L4", "L5", "L6"}
    l1 = {s.name for s in LATENT if s.description.endswith("(L1)")}
    assert l1 == {f"{api}-vs-cpu-{d}" for api in ("unregister", "disable") for d in ("up", "down")}
    for scenario in LATENT:
        assert scenario.fix and "latest" in scenario.buggy_eras, scenario.name
        assert all(not patch(p).upstream for p in scenario.fix), scenario.name


def test_scenarios_lists_the_latent_group_with_its_fixes() -> None:
    result = CliRunner().invoke(app, ["scenarios"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    text = result.output
    latent = text.index("Latent in today's Linux")
    assert text.index("Bugs Linux has fixed") < latent
    section = text[latent:]
    assert "fixed by --patch" in section
    for scenario in LATENT:
        cells = next(
            [cell.strip() for cell in line.split("│")]
            for line in section.splitlines()
            if f"│{scenario.name} " in line
        )
        assert cells[3].split(";")[0] == " + ".join(scenario.fix), cells
    assert "register-hotplug" not in section  # historic ones stay in their group


@pytest.mark.parametrize("name", [s.name for s in LATENT])
def test_found_in_latest_by_the_default_strategy(name: str) -> None:
    report = explore(name, era="latest", jobs=1, budget=60, shrink=False)
    assert report.counterexample is not None, report.status()
    assert BY_NAME[name].accepts(report.counterexample.violation.invariant), report.status()


@pytest.mark.parametrize("name", [*(s.name for s in LATENT if s.name != "freeze-fails"),
                                  "ghes-fatal-in-handler"])  # fmt: skip
def test_the_plain_dfs_finds_it_in_its_opening(name: str) -> None:
    """The dfs opens with round-robin and eager-delivery first schedules: a race that needs
    one thread preempted early falls in a few executions, not after hundreds (L3 alone needs
    the continuing-first search: about 850 executions)."""
    opening = sum(executions for _, executions in OPENINGS)
    report = explore(name, era="latest", strategy="dfs", jobs=1, executions=opening, shrink=False)
    assert report.counterexample is not None, report.status()


# L3's complete dfs under its fix takes a minute and a half even stateful (20,497 executions,
# 6,790 states: a whole hibernation with an idle CPU and a RAS error), too long for the test
# suite: `make bench` (suite explore-latent) runs it, and the test after this one checks the
# fix on the interleaving that shows the bug.
PROVED = [s.name for s in LATENT if s.name != "freeze-fails"]


@pytest.mark.parametrize("name", PROVED)
def test_cleared_by_a_complete_dfs_under_its_fix(name: str) -> None:
    scenario = BY_NAME[name]
    report = explore(name, era="latest", strategy="dfs", jobs=1, patches=scenario.fix)
    assert report.verdict == "complete", report.status()


def test_freeze_fails_interleaving_ends_well_under_its_fix() -> None:
    """The counterexample's own schedule, run under `freeze-recovers`: the same handler meets
    freeze's UNREGISTER, freeze waits for it, and the hibernation completes with every oracle
    holding."""
    found = explore("freeze-fails", era="latest", jobs=1, budget=60)
    assert found.counterexample is not None, found.status()
    target = Target.make("freeze-fails", era="latest", patches=("freeze-recovers",))
    machine = target.build(target.options)
    recorder = Recorder(machine)
    _, execution = execute(target, GuidedChooser(found.counterexample.choices), machine=machine)
    assert execution.violation is None, execution.violation
    assert execution.status == "quiescent"
    texts = [r.text for r in recorder.records]
    assert "UNREGISTER(0x40000010) = PENDING" in texts  # the trigger happened
    assert "hibernate: image written" in texts
    assert "hibernate: freeze failed, hibernation aborted (no .thaw for SDEI)" not in texts


@pytest.mark.parametrize("name", ["ghes-enable-fails", "unregister-running", "ghes-ack-race"])
def test_an_era_without_the_code_a_scenario_drives_is_refused(name: str) -> None:
    """v4.16 has no GHES notified by SDEI: searching it would say "no violation" of code it
    does not have. The command refuses it, names what is missing and where it is."""
    result = CliRunner().invoke(app, ["explore", name, "--era", "v4.16"], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "GHES sources notified by SDEI" in result.output
    assert "era v4.16 does not have: use one of v5.7" in result.output
    assert "Traceback" not in result.output


def test_a_replay_file_moved_to_an_era_without_the_code_is_refused(tmp_path: Path) -> None:
    """The same check when a replay file (edited, or written by an older sdei) names an era
    the scenario cannot run in: the missing feature, not a divergence."""
    report = explore("ghes-enable-fails", era="latest", jobs=1, budget=30)
    assert report.counterexample is not None, report.status()
    replay = save(report, tmp_path)["replay"]
    data = json.loads(replay.read_text())
    data["era"] = "v4.16"
    replay.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["replay", str(replay)], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "which era v4.16 does not have" in result.output
    assert "diverged" not in result.output


def test_the_injected_fault_is_marked_in_timeline_replay_and_trace(tmp_path: Path) -> None:
    report = explore("partial-enable", era="latest", jobs=1, budget=30)
    assert report.counterexample is not None, report.status()
    injected = report.counterexample.injected
    assert injected and injected[0]["function"] == "EVENT_ENABLE"
    assert injected[0]["status"] == "DENIED"
    written = save(report, tmp_path)
    replay = json.loads(written["replay"].read_text())
    assert replay["injected"] == injected
    trace = read_perfetto(written["perfetto"])
    marked = [
        p.track_event
        for p in trace.packet
        if p.HasField("track_event") and p.track_event.name.endswith("[injected fault]")
    ]
    assert marked and marked[0].name.startswith("ENABLE(")
    flags = {a.name: a.bool_value for a in marked[0].debug_annotations}
    assert flags.get("injected") is True
    result = CliRunner().invoke(app, ["replay", str(written["replay"])], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "ENABLE(0) = DENIED [injected fault]" in result.output
    assert "sdei_event_enable(0) = -EPERM" in result.output

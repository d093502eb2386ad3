"""`sdei conform`: the suite passes on our dispatcher in both profiles and on the example
`process:` adapter, fails on a target that breaks a rule (naming the rule), and the fuzzer finds,
shrinks and replays a planted difference."""

from __future__ import annotations

import json
import shlex
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.conform import fuzz
from sdei.conform.suite import cases, run_case
from sdei.conform.target import BuiltinTarget
from sdei.firmware import Entry, Interrupted

REPO = Path(__file__).resolve().parents[2]
ADAPTER = f"process:{shlex.quote(sys.executable)} {REPO / 'examples/conform/adapter.py'}"
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.mark.parametrize("target", ["builtin:spec", "builtin:tfa", ADAPTER])
def test_the_suite_passes(target: str, tmp_path: Path) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    result = runner.invoke(
        app, ["conform", "--target", target, "--json", str(report), "--junit", str(junit)]
    )
    assert result.exit_code == 0, result.output
    assert "conforms: 263 passed, 0 failed, 2 not for this profile" in result.output
    data = json.loads(report.read_text())
    assert len(data["cases"]) == 265 and data["differences"] == []
    assert {c["status"] for c in data["cases"]} == {"pass", "skip"}
    assert all(c["rule"] for c in data["cases"])
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("265", "0", "2")


class WrongArgument(BuiltinTarget):
    """Enters handlers with x1 off by one."""

    def dispatch(self, pe: int, event: int, interrupted: Interrupted) -> Entry | None:
        entry = super().dispatch(pe, event, interrupted)
        if entry is None:
            return None
        x0, x1, x2, x3 = entry.x
        return replace(entry, x=(x0, x1 + 1, x2, x3))


def test_a_broken_target_fails_the_case_for_its_rule() -> None:
    results = {r.case.id: r for r in (run_case(c, WrongArgument()) for c in cases())}
    entry = results["entry/registers"]
    assert entry.status == "fail"
    assert entry.message == "x1 (argument): got 0xa5a500001235, expected 0xa5a500001234"
    assert "5.2.1" in entry.case.rule
    failed = {i for i, r in results.items() if r.status == "fail"}
    assert failed == {"entry/registers"}  # nothing else reads x1


def test_a_target_breaking_a_spec_rule_does_not_conform(tmp_path: Path) -> None:
    result = runner.invoke(app, ["conform", "--target", f"{ADAPTER} --bug signal"])
    assert result.exit_code == 1, result.output
    assert "✗ signal/unready-target [DEN0054C 5.1.16" in result.output
    assert "EVENT_SIGNAL to a PE that has not registered event 0: got -2, expected 0" in (
        result.output
    )
    # The same behaviour is TF-A's: judged by the tfa profile, it conforms.
    tfa = runner.invoke(app, ["conform", "--target", f"{ADAPTER} --bug signal", "--profile", "tfa"])
    assert tfa.exit_code == 0, tfa.output


def test_no_difference_between_our_dispatcher_and_the_model() -> None:
    for profile in ("spec", "tfa"):
        result = fuzz.fuzz(BuiltinTarget(profile), operations=5_000, seed=1)
        assert result.operations >= 5_000 and result.differences == []


def test_the_fuzzer_finds_shrinks_and_replays_a_difference(tmp_path: Path) -> None:
    out = tmp_path / "diffs"
    args = ["conform", "--target", f"{ADAPTER} --bug signal", "--diff", "--operations", "3000"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json", str(tmp_path / "d.json")])
    assert result.exit_code == 1, result.output
    assert "1 kind of difference" in result.output
    assert "≠ EVENT_SIGNAL result: target -2, model 0 after 1 operation\n" in result.output
    replay = out / "difference-1.json"
    data = json.loads(replay.read_text())
    assert data["kind"] == "EVENT_SIGNAL result" and len(data["ops"]) == 1
    assert data["ops"][0][:3] == ["call", data["ops"][0][1], 0xC400_002F]
    again = runner.invoke(app, ["conform", "--replay", str(replay)])
    assert again.exit_code == 1
    assert "operation 0 (EVENT_SIGNAL result): target -2, model 0" in again.output
    # Deterministic: the same seed shrinks to the same operations.
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "again")])
    assert json.loads((tmp_path / "again/difference-1.json").read_text())["ops"] == data["ops"]
    assert json.loads((tmp_path / "d.json").read_text())["differences"][0]["kind"] == (
        "EVENT_SIGNAL result"
    )
    assert second.exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "qemu"], "error: unknown target 'qemu'"),
        (["--target", "builtin:uefi"], "error: unknown builtin profile 'uefi'"),
        (["--target", "process:/no/such/adapter"], "error: process:/no/such/adapter: cannot start"),
        (["--target", "process:echo hello"], "not a protocol line: 'hello'"),
        (["--target", "process:true"], "the program ended after 'reset'"),
        (["--replay", "/no/such/file.json"], "error: /no/such/file.json: No such file"),
        (["--profile", "edk2"], "Invalid value for '--profile'"),
    ],
)
def test_usage_errors_exit_two(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["conform", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"ops": [["raise", 0, -1]]}, "ops[0]: PE -1 is not one of 0-2"),
        ({"ops": [["explode", 0]]}, "ops[0]: ['explode', 0] is not an operation"),
        ({"ops": [["call", 0, 7, [1]]]}, "ops[0]: 7 is not an SDEI function id"),
        ({"ops": [["dispatch", 0]]}, "ops[0]: dispatch takes 2 values, got 1"),
        ({"ops": []}, "ops: no operations to replay"),
        ({"pes": 1000}, "pes: 1000 is not between 2 and 64"),
        ({"pes": True}, "pes: missing or not a int"),
        ({"profile": "nope"}, "profile: 'nope' is not spec or tfa"),
        ({"version": 99}, "version: 99, this sdei reads 1"),
        ({"source": 5}, "source: not a path"),
    ],
)
def test_a_hand_edited_replay_file_is_one_message(
    change: dict[str, object], words: str, tmp_path: Path
) -> None:
    path = tmp_path / "difference.json"
    data = {"format": fuzz.FORMAT, "version": 1, "target": "builtin:spec", "profile": "spec",
            "pes": 3, "ops": [["raise", 0, 1]], **change}  # fmt: skip
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["conform", "--replay", str(path)])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split()) and "Traceback" not in result.output


def test_an_out_that_cannot_be_a_directory_is_one_message(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    result = runner.invoke(app, ["conform", "--diff", "--operations", "10", "--out", str(blocker)])
    assert result.exit_code == 2 and "--out" in result.output and "Traceback" not in result.output

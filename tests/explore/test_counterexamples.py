"""Shrinking, replay files, replay and divergence, the timeline text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sdei.explore import Counterexample, ReplayFileError, explore, replay, save
from sdei.explore.execution import execute
from sdei.explore.random_walk import UniformChooser
from sdei.explore.render import as_text, counterexample_view
from sdei.explore.shrink import shrink
from sdei.explore.target import Target
from sdei.firmware import Platform
from sdei.machine import Access, Invariant, Local, Machine, MachineConfig
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import Options, Scenario

from .toys import ABBA, HANDLER_LOCK, LOST_UPDATE


def build_noisy(options: Options) -> Machine:
    """A lost update between PE0 and PE1, while PE2 and PE3 do unrelated work."""
    machine = Machine(MachineConfig(Platform.reference(4)))
    machine.shared["counter"] = 0

    def increment(pe: PE) -> Code:
        yield Access("counter", write=False)
        value = machine.shared["counter"]
        yield Access("counter", write=True)
        machine.shared["counter"] = value + 1

    def noise(pe: PE) -> Code:
        for n in range(6):
            yield Local(f"noise {n}")

    machine.spawn(0, increment)
    machine.spawn(1, increment)
    machine.spawn(2, noise)
    machine.spawn(3, noise)
    machine.add_invariant(
        Invariant(
            "counter-sum",
            lambda m: None if m.shared["counter"] == 2 else f"counter is {m.shared['counter']}",
            at_quiescence_only=True,
        )
    )
    machine.end_setup()
    return machine


NOISY = Scenario("noisy", "a lost update among noise", build_noisy, max_steps=200)


def test_shrinking_keeps_the_invariant_and_never_grows() -> None:
    target = Target(NOISY, "", Options(), 200)
    for seed in range(40):
        _, found = execute(target, UniformChooser(seed))
        if found.violation is not None:
            break
    assert found.violation is not None
    small, runs = shrink(target, found)
    assert runs > 0
    assert small.violation is not None
    assert small.violation.invariant == found.violation.invariant
    assert len(small.choices) <= len(found.choices)
    assert (small.preemptions, len(small.choices)) <= (found.preemptions, len(found.choices))
    assert len(small.choices) < len(found.choices)  # the noise goes
    again = explore(NOISY, strategy="random", seed=seed, budget=5)
    assert again.counterexample is not None
    assert len(again.counterexample.choices) < again.counterexample.found_choices
    assert replay(again.counterexample, Target(NOISY, "", Options(), 200)).reproduced


@pytest.mark.parametrize("scenario", [LOST_UPDATE, ABBA, HANDLER_LOCK])
def test_replay_file_round_trip(scenario: str, out: Path) -> None:
    report = explore(scenario, strategy="random", seed=3, budget=10)
    cx = report.counterexample
    assert cx is not None
    written = save(report, out)
    data = json.loads(written["replay"].read_text())
    assert data["format"] == "sdei-replay" and data["version"] == 1
    assert data["scenario"] == scenario and data["era"] == "latest"
    assert data["strategy"] == "random" and data["seed"] == 3
    assert data["violation"]["invariant"] == cx.violation.invariant
    loaded = Counterexample.load(written["replay"])
    assert loaded.to_json() == cx.to_json()
    outcome = replay(loaded)
    assert outcome.reproduced, outcome.message
    assert outcome.execution is not None and outcome.execution.violation == cx.violation


def test_tampered_replay_reports_where_it_diverged(tmp_path: Path) -> None:
    report = explore(LOST_UPDATE, strategy="dfs")
    cx = report.counterexample
    assert cx is not None
    data = cx.to_json()
    data["choices"][1] = 1 - data["choices"][1]  # the other PE at the second choice
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data))
    outcome = replay(Counterexample.load(path))
    assert outcome.status == "diverged"
    assert "diverged at choice 1" in outcome.message
    assert "recorded run PE" in outcome.message

    data = cx.to_json()
    data["choices"].append(0)
    path.write_text(json.dumps(data))
    outcome = replay(Counterexample.load(path))
    assert outcome.status == "diverged" and "unused" in outcome.message

    data = cx.to_json()
    data["choices"] = data["choices"][:-1]
    data["chosen"] = data["chosen"][:-1]
    path.write_text(json.dumps(data))
    outcome = replay(Counterexample.load(path))
    assert outcome.status == "diverged" and "no choice left" in outcome.message

    data = cx.to_json()
    data["violation"]["message"] = "something else"
    path.write_text(json.dumps(data))
    outcome = replay(Counterexample.load(path))
    assert outcome.status == "different"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"format": "other"}', "not an sdei-replay file"),
        ('{"format": "sdei-replay", "version": 9}', "unsupported replay version"),
        ('{"format": "sdei-replay", "version": 1}', "scenario: missing"),
    ],
)
def test_bad_replay_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ReplayFileError, match=message):
        Counterexample.load(path)
    with pytest.raises(ReplayFileError, match="bad"):
        Counterexample.load(tmp_path / "missing.json")


def test_timeline_text_names_the_invariant() -> None:
    report = explore(HANDLER_LOCK, strategy="dfs")
    cx = report.counterexample
    assert cx is not None
    text = as_text(counterexample_view(cx))
    assert "PE0" in text and "PE1" in text
    assert "✗ deadlock" in text
    assert "SIGNAL" in text
    assert "interrupted" in text  # the engine's message: the handler interrupted the holder
    assert cx.explanation.startswith("deadlock: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"era": "v9"}, "era: unknown era 'v9': expected one of v4-rfc"),
        ({"cpus": -1}, "cpus: Input should be greater than 0"),
        ({"choices": [0, "x"]}, "choices.1: Input should be a valid integer"),
        ({"chioces": [0]}, "chioces: not a replay file field"),
        ({"patches": ["nope"]}, "patches: unknown patch 'nope'"),
        ({"violation": {"invariant": "x", "message": "m"}}, "violation.step: missing"),
    ],
)
def test_replay_file_fields_are_checked(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    report = explore(HANDLER_LOCK, strategy="dfs")
    assert report.counterexample is not None
    data = {**report.counterexample.to_json(), **change}
    path = tmp_path / "run.replay.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ReplayFileError) as error:
        Counterexample.load(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_missing_fields_and_binary_content_are_named(tmp_path: Path) -> None:
    report = explore(HANDLER_LOCK, strategy="dfs")
    assert report.counterexample is not None
    data = report.counterexample.to_json()
    del data["choices"], data["max_steps"]
    path = tmp_path / "run.replay.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ReplayFileError, match="max_steps: missing; choices: missing"):
        Counterexample.load(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(ReplayFileError, match="offset 0: binary content"):
        Counterexample.load(path)


def test_a_written_replay_file_reads_back_the_same(tmp_path: Path) -> None:
    report = explore(HANDLER_LOCK, strategy="dfs")
    cx = report.counterexample
    assert cx is not None
    path = cx.save(tmp_path / "run.replay.json")
    assert Counterexample.load(path) == cx
    assert '  "chosen": [\n    ["' in path.read_text()  # one option per line

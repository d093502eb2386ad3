"""Finding scenarios: built-in names and user files, with one clear error per failure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdei.scenarios.api import Scenario
from sdei.scenarios.registry import ScenarioError, builtin, get, load_user, register, resolve

from .toys import EXAMPLES

GOOD = """
from sdei.scenarios.api import Scenario
from sdei.firmware import Platform
from sdei.machine import Machine, MachineConfig

def build(options):
    machine = Machine(MachineConfig(Platform.reference(1)))
    machine.end_setup()
    return machine

plain = Scenario("plain", "a scenario object", build)

def made():
    return Scenario("made", "a scenario from a function", build)

def not_one():
    return 42

number = 3
"""


def test_user_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(GOOD)
    assert load_user(f"{path}::plain").name == "plain"
    assert load_user(f"{path}::made").name == "made"
    assert resolve(f"{path}::plain").description == "a scenario object"
    assert load_user(str(path)).name == "plain"  # the only module-level Scenario


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("::missing", "defines no scenario named 'missing' (it defines: plain)"),
        ("::not_one", "not_one() returned int, not a Scenario"),
        ("::number", "number is a int, not a Scenario"),
    ],
)
def test_user_file_errors(tmp_path: Path, suffix: str, message: str) -> None:
    path = tmp_path / "mine.py"
    path.write_text(GOOD)
    with pytest.raises(ScenarioError, match=re.escape(message)) as error:
        load_user(f"{path}{suffix}")
    assert str(path) in str(error.value)


def test_load_failures_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_user(f"{tmp_path / 'nope.py'}::x")
    with pytest.raises(ScenarioError, match=r"must be a \.py file"):
        load_user(f"{tmp_path / 'nope.txt'}::x")
    syntax = tmp_path / "syntax.py"
    syntax.write_text("a = 1\nb = (\n")
    with pytest.raises(ScenarioError, match=r"syntax.py:2: syntax error"):
        load_user(f"{syntax}::a")
    raising = tmp_path / "raising.py"
    raising.write_text("import os\n\nraise RuntimeError('no board')\n")
    with pytest.raises(ScenarioError, match=r"raising.py:3: failed to import: RuntimeError"):
        load_user(f"{raising}::a")


def test_examples_load() -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        module_names = [
            line.split("=")[0].strip()
            for line in path.read_text().splitlines()
            if " = Scenario(" in line
        ]
        assert module_names, path
        for name in module_names:
            assert isinstance(load_user(f"{path}::{name}"), Scenario)


def test_builtin_registry() -> None:
    names = [s.name for s in builtin()]
    assert names == sorted(names)
    with pytest.raises(ScenarioError, match="no built-in scenario 'no-such'"):
        get("no-such")
    extra = Scenario("zz-test-extra", "registered by a test", lambda options: None)  # type: ignore[arg-type,return-value]
    register(extra)
    assert get("zz-test-extra") is extra

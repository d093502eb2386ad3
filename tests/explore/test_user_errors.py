"""A mistake in the user's scenario is an error naming the file and line (exit 2), never a
violation: a set-up that raises or quietly fails, an invariant that raises, a `yield` of
something that is not an operation, a driver call made without `yield from`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.explore import UsageError, explore

runner = CliRunner(env={"COLUMNS": "200"})  # long paths must not wrap what tests read

HEADER = """\
from sdei.firmware import Platform
from sdei.machine import Access, Invariant, Machine, MachineConfig
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SOFTWARE_EVENT, boot, registering


def board(options):
    return Machine(MachineConfig(Platform.reference(2)))
"""

CASES = {
    "setup_raises": (
        """
        def build(options):
            machine = board(options)
            machine.shared["table"] = {}
            machine.shared["table"]["missing"] += 1  # MARK
            return machine
        """,
        "KeyError",
    ),
    "invariant_raises": (
        """
        def build(options):
            machine = board(options)

            def worker(pe):
                yield Access("x")

            machine.spawn(0, worker)
            machine.add_invariant(Invariant("bad", lambda m: m.shared["nope"]))  # MARK
            machine.end_setup()
            return machine
        """,
        "invariant 'bad' raised KeyError",
    ),
    "yields_a_number": (
        """
        def build(options):
            machine = board(options)

            def worker(pe):
                yield Access("x")
                yield 5  # MARK

            machine.spawn(0, worker)
            machine.end_setup()
            return machine
        """,
        "yielded 5, which is not an operation",
    ),
    "thread_raises": (
        """
        def build(options):
            machine = board(options)

            def worker(pe):
                yield Access("x")
                {}["missing"]  # MARK

            machine.spawn(0, worker)
            machine.end_setup()
            return machine
        """,
        "KeyError",
    ),
    "call_without_yield_from": (
        """
        def build(options):
            booted = boot(era=options.era, cpus=2)
            linux = booted.linux

            def worker(pe):
                yield Access("x")
                linux.driver.register(pe, SOFTWARE_EVENT, None)  # MARK

            booted.spawn(1, worker, "worker")
            return booted.machine
        """,
        "sdei_event_register(...) was called but never run: call it with `yield from`",
    ),
    "yields_a_call": (
        """
        def build(options):
            booted = boot(era=options.era, cpus=2)
            linux = booted.linux

            def worker(pe):
                yield linux.driver.register(pe, SOFTWARE_EVENT, None)  # MARK

            booted.spawn(1, worker, "worker")
            return booted.machine
        """,
        "yielded a generator: call it with `yield from`",
    ),
    "registers_a_missing_event": (
        """
        def build(options):
            booted = boot(era=options.era, cpus=2, setup=registering(0x1234))  # MARK
            return booted.machine
        """,
        "registering(0x1234): sdei_event_register returned EINVAL",
    ),
}


def _write(tmp_path: Path, name: str, body: str) -> tuple[str, int]:
    source = HEADER + textwrap.dedent(body) + f'\n{name} = Scenario("{name}", "", build)\n'
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "# MARK" in text)
    return f"{path}::{name}", line


@pytest.mark.parametrize("name", sorted(CASES))
def test_mistake_is_an_error_naming_the_line(tmp_path: Path, name: str) -> None:
    body, message = CASES[name]
    spec, line = _write(tmp_path, name, body)
    path = spec.partition("::")[0]
    for strategy in ("dfs", "random"):
        result = runner.invoke(
            app, ["explore", spec, "--strategy", strategy, "--jobs", "1", "--executions", "20"]
        )
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())  # rich wraps long lines
        assert text.startswith("error: "), text
        assert f"{path}:{line}" in text.replace(" ", ""), text
        assert message in text, text
        assert "Traceback" not in result.output and "VIOLATION" not in result.output
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        explore(spec, strategy="dfs", jobs=2, warm_up=False, executions=20)


def test_a_failed_assert_is_still_a_violation(tmp_path: Path) -> None:
    spec, _ = _write(
        tmp_path,
        "asserts",
        """
        def build(options):
            machine = board(options)

            def worker(pe):
                yield Access("x")
                assert False, "the scenario's own check"  # MARK

            machine.spawn(0, worker)
            machine.end_setup()
            return machine
        """,
    )
    result = runner.invoke(app, ["explore", spec, "--jobs", "1", "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "assertion" in result.output and "the scenario's own check" in result.output


@pytest.mark.parametrize(
    ("needs", "message"),
    [
        ('("ghes",)', "needs names 'ghes', not a kernel feature"),
        ('"ghes_helpers"', "needs names 'ghes_helpers', not a kernel feature (a tuple of"),
    ],
)
def test_a_mistaken_needs_is_an_error(tmp_path: Path, needs: str, message: str) -> None:
    """`Scenario.needs` names kernel features: a typo or a bare string is the user's mistake,
    one line and exit 2, not a traceback."""
    source = HEADER + textwrap.dedent(
        f"""
        def build(options):
            return board(options)


        oops = Scenario("oops", "", build, needs={needs})
        """
    )
    path = tmp_path / "oops.py"
    path.write_text(source)
    result = runner.invoke(app, ["explore", f"{path}::oops", "--executions", "5"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output

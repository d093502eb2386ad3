"""The `sdei` command: version, abi, demo, and how it treats bad input."""

from __future__ import annotations

from typer.testing import CliRunner

from sdei import __version__, accel
from sdei.abi import Function, Status
from sdei.cli import app
from sdei.scenarios.abi_walk import Step, abi_walk

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # keep rich from wrapping the lines the tests look for


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.output


def test_version() -> None:
    code, out = invoke("--version")
    assert code == 0
    assert out.strip() == f"sdei {__version__} (compiled hot paths {accel.status()})"
    assert accel.status().startswith(("on: ", "off: "))


def test_help_lists_commands() -> None:
    code, out = invoke("--help")
    assert code == 0
    assert "abi" in out and "demo" in out


def test_abi_lists_every_function_with_its_id() -> None:
    code, out = invoke("abi")
    assert code == 0
    for function in Function:
        assert function.name in out
        assert f"{int(function):#010x}" in out
    assert len(Function) == 19
    for status in Status:
        assert status.name in out


def test_abi_states_prints_the_permitted_call_table() -> None:
    code, out = invoke("abi", "--states", "--diagram")
    assert code == 0
    assert "Permitted calls per event state" in out
    assert "PENDING" in out  # UNREGISTER in the unregister-pending state
    assert "stateDiagram-v2" in out


def test_walk_shows_the_key_results() -> None:
    code, out = invoke("walk")
    assert code == 0, out
    for expected in (
        "v1.1, vendor 0x0",
        "bind slots: 3 shared, 3 private",
        "EVENT_SIGNAL(0x0, 0x0)",
        "INTERRUPT_BIND(0x17)",
        "event 0x40000100",  # the PPI's private bound event
        "event 0x40000200",  # the SPI's shared bound event
        "EVENT_UNREGISTER(0x40000011)",
        "PENDING",
        "0b100 handler-unregister-pending",
        "critical handler at 0x80084000",
        "masked by this call",
        "was already masked",
        "PRIVATE_RESET()",
        "SHARED_RESET()",
    ):
        assert expected in out, expected
    assert "Traceback" not in out


def test_walk_tfa_profile() -> None:
    code, out = invoke("walk", "--profile", "tfa")
    assert code == 0, out
    assert "v1.0, vendor 0x0" in out
    assert "event 0x3e8 (1000)" in out
    assert "event 0x7d0 (2000)" in out


def test_walk_is_deterministic() -> None:
    assert invoke("walk") == invoke("walk")


def test_bad_option_value_is_a_usage_error() -> None:
    code, out = invoke("walk", "--profile", "bogus")
    assert code == 2
    assert "bogus" in out
    assert "Traceback" not in out


def test_unknown_option_is_a_usage_error() -> None:
    code, out = invoke("abi", "--nope")
    assert code == 2
    assert "Traceback" not in out


def test_unknown_command_is_a_usage_error() -> None:
    code, out = invoke("frobnicate")
    assert code == 2
    assert "Traceback" not in out


def _find(steps: tuple[Step, ...], function: Function, *args: int) -> list[Step]:
    return [s for s in steps if s.function is function and s.args[: len(args)] == args]


def test_walk_results() -> None:
    walk = abi_walk()
    steps = walk.steps
    called = {s.function for s in steps if s.function is not None}
    assert called == set(Function) - {Function.EVENT_COMPLETE_AND_RESUME}
    assert [s.value for s in _find(steps, Function.EVENT_UNREGISTER, 0x4000_0011)] == [
        Status.PENDING,
        Status.PENDING,
    ]
    assert [s.value for s in _find(steps, Function.PE_MASK) if s.pe == 0] == [1, 0]
    routing = _find(steps, Function.EVENT_ROUTING_SET)
    assert [s.value for s in routing] == [Status.DENIED, Status.SUCCESS]
    contexts = _find(steps, Function.EVENT_CONTEXT)
    assert [s.value for s in contexts[:4]] == [0x1111, 0x2222, 0x3333, 0x4444]
    errors = [s for s in steps if s.error]
    assert all(s.value is not None and s.value < 0 for s in errors)
    assert any(s.hardware and "critical handler" in s.result for s in steps)


def test_walk_is_data_and_deterministic() -> None:
    assert abi_walk("spec") == abi_walk("spec")
    assert abi_walk("tfa") != abi_walk("spec")

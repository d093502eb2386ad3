"""`sdei scenarios`, `sdei explore` and `sdei replay`: output and exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app

from .toys import ABBA, LOST_UPDATE, ORDERED

runner = CliRunner(env={"COLUMNS": "200"})  # long paths must not wrap what tests read


def test_scenarios_lists_builtins() -> None:
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    assert "scenario" in result.output


def test_explore_finds_and_writes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["explore", ABBA, "--jobs", "1", "--out", str(out), "--seed", "4", "--budget", "10"]
    )
    assert result.exit_code == 1, result.output
    assert "VIOLATION" in result.output and "deadlock" in result.output
    assert "strategy auto" in result.output and "seed 4" in result.output
    assert "PE0" in result.output
    replays = list(out.glob("*.replay.json"))
    assert len(replays) == 1 and list(out.glob("*.pftrace"))
    again = runner.invoke(app, ["replay", str(replays[0])])
    assert again.exit_code == 1, again.output
    assert "reproduced" in again.output
    data = json.loads(replays[0].read_text())
    data["choices"][0] = 7
    replays[0].write_text(json.dumps(data))
    tampered = runner.invoke(app, ["replay", str(replays[0])])
    assert tampered.exit_code == 2
    assert "diverged at choice 0" in tampered.output


def test_explore_complete_exits_zero() -> None:
    result = runner.invoke(app, ["explore", ORDERED, "--strategy", "dfs", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "complete: no violation in 2 executions" in result.output


def test_explore_incomplete_exits_zero_and_says_so() -> None:
    result = runner.invoke(
        app, ["explore", ORDERED, "--strategy", "random", "--executions", "5", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "incomplete: execution budget reached, after 5 executions" in result.output


def test_bad_input_exits_two_with_one_line(tmp_path: Path) -> None:
    cases = [
        ["explore", "no-such-scenario"],
        ["explore", str(tmp_path / "missing.py") + "::x"],
        ["replay", str(tmp_path / "missing.json")],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: "), result.output
        assert "Traceback" not in result.output
    broken = tmp_path / "broken.py"
    broken.write_text("x = (\n")
    result = runner.invoke(app, ["explore", f"{broken}::x"])
    assert result.exit_code == 2 and "broken.py:1: syntax error" in result.output


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    script = "import sys; from sdei.cli import main; sys.argv = ['sdei'] + sys.argv[1:]; main()"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            "explore",
            ORDERED,
            "--strategy",
            "random",
            "--budget",
            "60",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "incomplete: interrupted" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--era", "v1.0"], "--era"),
        (["--strategy", "bfs"], "--strategy"),
        (["--profile", "uefi"], "--profile"),
        (["--reduction", "full"], "--reduction"),
        (["--patch", "no-such-patch"], "--patch"),
        (["--cpus", "0"], "--cpus"),
        (["--pct-depth", "0"], "--pct-depth"),
        (["--preemption-bound", "-1"], "--preemption-bound"),
        (["--jobs", "0"], "--jobs"),
        (["--executions", "0"], "--executions"),
    ],
)
def test_bad_options_name_the_option(args: list[str], option: str) -> None:
    result = runner.invoke(app, ["explore", LOST_UPDATE, *args])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "Traceback" not in result.output


def test_choices_are_listed_in_help() -> None:
    result = runner.invoke(app, ["explore", "--help"])
    assert "[v4-rfc|v4.16|v5.7|v5.8|v6.1|v6.4|v6.6|v6.12|latest|pre-apei-rework]" in result.output
    assert "[auto|dfs|pct|random|swarm]" in result.output
    assert "[dpor|sleep|none]" in result.output and "[spec|tfa]" in result.output


def test_an_unwritable_out_is_refused_before_the_search(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["explore", LOST_UPDATE, "--out", str(blocker / "sub")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: --out {blocker / 'sub'}: cannot write there")
    assert "executions" not in result.output  # no search ran


def test_earlier_files_are_replaced_with_a_word(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["explore", ABBA, "--strategy", "dfs", "--jobs", "1", "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 1 and "replaced an earlier file" not in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 1
    assert second.output.count("(replaced an earlier file)") == 3


def test_nothing_found_leaves_no_out_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["explore", ORDERED, "--strategy", "dfs", "--out", str(out)])
    assert result.exit_code == 0 and not out.exists()


def test_scenarios_fit_80_columns() -> None:
    from sdei.scenarios.registry import builtin

    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    starts = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert {s.name for s in builtin()} <= starts


def test_the_timeline_says_what_set_up_it_leaves_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    found = runner.invoke(app, ["explore", "register-hotplug", "--era", "v4.16", "--out", str(out)])
    assert found.exit_code == 1, found.output
    assert "steps 1-" in found.output and ": set-up (boot" in found.output


def test_dfs_runs_in_one_process_unless_jobs_is_given() -> None:
    default = runner.invoke(
        app, ["explore", "register-hotplug", "--era", "v5.7", "--strategy", "dfs"]
    )
    assert default.exit_code == 0, default.output
    assert "1 job" in default.output and "split" not in default.output
    # Five CPUs: the openings alone do not end it (four CPUs end within them).
    auto = runner.invoke(app, ["explore", "register-hotplug", "--era", "v5.7", "--cpus", "5"])
    assert auto.exit_code == 0, auto.output
    assert "dfs phase in one process" in auto.output
    asked = runner.invoke(
        app,
        [
            *("explore", "register-hotplug", "--era", "v5.7", "--cpus", "5"),
            *("--strategy", "dfs", "--jobs", "2"),
        ],
    )
    assert asked.exit_code == 0, asked.output
    assert "dfs in" in asked.output and "pieces" in asked.output

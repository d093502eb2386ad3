"""The benchmark modules run (with a tiny duration) and measure what they claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench_dispatcher
import run as bench_run
from benchlib import Row, best_rate
from sdei.firmware import PROFILE_NAMES, Dispatcher, Platform


def test_dispatcher_bench_runs() -> None:
    rows = bench_dispatcher.run(duration=0.005, runs=1)
    assert {(r.name, r.profile) for r in rows} == {
        (name, profile)
        for name in ("dispatcher: mixed calls", "dispatcher: event cycles")
        for profile in PROFILE_NAMES
    }
    assert all(r.value > 0 for r in rows)
    mixed = [r for r in rows if r.unit == "calls/s"]
    assert all(r.goal == bench_dispatcher.GOAL_CALLS_PER_SECOND for r in mixed)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_mixed_sequence_is_a_cycle_with_some_errors(profile: str) -> None:
    platform = Platform.reference(bench_dispatcher.PES, profile=profile)
    calls, fails = bench_dispatcher.mixed_sequence(platform)
    share = bench_dispatcher.check_sequence(Dispatcher(platform), calls, fails)
    assert 0.10 <= share <= 0.20
    assert {pe for pe, _, _ in calls} == set(range(platform.pes))


def test_best_rate_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        best_rate(lambda: 1, 0, 1)


def test_row_ratio() -> None:
    assert Row("x", "", 500.0, "calls/s", 1000.0).ratio == 0.5
    assert Row("x", "", 500.0, "calls/s").ratio is None
    # A time goal is a most: 2 s against at most 1.5 s is short of it, 0.5 s is three times it.
    assert Row("x", "", 2.0, "s", 1.5, lower=True).ratio == 0.75
    assert Row("x", "", 0.5, "s", 1.5, lower=True).ratio == 3.0


def test_the_command_row_times_a_real_sdei_explore() -> None:
    import bench_explore

    (row,) = bench_explore.command_rows(runs=1)
    assert row.unit == "s" and 0 < row.value < 60 and row.lower
    assert row.goal == bench_explore.COMMAND_GOAL


def test_the_table_shows_small_figures_and_time_goals() -> None:
    from rich.console import Console

    rows = [
        Row("command", "spec", 0.64, "s", 1.5, lower=True),
        Row("engine", "spec", 120_000.0, "steps/s", 200_000.0),
    ]
    console = Console(width=200, record=True)
    console.print(bench_run.table(rows))
    text = console.export_text()
    assert "0.64 s" in text and "at most 1.5" in text and "2.34x" in text
    assert "120,000 steps/s" in text and "0.60x" in text


def test_run_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "latest.json"
    argv = ["--duration", "0.005", "--runs", "1", "--only", "dispatcher", "--output", str(out)]
    assert bench_run.main(argv) == 0
    assert "calls/s" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["crashed"] == []
    assert len(report["rows"]) == 4


def test_a_piped_table_keeps_its_figures_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped to a file or a CI log, long names do not cut the figures off."""
    long = Row("time to bug: ghes-error-during-offline (v6.1), a long name", "spec", 2.65, "s")
    monkeypatch.setattr(bench_run, "SUITES", {"fake": lambda duration, runs: [long]})
    monkeypatch.setenv("COLUMNS", "80")
    assert bench_run.main(["--output", str(tmp_path / "out.json")]) == 0
    printed = capsys.readouterr().out
    assert "2.65 s" in printed and long.name in printed


PAN_REPORT = """
(Spin Version 6.5.2 -- 6 December 2019)
State-vector 48 byte, depth reached 53, errors: 0
      258 states, stored
      142 states, matched
"""


def test_the_spin_table_reads_pan_and_says_when_spin_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench_spin

    assert bench_spin.parse_pan(PAN_REPORT) == (258, 0)
    with pytest.raises(ValueError):
        bench_spin.parse_pan("pan: out of memory")
    monkeypatch.setattr(bench_spin, "MODELS", tmp_path)  # no model there
    rows = bench_spin.rows(range(3, 4), corner=())
    assert "SPIN not run: no SPIN model" in rows[0].detail
    ours = [r for r in rows if r.name.endswith(": sdei")]
    assert [r.detail.split(", ")[1] for r in ours] == ["complete", "violation"]

"""Every strategy finds the toy bugs; runs are seeded and reproducible; reports say enough."""

from __future__ import annotations

import pytest

from sdei.explore import STRATEGIES, explore

from .toys import BUGGY, LOCKED_UPDATE, LOST_UPDATE, ORDERED


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("scenario", "invariant"), BUGGY)
def test_every_strategy_finds_the_bug(strategy: str, scenario: str, invariant: str) -> None:
    report = explore(scenario, strategy=strategy, seed=1, budget=10)
    assert report.counterexample is not None, report.status()
    assert report.counterexample.violation.invariant == invariant
    assert report.counterexample.strategy == strategy
    assert report.status().startswith("VIOLATION")
    assert report.counterexample.seed == 1


@pytest.mark.parametrize("strategy", ["random", "pct", "swarm"])
def test_same_seed_same_result(strategy: str) -> None:
    runs = [
        explore(LOST_UPDATE, strategy=strategy, seed=7, budget=10, shrink=False) for _ in range(2)
    ]
    a, b = (r.counterexample for r in runs)
    assert a is not None and b is not None
    assert runs[0].executions == runs[1].executions
    assert (a.choices, a.run_seed, a.violation) == (b.choices, b.run_seed, b.violation)


def test_different_seeds_differ() -> None:
    found = {
        explore(
            LOST_UPDATE, strategy="random", seed=s, budget=10, shrink=False
        ).counterexample.run_seed  # type: ignore[union-attr]
        for s in range(4)
    }
    assert len(found) > 1


def test_budget_cut_is_loud() -> None:
    report = explore(LOCKED_UPDATE, strategy="random", executions=25)
    assert report.counterexample is None
    assert report.cut == "executions"
    assert report.executions == 25
    assert report.status().startswith("incomplete: execution budget reached, after 25 executions")
    assert "seed 0" in report.header() and "random" in report.header()


def test_time_budget_cut() -> None:
    report = explore(ORDERED, strategy="pct", budget=0.2)
    assert report.cut == "time"
    assert report.status().startswith("incomplete: time budget reached, after")


def test_stop_flag_interrupts() -> None:
    import threading

    stop = threading.Event()
    stop.set()
    report = explore(ORDERED, strategy="random", budget=5, stop=stop)
    assert report.cut == "interrupted"
    assert report.status().startswith("incomplete: interrupted, after 0 executions")


def test_auto_on_a_correct_scenario_completes() -> None:
    report = explore(ORDERED, strategy="auto", budget=10)
    assert report.complete and report.counterexample is None
    assert report.status().startswith("complete")


def test_step_limit_is_reported() -> None:
    report = explore(ORDERED, strategy="dfs", max_steps=3)
    assert report.step_limit_hits > 0
    assert not report.found
    assert report.status().startswith("incomplete:")
    assert "step limit" in report.status()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "bfs"}, "unknown strategy"),
        ({"era": "v9.9"}, "unknown era"),
        ({"profile": "uefi"}, "unknown profile"),
        ({"jobs": 0}, "--jobs"),
        ({"budget": -1.0}, "--budget"),
        ({"reduction": "magic"}, "unknown reduction"),
    ],
)
def test_bad_requests(kwargs: dict[str, object], message: str) -> None:
    from sdei.explore import UsageError

    with pytest.raises(UsageError, match=message):
        explore(LOST_UPDATE, **kwargs)  # type: ignore[arg-type]

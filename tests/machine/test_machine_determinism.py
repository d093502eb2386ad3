"""One place for all nondeterminism: the same seed gives the same run, a recorded choice list
replays it step for step, and a replay that cannot be followed says where it diverged."""

from __future__ import annotations

import pytest
from helpers import EVENT_0, RAS, RAS_SPI, Kernel, make_machine

from sdei.abi import Function
from sdei.machine import (
    PE,
    AssertInterrupt,
    Divergence,
    Local,
    Machine,
    ReplayChooser,
    RunResult,
    Smc,
)
from sdei.machine.contexts import Code
from sdei.trace import Record, Recorder

F = Function


def _workload(pes: int = 4, rounds: int = 4) -> tuple[Machine, Recorder]:
    """Every PE signals the next one `rounds` times; PE0 also raises RAS twice (RM_ANY)."""
    m = make_machine(pes)
    k = Kernel(m).load()
    recorder = Recorder(m)

    def cpu(pe: PE, target: int) -> Code:
        yield from k.register(EVENT_0)
        if pe.index == 0:
            yield from k.register(RAS)
        yield from k.unmask()
        for n in range(rounds):
            assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[target].mpidr)) == 0
            if pe.index == 0 and n < 2:
                yield AssertInterrupt(RAS_SPI)
            yield Local("work")

    for i in range(pes):
        m.spawn(i, cpu, (i + 1) % pes)
    return m, recorder


def _run(seed: int | None = None, **kwargs: object) -> tuple[RunResult, list[Record]]:
    m, recorder = _workload()
    result = m.run(seed=seed, **kwargs)  # type: ignore[arg-type]
    assert result.ok, result.violation
    return result, recorder.records


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_same_seed_same_run(seed: int) -> None:
    first, records = _run(seed)
    second, again = _run(seed)
    assert first.choices == second.choices and first.kinds == second.kinds
    assert first.steps == second.steps
    assert records == again
    assert any(r.kind == "deliver" for r in records)


def test_default_chooser_is_deterministic() -> None:
    first, records = _run()
    second, again = _run()
    assert (first.choices, records) == (second.choices, again)


def test_different_seeds_explore_different_runs() -> None:
    runs = {_run(seed)[0].choices for seed in range(6)}
    assert len(runs) == 6


@pytest.mark.parametrize("seed", [3, 99])
def test_replaying_choices_reproduces_the_run_step_for_step(seed: int) -> None:
    original, records = _run(seed)
    replay, again = _run(choices=original.choices)
    assert replay.choices == original.choices
    assert replay.steps == original.steps
    assert again == records


def test_replay_with_an_impossible_choice_diverges_and_says_where() -> None:
    original, _ = _run(5)
    position = len(original.choices) // 2
    corrupted = list(original.choices)
    corrupted[position] = 10_000
    m, _ = _workload()
    with pytest.raises(Divergence) as info:
        m.run(choices=corrupted)
    assert info.value.position == position
    assert f"choice {position}" in str(info.value) and "10000" in str(info.value)
    assert info.value.kind == original.kinds[position]


def test_replay_that_runs_out_of_choices_diverges() -> None:
    original, _ = _run(5)
    m, _ = _workload()
    with pytest.raises(Divergence) as info:
        m.run(choices=original.choices[:10])
    assert info.value.position == 10
    assert "no choice left" in str(info.value)


def test_replay_prefix_then_fallback_chooser_completes() -> None:
    """ReplayChooser(then=...) replays a prefix and continues with another chooser."""
    original, records = _run(5)
    prefix = original.choices[:20]
    m, recorder = _workload()
    result = m.run(ReplayChooser(prefix, then=ReplayChooser(original.choices[20:])))
    assert result.choices == original.choices
    assert recorder.records == records


def test_replay_with_leftover_choices_diverges() -> None:
    original, _ = _run(5)
    m, _ = _workload()
    with pytest.raises(Divergence):
        m.run(choices=(*original.choices, 0, 0, 0))

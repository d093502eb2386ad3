"""The stateful dfs (`--states`): fingerprints that tell states apart, and a search that
never searches a state twice yet reaches every final state the plain search reaches."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import pytest

from sdei.explore import dfs, explore
from sdei.explore.budget import Budget
from sdei.explore.dfs import DfsSearch
from sdei.explore.execution import Execution
from sdei.explore.fingerprint import Walk, fingerprint
from sdei.explore.target import Target
from sdei.machine import Machine
from sdei.scenarios.api import Options
from sdei.scenarios.registry import get

from .randprog import build_program, longer_program, random_program


def _machine(name: str = "register-hotplug", era: str = "v5.7") -> Machine:
    return Target.make(get(name), era=era).build(Options(era=era))


def test_equal_states_built_apart_have_equal_fingerprints() -> None:
    walk = Walk()
    walk.walk(_machine())
    assert walk.opaque == 0  # else no state of it could ever match another
    assert fingerprint(_machine()) == fingerprint(_machine())
    assert fingerprint(_machine(era="v5.7")) != fingerprint(_machine(era="v4.16"))


def test_what_only_records_the_past_is_left_out_and_state_is_not() -> None:
    machine = _machine()
    before = fingerprint(machine)
    machine.step_count += 40  # history: when, not what
    machine.choices.append(1)
    assert fingerprint(machine) == before
    machine.shared["x"] = 1  # state
    assert fingerprint(machine) != before
    del machine.shared["x"]
    machine.firmware.power_off(1)
    assert fingerprint(machine) != before


class _Holder:
    def __init__(self, gen: Generator[Any, Any, Any]) -> None:
        self.gen = gen


def _loop(items: list[int]) -> Generator[int, None, None]:
    for item in items:  # noqa: UP028 - the loop's iterator is the point
        yield item


def _branches(flag: bool) -> Generator[int, None, None]:
    if flag:
        a = 1  # noqa: F841 - only its being set differs
    else:
        b = 1  # noqa: F841
    yield 0


def test_a_generators_evaluation_stack_is_part_of_its_state() -> None:
    """Same instruction, same locals; only the position of the `for` loop's iterator (on the
    evaluation stack, not in the locals) differs."""
    first, second = _loop([7, 7, 7]), _loop([7, 7, 7])
    next(first)
    next(second)
    assert fingerprint(_Holder(first)) == fingerprint(_Holder(second))
    next(second)
    assert fingerprint(_Holder(first)) != fingerprint(_Holder(second))


def test_which_locals_are_set_is_part_of_a_generators_state() -> None:
    one, other = _branches(True), _branches(False)
    next(one)
    next(other)
    assert fingerprint(_Holder(one)) != fingerprint(_Holder(other))


def test_an_object_it_cannot_see_inside_is_never_matched() -> None:
    import threading

    assert fingerprint(_Holder(threading.Lock())) != fingerprint(_Holder(threading.Lock()))  # type: ignore[arg-type]


def _outcomes(
    target: Target, reduction: str, states: bool, search: DfsSearch | None = None
) -> tuple[set[object], int, int]:
    seen: set[object] = set()

    def visit(machine: Machine, execution: Execution) -> None:
        if execution.status == "pruned":
            return
        if execution.violation is not None:
            seen.add(execution.violation.invariant)
        else:
            firmware = tuple(
                (machine.firmware.is_masked(pe), machine.firmware.call(pe, 0xC400_0028, 0))
                for pe in range(len(machine.pes))
            )
            seen.add((tuple(sorted(machine.shared.items())), firmware))

    if search is None:
        search = DfsSearch(target, reduction=reduction, states=states)
    result = search.run(Budget(60, 3000), visit=visit)
    assert result.complete, (reduction, states)
    return seen, result.executions, result.pruned


def test_stateful_search_reaches_the_same_final_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """Differential check on random programs: with states kept, every reduction reaches the
    final states (and violations) of the plain search without reduction, in no more
    executions. Every state is kept here (SAMPLE 1), to exercise the matching as much as
    these small programs can (DPOR leaves them few states to meet twice: that states end
    executions shows on the scenarios below)."""
    monkeypatch.setattr(dfs, "SAMPLE", 1)
    checked = 0
    totals = {"dpor": 0, "dpor+states": 0}
    for seed in range(60):
        scenario = build_program(random_program(random.Random(seed)))
        target = Target(scenario, "", Options(), 500)
        try:
            base, _, _ = _outcomes(target, "none", False)
        except AssertionError:
            continue  # too big for the unreduced search here
        checked += 1
        for reduction in ("none", "sleep", "dpor"):
            got, executions, _ = _outcomes(target, reduction, True)
            assert got == base, (seed, reduction, base - got)
            if reduction == "dpor":
                totals["dpor+states"] += executions
        totals["dpor"] += _outcomes(target, "dpor", False)[1]
    assert checked >= 25
    assert totals["dpor+states"] <= totals["dpor"]


def test_a_state_met_again_stands_for_what_its_search_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Longer random programs whose writes converge (a write stores 1, an update adds 1), so
    that orders which differ meet one state: a run that meets a searched state ends there,
    and what that state's search did (its summary) must still race with the run's own steps.
    Stateful DPOR reaches every final state and violation stateless DPOR reaches. Program 14
    (plain) is one where a search that forgets the summaries misses four final states, and
    one that leaves out of a summary every access to a resource the subtree touched before
    (not only wrote) misses one."""
    monkeypatch.setattr(dfs, "SAMPLE", 1)
    met = 0
    for seed in (11, 12, 13, 14, 15, 18):
        target = Target(build_program(longer_program(seed, 3, converging=True)), "", Options(), 500)
        base, plain, _ = _outcomes(target, "dpor", False)
        got, stateful, pruned = _outcomes(target, "dpor", True)
        assert got == base, (seed, base - got)
        assert stateful <= plain
        met += pruned
    assert met > 0  # the programs do meet states again


def test_states_dropped_part_way_leave_every_final_state_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stateful search that drops its states (`dfs.Tally`) goes on as a stateless one:
    the branches its summaries scheduled stay scheduled, and every subtree after is searched
    again. Here the states are dropped at the first check after a summary scheduled a branch,
    part-way through the converging programs' searches: every final state and violation of
    stateless DPOR is still reached."""
    monkeypatch.setattr(dfs, "SAMPLE", 1)
    monkeypatch.setattr(dfs, "CHECK_FROM", 0)
    monkeypatch.setattr(dfs, "CHECK_EVERY", 2)
    monkeypatch.setattr(dfs, "MIN_SPENT", 1)
    monkeypatch.setattr(dfs, "PAYS", 10**9)
    dropped = 0
    for seed in (11, 12, 13, 14, 15, 18):
        target = Target(build_program(longer_program(seed, 3, converging=True)), "", Options(), 500)
        base, _, _ = _outcomes(target, "dpor", False)
        search = DfsSearch(target, states=True)
        got, _, _ = _outcomes(target, "dpor", True, search)
        assert got == base, (seed, base - got)
        dropped += search.tally.dropped is not None
    assert dropped >= 3  # the programs do drop their states part-way


def test_a_search_drops_states_that_do_not_pay(monkeypatch: pytest.MonkeyPatch) -> None:
    """B7 at three CPUs with three callers: states met again save fewer executions than the
    branches their summaries schedule take, so the search drops them and says so, and runs
    fewer executions than one that keeps them, with the same verdict. The choice is made on
    counts, not time: the same every run."""
    run = {"era": "v5.7", "strategy": "dfs", "params": {"callers": 3}, "shrink": False}
    adaptive = explore("register-hotplug", **run)  # type: ignore[arg-type]
    assert adaptive.verdict == "complete"
    assert any(note.startswith("states dropped after 512 executions") for note in adaptive.notes)
    again = explore("register-hotplug", **run)  # type: ignore[arg-type]
    assert (again.executions, again.notes) == (adaptive.executions, adaptive.notes)
    monkeypatch.setattr(dfs, "PAYS", 0)  # states always pay: kept to the end
    kept = explore("register-hotplug", **run)  # type: ignore[arg-type]
    assert kept.verdict == "complete" and not any("dropped" in note for note in kept.notes)
    assert adaptive.executions < kept.executions


def test_stateful_dfs_proves_and_finds_as_the_plain_one_does() -> None:
    # Five CPUs: more than the stateless openings take (four CPUs end within them). With one
    # state in four kept, the states met again save executions here (288 against 624).
    plain = explore("register-hotplug", era="v5.7", strategy="dfs", states=False, cpus=5)
    stateful = explore("register-hotplug", era="v5.7", strategy="dfs", cpus=5)
    assert plain.verdict == stateful.verdict == "complete"
    assert stateful.executions < plain.executions
    assert stateful.states > 0
    assert f"{stateful.states} states" in stateful.status()
    found = explore("register-hotplug", era="v4.16", strategy="dfs", states=True, shrink=False)
    assert found.found
    assert found.counterexample is not None
    assert get("register-hotplug").accepts(found.counterexample.violation.invariant)


def test_the_command_line_keeps_states_by_default_and_can_drop_them() -> None:
    from typer.testing import CliRunner

    from sdei.cli import app

    runner = CliRunner(env={"COLUMNS": "200"})
    base = [
        *("explore", "register-hotplug", "--era", "v5.7", "--cpus", "5"),
        *("--strategy", "dfs", "--jobs", "1"),
    ]
    stateful = runner.invoke(app, base)
    assert stateful.exit_code == 0, stateful.output
    assert "complete: no violation" in stateful.output
    assert "states)" in stateful.output
    assert "sleep sets or a state searched before" in stateful.output
    plain = runner.invoke(app, [*base, "--no-states"])
    assert plain.exit_code == 0, plain.output
    assert "complete: no violation" in plain.output
    assert "states)" not in plain.output


class _Value:
    def __init__(self, value: object) -> None:
        self.value = value


def test_values_hash_would_confuse_are_told_apart() -> None:
    """hash(-1) == hash(-2) and hash(True) == hash(1) == hash(1.0): SDEI's NOT_SUPPORTED and
    INVALID_PARAMETERS must not be one state."""
    for one, other in ((-1, -2), (True, 1), (1, 1.0), ("1", 1), ((1, 2), [1, 2])):
        assert fingerprint(_Value(one)) != fingerprint(_Value(other)), (one, other)
    assert fingerprint(_Value(-1)) == fingerprint(_Value(-1))


def _two_copying_loops(options: Options) -> Machine:
    """Two threads each loop over a copy of one list (held only by the loop's iterator) while
    a third writes the list: whether a copy was taken before or after the write must stay
    part of the state (found by an audit: the walk's own temporaries once shared an id())."""
    from sdei.firmware import Platform
    from sdei.machine import Access, Invariant, Local, MachineConfig, WaitUntil

    m = Machine(MachineConfig(Platform.reference(4)))
    box = [1, 2, 3]

    def first(pe: object) -> Generator[Any, Any, None]:
        yield Local()
        yield Local()
        yield Access("box", write=False)
        total = 0
        for item in list(box):
            total += item
            yield WaitUntil(lambda: "b" in m.shared, reads=("b",))
        m.shared["a"] = total

    def second(pe: object) -> Generator[Any, Any, None]:
        yield Local()
        yield Local()
        yield Local()
        yield Access("box", write=False)
        total = 0
        for item in list(box):
            total += item
            yield WaitUntil(lambda: box[1] == 9, reads=("box",))
        yield Access("b", write=True)
        m.shared["b"] = total

    def writer(pe: object) -> Generator[Any, Any, None]:
        yield Local()
        yield Access("box", write=True)
        box[1:] = [9, 9]

    def noise(pe: object) -> Generator[Any, Any, None]:
        return
        yield

    m.spawn(3, noise, name="noise")
    m.spawn(0, first, name="first")
    m.spawn(1, second, name="second")
    m.spawn(2, writer, name="writer")

    def check(machine: Machine) -> str | None:
        both = (machine.shared.get("a"), machine.shared.get("b")) == (19, 19)
        return "both loops read the box after the write" if both else None

    m.add_invariant(Invariant("both-after-write", check, at_quiescence_only=True))
    m.end_setup()
    return m


def test_the_walks_own_temporaries_never_pass_for_shared_objects() -> None:
    from sdei.scenarios.api import Scenario

    scenario = Scenario("two-copying-loops", "id() reuse", _two_copying_loops, max_steps=200)
    for states in (False, True):
        target = Target(scenario, "", Options(), 200)
        result = DfsSearch(target, states=states).run(Budget(60, 5000))
        assert result.found is not None, states
        assert result.found.violation is not None
        assert result.found.violation.invariant == "both-after-write"

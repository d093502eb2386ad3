"""Systematic search: complete with exact counts, reductions that reduce, and that stay sound
(the same final states as no reduction on random programs)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from sdei.abi import Function
from sdei.explore import explore
from sdei.explore.budget import Budget
from sdei.explore.dfs import DfsSearch
from sdei.explore.execution import Execution
from sdei.explore.target import Target
from sdei.firmware import Platform
from sdei.kernel.core import EIO
from sdei.machine import (
    Access,
    AssertInterrupt,
    IrqRestore,
    IrqSave,
    Local,
    Machine,
    MachineConfig,
    Preempt,
    SendIpi,
    Spawn,
    WaitUntil,
)
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import boot

from .randprog import PPI, Program, build_program, random_program
from .toys import (
    ABBA,
    HANDLER_LOCK,
    INDEPENDENT,
    LOCKED_UPDATE,
    LOST_UPDATE,
    MASKED_LOCK,
    ORDERED,
)

BUDGET_SECONDS, BUDGET_RUNS = 30, 250

# Executions a complete dfs takes, per reduction (none, sleep, dpor): stateless, and with
# states kept (the default; a state reached again ends the execution).
# A thread begins at its first operation: two CPUs taking one lock first thing run in two
# orders (which takes it first), and nothing else can come between; two CPUs of two
# independent steps each interleave in 4! / (2! 2!) = 6 ways, 3 up to the sleep sets, 1 for
# DPOR.
COUNTS = {
    LOCKED_UPDATE: ((2, 2, 2), (2, 2, 2)),
    INDEPENDENT: ((6, 3, 1), (6, 3, 1)),
    ORDERED: ((2, 2, 2), (2, 2, 2)),
    MASKED_LOCK: ((9, 9, 4), (9, 9, 4)),
}


@pytest.mark.parametrize("states", [False, True])
@pytest.mark.parametrize("scenario", list(COUNTS))
def test_complete_with_exact_counts(scenario: str, states: bool) -> None:
    counts = COUNTS[scenario][states]
    for reduction, expected in zip(("none", "sleep", "dpor"), counts, strict=True):
        report = explore(scenario, strategy="dfs", reduction=reduction, states=states)
        assert report.complete, report.status()
        assert report.executions == expected, (reduction, report.executions)
        assert report.status().startswith(f"complete: no violation in {expected} execution")


def test_reduction_strictly_fewer_on_independent_cpus() -> None:
    counts = {
        r: explore(INDEPENDENT, strategy="dfs", reduction=r, cpus=3, states=False).executions
        for r in ("none", "sleep", "dpor")
    }
    assert counts["dpor"] < counts["sleep"] < counts["none"]
    assert counts["dpor"] == 1
    assert counts["none"] == 90  # 6! / (2! 2! 2!): two steps a thread


@pytest.mark.parametrize("reduction", ["none", "sleep", "dpor"])
@pytest.mark.parametrize("scenario", [LOST_UPDATE, ABBA, HANDLER_LOCK])
def test_dfs_finds_bugs_with_every_reduction(scenario: str, reduction: str) -> None:
    report = explore(scenario, strategy="dfs", reduction=reduction)
    assert report.found, report.status()


def test_preemption_bound() -> None:
    zero = explore(LOST_UPDATE, strategy="dfs", bound=0)
    assert not zero.found and zero.complete
    assert zero.status().startswith("complete within preemption bound 0")
    assert zero.reduction == "none"
    one = explore(LOST_UPDATE, strategy="dfs", bound=1)
    assert one.found


def _outcomes(
    target: Target, reduction: str, runs: int = BUDGET_RUNS, *, states: bool = False
) -> tuple[set[object], int] | None:
    seen: set[object] = set()

    def visit(machine: Machine, execution: Execution) -> None:
        if execution.status == "pruned":
            return
        if execution.violation is not None:
            seen.add(execution.violation.invariant)  # where a run stops is not canonical
        else:
            firmware = tuple(
                (machine.firmware.is_masked(pe), machine.firmware.call(pe, 0xC400_0028, 0))
                for pe in range(len(machine.pes))
            )  # every PE's mask and EVENT_STATUS of event 0
            seen.add((tuple(sorted(machine.shared.items())), firmware))

    result = DfsSearch(target, reduction=reduction, states=states).run(
        Budget(BUDGET_SECONDS, runs), visit=visit
    )
    return (seen, result.executions) if result.complete else None


def test_reductions_reach_the_same_states_as_none() -> None:
    """Differential check on random programs (shared variables, locks, an SDEI handler that
    may be signalled, several threads per CPU)."""
    checked = 0
    totals = {"none": 0, "sleep": 0, "dpor": 0}
    for seed in range(70):
        scenario = build_program(random_program(random.Random(seed)))
        target = Target(scenario, "", Options(), 500)
        base = _outcomes(target, "none")
        if base is None:
            continue  # too big for the unreduced search here
        checked += 1
        totals["none"] += base[1]
        for reduction in ("sleep", "dpor"):
            got = _outcomes(target, reduction)
            assert got is not None
            assert got[0] == base[0], (seed, reduction, base[0] - got[0])
            totals[reduction] += got[1]
    assert checked >= 25
    assert totals["dpor"] < totals["sleep"] < totals["none"]


def test_an_irq_is_ordered_by_what_its_handler_touches() -> None:
    """Where an IRQ lands among a thread's steps matters only through what they touch (named
    state, or per-CPU data the thread touches with IRQs masked): DPOR reaches every final
    state the unreduced search does on IRQ-heavy programs, with far fewer executions."""
    _against_unreduced([random_program(random.Random(seed), irqs=True) for seed in range(60)])


def _percpu_with_irq(masked: bool) -> Callable[[Options], Machine]:
    """CPU0's thread raises its IRQ, then updates a per-CPU counter in plain code, as the IRQ
    handler does: with IRQs masked around it (Linux's rule), or only preemption off."""

    def build(options: Options) -> Machine:
        machine = Machine(MachineConfig(Platform.reference(1)))
        machine.shared["count"] = 1

        def update(by: int) -> None:
            machine.shared["count"] = machine.shared["count"] * 10 + by

        def thread(pe: PE) -> Code:
            yield AssertInterrupt(PPI, 0)
            if masked:
                was = yield IrqSave()
            else:
                yield Preempt(1)
            yield Local("per-CPU update")
            update(2)
            if masked:
                yield IrqRestore(was)
            else:
                yield Preempt(-1)

        def handler(pe: PE, intid: int) -> Code:
            yield Local("per-CPU update")
            update(3)

        machine.request_irq(PPI, handler)
        machine.gic.enable(PPI, 0)
        machine.spawn(0, thread, name="t")
        machine.end_setup()
        return machine

    return build


def test_per_cpu_data_shared_with_an_irq_handler_is_touched_with_irqs_masked() -> None:
    """The contract the reduction trusts (`sdei.machine.footprints`): with IRQs masked around
    the thread's update both orders are found; with only preemption off - which Linux does
    not allow for data an IRQ handler shares - the handler's place is not explored."""
    masked = Target(Scenario("masked", "", _percpu_with_irq(True)), "", Options(), 100)
    base, got = _outcomes(masked, "none"), _outcomes(masked, "dpor")
    assert base is not None and got is not None
    assert len(base[0]) == 2 and got[0] == base[0]
    unmasked = Target(Scenario("unmasked", "", _percpu_with_irq(False)), "", Options(), 100)
    base, got = _outcomes(unmasked, "none"), _outcomes(unmasked, "dpor")
    assert base is not None and got is not None
    assert len(base[0]) == 2 and len(got[0]) == 1


def _with_irq_handler(
    pes: int, handler: Callable[[PE, int], Code], *threads: tuple[int, Callable[[PE], Code], str]
) -> Machine:
    """A machine whose CPU0 takes the PPI into `handler`, running `threads` (CPU, code, name)."""
    machine = Machine(MachineConfig(Platform.reference(pes)))
    machine.request_irq(PPI, handler)
    machine.gic.enable(PPI, 0)
    for cpu, code, name in threads:
        machine.spawn(cpu, code, name=name)
    machine.end_setup()
    return machine


def _write(machine: Machine, name: str, digit: int) -> Callable[[PE], Code]:
    def write(pe: PE) -> Code:
        yield Access(name)
        machine.shared[name] = machine.shared.get(name, 0) * 10 + digit

    return write


def _raise_irq(pe: PE) -> Code:
    yield AssertInterrupt(PPI, 0)


def _spawned_under_irq(options: Options) -> Machine:
    """CPU1 spawns S on CPU0, whose IRQ handler and S both write x: S can run first only if
    the spawn comes before the IRQ is taken."""

    def handler(pe: PE, intid: int) -> Code:
        yield from _write(machine, "x", 2)(pe)

    def spawner(pe: PE) -> Code:
        yield Spawn(0, _write(machine, "x", 1), name="S")

    machine = _with_irq_handler(2, handler, (0, _raise_irq, "U"), (1, spawner, "P"))
    return machine


def _handler_waits_on_other_cpu(options: Options) -> Machine:
    """T and CPU0's IRQ handler write y; the handler then waits for CPU1, which waits for y:
    T first is a race reversed to before the IRQ's taking, though a later step (CPU1's read)
    also races with T."""

    def handler(pe: PE, intid: int) -> Code:
        yield from _write(machine, "y", 2)(pe)
        yield WaitUntil(lambda: machine.shared.get("flag") == 1, ("flag",), "flag")

    def other(pe: PE) -> Code:
        yield WaitUntil(lambda: bool(machine.shared.get("y")), ("y",), "y set")
        yield from _write(machine, "flag", 1)(pe)

    def thread(pe: PE) -> Code:
        yield from _write(machine, "y", 1)(pe)

    machine = _with_irq_handler(2, handler, (0, _raise_irq, "U"), (0, thread, "T"), (1, other, "P"))
    return machine


def _handler_spins_on_its_thread(options: Options) -> Machine:
    """CPU0's IRQ handler spins (a stable wait) on a flag CPU0's thread sets: a deadlock when
    the IRQ comes first."""

    def handler(pe: PE, intid: int) -> Code:
        yield WaitUntil(lambda: machine.shared.get("flag") == 1, ("flag",), "flag", stable=True)

    def setter(pe: PE) -> Code:
        yield from _write(machine, "flag", 1)(pe)

    machine = _with_irq_handler(2, handler, (0, setter, "t0"), (1, _raise_irq, "t1"))
    return machine


def _masked_for_good(options: Options) -> Machine:
    """CPU0's thread masks IRQs and ends so; CPU1 raises CPU0's IRQ, whose handler runs only
    if it comes first."""

    def handler(pe: PE, intid: int) -> Code:
        yield from _write(machine, "h", 1)(pe)

    def masker(pe: PE) -> Code:
        yield IrqSave()

    machine = _with_irq_handler(2, handler, (0, masker, "t0"), (1, _raise_irq, "t1"))
    return machine


@pytest.mark.parametrize("states", [False, True])
@pytest.mark.parametrize(
    "build",
    [
        _spawned_under_irq,
        _handler_waits_on_other_cpu,
        _handler_spins_on_its_thread,
        _masked_for_good,
    ],
)
def test_what_an_irq_handler_keeps_from_running_is_reordered_before_it(
    build: Callable[[Options], Machine], states: bool
) -> None:
    """A context an IRQ handler keeps from running - a thread spawned under it, a thread whose
    race is with a step taken while the handler waited, a thread a spinning handler waits for
    - can go first only from before the IRQ was taken, and an IRQ left pending under a mask
    for good could have come before the mask: DPOR finds every outcome the unreduced search
    does (four programs from a review, each missed by a first version)."""
    target = Target(Scenario(build.__name__, "", build), "", Options(), 200)
    base = _outcomes(target, "none", runs=1000)
    got = _outcomes(target, "dpor", states=states)
    assert base is not None and got is not None
    assert got[0] == base[0]


def test_a_thread_holding_its_cpu_is_ordered_by_what_its_section_touches() -> None:
    """Threads sharing a CPU, some holding it (preemption or IRQs off) around waits - for a
    flag another thread of the CPU raises, for another CPU's answer to a cross-call: where a
    section begins among the other threads' steps matters only through what it touches,
    unless it may wait on them. DPOR, stateless and stateful, reaches every final state and
    deadlock the unreduced search does, with far fewer executions."""
    programs = [random_program(random.Random(seed), sections=True) for seed in range(45)]
    _against_unreduced(programs, states=(False, True))


def _against_unreduced(programs: list[list[Program]], states: tuple[bool, ...] = (False,)) -> None:
    """DPOR (with and without states, as asked) reaches every final state and violation of
    the unreduced search on each program small enough for it, in far fewer executions."""
    checked = 0
    totals = {"none": 0, "dpor": 0}
    for program in programs:
        target = Target(build_program(program), "", Options(), 500)
        base = _outcomes(target, "none", runs=600)
        if base is None:
            continue  # too big for the unreduced search here
        checked += 1
        totals["none"] += base[1] * len(states)
        for stateful in states:
            got = _outcomes(target, "dpor", states=stateful)
            assert got is not None
            assert got[0] == base[0], (program, stateful, base[0] - got[0])
            totals["dpor"] += got[1]
    assert checked >= 10
    assert totals["dpor"] * 4 < totals["none"]


READS: tuple[Program, Program] = ([("read", "y")], [("read", "x")])  # handlers that only read


@pytest.mark.parametrize(
    ("pes", "threads", "handlers"),
    [
        # CPU0's second thread waits with preemption off for the flag its first raises.
        (1, ([("raise", "fa")], [("pwait", "fa")]), READS),
        # CPU0's third thread waits for the flag its first raises, then raises the one that
        # CPU1's waits for (thread k runs on CPU k % 2).
        (2, ([("raise", "fa")], [("pwait", "fb")], [("pwait", "fa"), ("raise", "fb")]), READS),
        # CPU0's thread takes its CPU and waits once one of two others has raised the flag.
        (1, ([("pwait", "fb")], [("raise", "fb")], [("raise", "fb")]), READS),
        # A review's three, each missed when a section that waited was freed because what it
        # waited for did not come after the steps of the threads it kept out:
        # CPU0 cross-calls CPU1, whose thread waits with IRQs off for what CPU0's other
        # thread raises;
        (2, ([("raise", "fa")], [("irqwait", "fa")], [("xcall", 1, "x")]), READS),
        # each CPU has a thread waiting with preemption off for what the other CPU's second
        # thread raises;
        (2, ([("raise", "fa")], [("pwait", "fa")], [("pwait", "fb")], [("raise", "fb")]), READS),
        # CPU1 holds a spinlock waiting for what CPU0's first thread raises, CPU0's second
        # takes that lock with preemption off.
        (2, ([("raise", "fa")], [("spinwait", "L1", "fa")], [("plocked", "L1", "x")]), READS),
        # A second review's, each missed when what a section's end came after was compared
        # with its taking's order with the letting go added (an IRQ, IPI or SDEI handler's end
        # made the waiting thread's own earlier step come after the flag was raised):
        # CPU0's first thread raises the flag, then its IRQ;
        (1, ([("raise", "fa"), ("ppi", 0)], [("pwait", "fa")]), READS),
        # the IRQ handler raises the flag;
        (1, ([("ppi", 0)], [("pwait", "fa")]), ([("read", "y")], [("raise", "fa")])),
        # the SDEI handler does;
        (1, ([("signal", 0)], [("pwait", "fa")]), ([("raise", "fa")], [("read", "x")])),
        # CPU0's first thread raises the flag, then sends CPU0 an IPI.
        (2, ([("raise", "fa"), ("ipi", 0, "x")], [("read", "x")], [("pwait", "fa")]), READS),
        # A thread spawned onto CPU0 while its other thread holds it (waiting for what the
        # spawned one raises) was never offered: nothing raced with it.
        (2, ([("pwait", "fa")], [("spawn", 0, [("raise", "fa")])]), READS),
    ],
    ids=[
        "waits-for-its-neighbour",
        "waits-through-another-cpu",
        "one-of-two-raises",
        "cross-call-against-irqs-off",
        "sections-on-two-cpus",
        "lock-chain",
        "raise-then-irq",
        "irq-handler-raises",
        "sdei-handler-raises",
        "raise-then-ipi",
        "spawned-into-a-section",
    ],
)
@pytest.mark.parametrize("states", [False, True], ids=["stateless", "stateful"])
def test_a_section_that_waits_on_the_threads_it_keeps_out_is_reordered_before_them(
    pes: int, threads: tuple[Program, ...], handlers: tuple[Program, Program], states: bool
) -> None:
    """A section that waits, begun before a thread of its CPU it keeps out does what it waits
    for, waits for good (a deadlock); begun after, it ends. Programs each missed by an
    earlier version (a taking freed of its order with the CPU's other threads although its
    section waited on one of them; an asleep taking left asleep by a step its section would
    see; a spawned thread ordered after the section's end, not its spawning)."""
    # the SDEI and IRQ handlers' ops; `pes` CPUs, no injected fault
    program = [*threads, *handlers, [("pes", pes, None, False)]]
    target = Target(build_program(program), "", Options(), 500)
    got = _outcomes(target, "dpor", states=states)
    assert got is not None
    assert "deadlock" in got[0]
    base = _outcomes(target, "none", runs=2000)
    if base is not None:  # sections-on-two-cpus takes 8,706 unreduced executions
        assert got[0] == base[0]


def test_an_interrupt_taken_inside_a_section_can_wait_until_the_section_ends() -> None:
    """CPU0's first thread raises its IRQ with preemption off, then waits for x; the second
    cross-calls CPU0, whose answer writes x, and the IRQ handler writes x too. The IRQ, left
    pending, can be taken after the cross-call's section has ended and the first thread has
    read the answer's x: a race of that read with the handler is reversed where the IRQ was
    taken (the section's holder going on first), not only before the section began (a
    review's program, missed when it was)."""
    program: list[Program] = [
        [("pppi", "x", 0), ("waitv", "x")],
        [("xcall", 0, "x")],
        [("read", "y")],
        [("write", "x")],
        [("pes", 1, None, False)],
    ]
    target = Target(build_program(program), "", Options(), 500)
    base = _outcomes(target, "none")
    assert base is not None
    for states in (False, True):
        got = _outcomes(target, "dpor", states=states)
        assert got is not None
        assert got[0] == base[0], (states, base[0] - got[0])


def _two_ipis(options: Options) -> Machine:
    """CPU0 sends an IPI to CPU1 and to CPU2; each callback writes y; CPU1's thread runs on."""
    machine = Machine(MachineConfig(Platform.reference(3)))

    def callback(pe: PE) -> Code:
        yield Access("y", write=True)
        machine.shared["y"] = machine.shared.get("y", 0) * 10 + pe.index

    def sender(pe: PE) -> Code:
        for target in (1, 2):
            yield SendIpi(target, callback, "ipi")

    def bystander(pe: PE) -> Code:
        yield Local("a")
        yield Access("y", write=False)
        machine.shared["seen"] = machine.shared.get("y", 0)

    machine.spawn(0, sender, name="sender")
    machine.spawn(1, bystander, name="bystander")
    machine.end_setup()
    return machine


def test_an_interrupt_is_not_reordered_before_the_step_that_raised_it() -> None:
    """Sending an IPI enables taking it: they are ordered, not a race to reverse (a reversal
    the search cannot schedule would make it try every option there instead)."""
    target = Target(Scenario("two-ipis", "", _two_ipis), "", Options(), 100)
    base = _outcomes(target, "sleep")  # the unreduced search takes 2,156 executions
    got = _outcomes(target, "dpor")
    assert base is not None and got is not None
    assert got[0] == base[0]
    assert got[1] == 9, got[1]  # 15 when each IPI's taking was reversed with its sending


def _either_writer(options: Options) -> Machine:
    """T waits until x or y is set (a wait with two enablers, independent of each other)."""
    machine = Machine(MachineConfig(Platform.reference(3)))
    machine.shared.update(x=0, y=0)

    def waiter(pe: PE) -> Code:
        yield Local("a")
        yield WaitUntil(lambda: bool(machine.shared["x"] or machine.shared["y"]), ("x", "y"))
        machine.shared["seen"] = machine.shared["x"]

    def writer(name: str) -> Callable[[PE], Code]:
        def write(pe: PE) -> Code:
            yield Access(name)
            machine.shared[name] = 1

        return write

    machine.spawn(0, waiter, name="T")
    machine.spawn(1, writer("x"), name="A")
    machine.spawn(2, writer("y"), name="B")
    machine.end_setup()
    return machine


def _switch_unmasks(options: Options) -> Machine:
    """One CPU: u masks IRQs, raises one and ends; whichever thread runs next unmasks them
    (its own saved PSTATE), so the IRQ can come before t1's write of the slot it shares with
    the IRQ handler (named, as the contract asks of IRQ-shared data) or after it."""
    machine = Machine(MachineConfig(Platform.reference(1)))
    machine.shared["slot"] = 0

    def masker(pe: PE) -> Code:
        yield IrqSave()
        yield AssertInterrupt(PPI, 0)

    def first(pe: PE) -> Code:
        yield Access("slot")
        machine.shared["slot"] = machine.shared["slot"] * 10 + 1

    def other(pe: PE) -> Code:
        yield Local("other")

    def handler(pe: PE, intid: int) -> Code:
        yield Access("slot")
        machine.shared["slot"] = machine.shared["slot"] * 10 + 2

    machine.request_irq(PPI, handler)
    machine.gic.enable(PPI, 0)
    machine.spawn(0, masker, name="u")
    machine.spawn(0, first, name="t1")
    machine.spawn(0, other, name="t2")
    machine.end_setup()
    return machine


@pytest.mark.parametrize("build", [_either_writer, _switch_unmasks])
def test_a_step_with_other_enablers_is_still_reordered(build: Callable[[Options], Machine]) -> None:
    """Only the step that raised an interrupt is left out of the races with taking it: a wait
    that either of two writes ends, or a thread switch that unmasks IRQs, can be enabled
    another way, and DPOR must still find every outcome (both were missed when any enabling
    step was left out)."""
    target = Target(Scenario(build.__name__, "", build), "", Options(), 200)
    base = _outcomes(target, "none")
    got = _outcomes(target, "dpor")
    assert base is not None and got is not None
    assert got[0] == base[0]


def _call_while_marked_broken(options: Options) -> Machine:
    """CPU0 finds the firmware interface broken (sdei_mark_interface_broken) while CPU1's
    thread makes a call: it is made, or fails with -EIO, by which comes first."""
    booted = boot(era="latest", cpus=2)
    linux = booted.linux

    def broken(pe: PE) -> Code:
        yield from linux.driver.mark_broken(pe)

    def caller(pe: PE) -> Code:
        err, _ = yield from linux.driver.call(pe, Function.VERSION)
        booted.machine.shared["err"] = err

    booted.spawn(0, broken, "mark broken")
    booted.spawn(1, caller, "caller")
    return booted.machine


@pytest.mark.parametrize("states", [False, True], ids=["stateless", "stateful"])
def test_a_call_races_the_interface_breaking_on_another_cpu(states: bool) -> None:
    """The driver's conduit is shared state: a call on one CPU and the interface marked broken
    on another are ordered by it, so the search makes the call both before and after."""
    target = Target(
        Scenario("call-while-broken", "", _call_while_marked_broken), "", Options(), 5000
    )
    errors: set[int] = set()

    def visit(machine: Machine, execution: Execution) -> None:
        if execution.status != "pruned":
            errors.add(machine.shared["err"])

    result = DfsSearch(target, states=states).run(Budget(60, 500), visit=visit)
    assert result.complete
    assert errors == {0, EIO}

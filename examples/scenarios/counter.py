"""Toy scenarios: CPUs updating a shared counter.

`lost_update` is the classic race: each CPU reads the counter, then writes back what it read
plus one. Only some interleavings lose an update (both CPUs read before either writes), so a
search has to look for them. `locked_update` takes a lock around the same update and is
correct: a complete dfs finds nothing. `independent` gives every CPU its own counter: no step
of one CPU depends on another's, which is where partial-order reduction pays (one execution
instead of every interleaving).

    sdei explore examples/scenarios/counter.py::lost_update
    sdei explore examples/scenarios/counter.py::locked_update --strategy dfs
"""

from __future__ import annotations

from sdei.firmware import Platform
from sdei.machine import Access, Acquire, Invariant, Local, Machine, MachineConfig, Release
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import ERAS, Options, Scenario


def _board(options: Options, default_cpus: int) -> Machine:
    cpus = options.cpus or default_cpus
    return Machine(MachineConfig(Platform.reference(cpus, profile=options.profile)))


def _counter_is(expected: int, name: str = "counter") -> Invariant:
    def check(machine: Machine) -> str | None:
        value = machine.shared[name]
        return None if value == expected else f"{name} is {value}, expected {expected}"

    return Invariant("counter-sum", check, at_quiescence_only=True)


def _build(options: Options, *, locked: bool) -> Machine:
    machine = _board(options, 2)
    machine.shared["counter"] = 0
    lock = machine.lock("counter_lock")

    def increment(pe: PE) -> Code:
        if locked:
            yield Acquire(lock)
        yield Access("counter", write=False)
        value = machine.shared["counter"]  # runs in the same step as the read above
        yield Access("counter", write=True)
        machine.shared["counter"] = value + 1
        if locked:
            yield Release(lock)

    for cpu in range(len(machine.pes)):
        machine.spawn(cpu, increment, name=f"increment{cpu}")
    machine.add_invariant(_counter_is(len(machine.pes)))
    machine.end_setup()
    return machine


def build_lost_update(options: Options) -> Machine:
    return _build(options, locked=False)


def build_locked_update(options: Options) -> Machine:
    return _build(options, locked=True)


def build_independent(options: Options) -> Machine:
    machine = _board(options, 2)

    def work(pe: PE) -> Code:
        name = f"counter{pe.index}"
        machine.shared[name] = 0
        yield Local("private work")
        yield Access(name, write=True)
        machine.shared[name] += 1

    for cpu in range(len(machine.pes)):
        machine.spawn(cpu, work, name=f"work{cpu}")
    machine.end_setup()
    return machine


lost_update = Scenario(
    name="lost_update",
    description="two CPUs increment a shared counter without a lock: an update can be lost",
    build=build_lost_update,
    buggy_eras=ERAS,
    expected_invariant="counter-sum",
    max_steps=200,
)

locked_update = Scenario(
    name="locked_update",
    description="the same increments under a lock: no update is lost",
    build=build_locked_update,
    fixed_eras=ERAS,
    max_steps=200,
)

independent = Scenario(
    name="independent",
    description="each CPU updates its own counter: no step depends on another CPU's",
    build=build_independent,
    fixed_eras=ERAS,
    max_steps=200,
)

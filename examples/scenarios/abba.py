"""Toy scenarios: lock ordering.

In `abba` one CPU takes lock A then B, the other B then A. If each gets its first lock
before the other's second, both wait forever: the engine reports a deadlock (every thread
blocked). `ordered` takes the locks in the same order on both CPUs and cannot deadlock.

    sdei explore examples/scenarios/abba.py::abba
    sdei explore examples/scenarios/abba.py::ordered --strategy dfs
"""

from __future__ import annotations

from sdei.firmware import Platform
from sdei.machine import Access, Acquire, Lock, Machine, MachineConfig, Release
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import ERAS, Options, Scenario


def _build(options: Options, *, same_order: bool) -> Machine:
    machine = Machine(MachineConfig(Platform.reference(2, profile=options.profile)))
    a, b = machine.lock("A"), machine.lock("B")

    def transfer(pe: PE, first: Lock, second: Lock) -> Code:
        yield Acquire(first)
        yield Acquire(second)
        yield Access("accounts")
        yield Release(second)
        yield Release(first)

    machine.spawn(0, transfer, a, b, name="transfer_ab")
    if same_order:
        machine.spawn(1, transfer, a, b, name="transfer_ab2")
    else:
        machine.spawn(1, transfer, b, a, name="transfer_ba")
    machine.end_setup()
    return machine


def build_abba(options: Options) -> Machine:
    return _build(options, same_order=False)


def build_ordered(options: Options) -> Machine:
    return _build(options, same_order=True)


abba = Scenario(
    name="abba",
    description="two CPUs take locks A and B in opposite orders: they can deadlock",
    build=build_abba,
    buggy_eras=ERAS,
    expected_invariant="deadlock",
    max_steps=200,
)

ordered = Scenario(
    name="ordered",
    description="both CPUs take A before B: no deadlock",
    build=build_ordered,
    fixed_eras=ERAS,
    max_steps=200,
)

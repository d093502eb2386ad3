"""A correct scenario with many interleavings: three CPUs each write one shared variable three
times. Every pair of steps conflicts, so partial-order reduction keeps them all: a complete
dfs runs 9! / (3! 3! 3!) = 1680 executions and finds nothing."""

from __future__ import annotations

from sdei.firmware import Platform
from sdei.machine import Access, Machine, MachineConfig
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import Options, Scenario

INTERLEAVINGS = 1680


def build(options: Options) -> Machine:
    machine = Machine(MachineConfig(Platform.reference(3, profile=options.profile)))
    machine.shared["x"] = 0

    def writer(pe: PE) -> Code:
        for _ in range(3):
            yield Access("x", write=True)
            machine.shared["x"] += 1

    for cpu in range(3):
        machine.spawn(cpu, writer, name=f"writer{cpu}")
    machine.end_setup()
    return machine


busy = Scenario("busy", "three CPUs, nine conflicting writes", build, max_steps=100)

"""Engine throughput: steps per second on a small signal/handle/complete loop, and the time a
256-PE machine takes to run 100,000 event deliveries.

Run `python benchmarks/bench_engine.py` to print the rows; `run(duration)` returns them as
dicts {"name", "value", "unit", "goal"} for a table (goal None where there is none).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from benchlib import Row
from sdei import accel
from sdei.abi import Function
from sdei.firmware import Platform
from sdei.machine import (
    PE,
    Chooser,
    DefaultChooser,
    Image,
    Machine,
    MachineConfig,
    RandomChooser,
    Smc,
)
from sdei.machine.contexts import Code

F = Function
STEPS_GOAL = 200_000  # steps/s on the 4-PE loop
MANY_PES_GOAL = 10.0  # seconds, at most, for 256 PEs through DELIVERIES
DELIVERIES = 100_000
KERNEL_BASE = 0x8000_0000


def build_ring(
    pes: int, *, rounds: int | None = None, deliveries: int | None = None
) -> tuple[Machine, list[int]]:
    """Every PE registers event 0, unmasks, and signals the next PE: `rounds` times each, or
    until `deliveries` handlers have run. Handlers ask EVENT_CONTEXT(0) and COMPLETE."""
    machine = Machine(MachineConfig(Platform.reference(pes)))
    handled = [0]
    image = Image("kernel")

    def handler(pe: PE) -> Code:
        yield Smc(F.EVENT_CONTEXT, 0)
        handled[0] += 1
        yield Smc(F.EVENT_COMPLETE, 0)

    image.add("sdei_handler", 0x1000, handler)
    machine.load(image, KERNEL_BASE)
    ep = machine.code.address_of("kernel", "sdei_handler")
    mpidrs = [pe.mpidr for pe in machine.pes]

    def cpu(pe: PE, target: int) -> Code:
        assert (yield Smc(F.EVENT_REGISTER, 0, ep, 0, 0, 0)) == 0
        assert (yield Smc(F.EVENT_ENABLE, 0)) == 0
        assert (yield Smc(F.PE_UNMASK)) == 0
        signal = Smc(F.EVENT_SIGNAL, 0, mpidrs[target])
        if rounds is not None:
            for _ in range(rounds):
                yield signal
        else:
            assert deliveries is not None
            while handled[0] < deliveries:
                yield signal

    for i in range(pes):
        machine.spawn(i, cpu, (i + 1) % pes)
    return machine, handled


def steps_per_second(make_chooser: Callable[[], Chooser], duration: float) -> float:
    """Run fresh 4-PE loops until `duration` seconds of engine time have passed."""
    steps = 0
    elapsed = 0.0
    while elapsed < duration:
        machine, _ = build_ring(4, rounds=2_000)
        start = time.perf_counter()
        result = machine.run(make_chooser(), max_steps=10**7)
        elapsed += time.perf_counter() - start
        if not result.ok:
            raise RuntimeError(f"benchmark run failed: {result.violation}")
        steps += result.steps
    return steps / elapsed


def many_pes(pes: int = 256, deliveries: int = DELIVERIES) -> tuple[float, int, int]:
    """Seconds for `pes` PEs to run `deliveries` handlers (and the deliveries and steps)."""
    machine, handled = build_ring(pes, deliveries=deliveries)
    start = time.perf_counter()
    result = machine.run(max_steps=10**8)
    seconds = time.perf_counter() - start
    if not result.ok:
        raise RuntimeError(f"benchmark run failed: {result.violation}")
    return seconds, handled[0], result.steps


def run(duration: float = 1.0, runs: int = 1) -> list[Row]:
    rows: list[Row] = []
    for name, make in (
        ("engine: 4-PE signal/handle/complete, default chooser", DefaultChooser),
        ("engine: 4-PE signal/handle/complete, RandomChooser(1)", lambda: RandomChooser(1)),
    ):
        rate = max(steps_per_second(make, duration) for _ in range(runs))
        rows.append(Row(name, "spec", round(rate), "steps/s", STEPS_GOAL))
        if make is DefaultChooser and accel.status().startswith("on"):
            sources = max(_rate_on_the_sources(duration) for _ in range(runs))
            detail = f"{round(sources):,} steps/s on the sources (SDEI_ACCEL=0), measured alongside"
            rows.append(
                Row(
                    "engine: 4-PE loop, compiled / sources",
                    "spec",
                    round(rate / sources, 2),
                    "x",
                    None,
                    detail,
                )
            )
    seconds, delivered, steps = many_pes()
    detail = f"{delivered:,} deliveries, {steps:,} steps"
    rows += [
        Row(
            "engine: 256 PEs through 100,000 deliveries",
            "spec",
            round(seconds, 2),
            "s",
            MANY_PES_GOAL,
            detail,
            lower=True,
        ),
        Row(
            "engine: 256 PEs, deliveries/s", "spec", round(delivered / seconds), "/s", None, detail
        ),
    ]
    return rows


def _rate_on_the_sources(duration: float) -> float:
    """The 4-PE loop's steps/s with the compiled hot paths off, in a process of its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--rate", str(duration)],
        env={**os.environ, "SDEI_ACCEL": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def main() -> None:
    if sys.argv[1:2] == ["--rate"]:
        print(steps_per_second(DefaultChooser, float(sys.argv[2])))
        return
    for row in run():
        goal = f"  (goal {row.goal:,.0f})" if row.goal else ""
        print(f"{row.name:<55} {row.value:>12,} {row.unit}{goal}")


if __name__ == "__main__":
    main()

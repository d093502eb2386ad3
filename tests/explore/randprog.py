"""Random small programs for differential tests of the reductions: every reduction must reach
the same set of final states (and violations) as the search without reduction."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sdei.abi import EVENT_SIGNALED, Function
from sdei.firmware import Platform
from sdei.machine import (
    Access,
    Acquire,
    AssertInterrupt,
    FirmwareFault,
    Image,
    IrqRestore,
    IrqSave,
    Local,
    Machine,
    MachineConfig,
    Preempt,
    Release,
    SendIpi,
    Smc,
    Spawn,
    WaitUntil,
)
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import Options, Scenario

Program = list[tuple[Any, ...]]
FIRMWARE = {
    "mask": Function.PE_MASK,
    "unmask": Function.PE_UNMASK,
    "status": Function.EVENT_STATUS,
    "disable": Function.EVENT_DISABLE,
    "enable": Function.EVENT_ENABLE,
}


PPI = 23  # an OS interrupt private to each PE, with its own handler


def random_program(
    rng: random.Random, *, irqs: bool = False, sections: bool = False, converging: bool = False
) -> list[Program]:
    """`irqs`: IRQ-heavy - every thread raises the IRQ somewhere and the IRQ handler does two
    things, so where an IRQ lands among named steps is what varies. `sections`: threads
    sharing a CPU, holding it (preemption or IRQs off) around waits - for a flag another
    thread raises, for another CPU's answer to a cross-call - so where a section begins
    among the other threads' steps may decide whether it waits for good. `converging`: a
    write stores 1 and an update adds 1, so orders that differ often reach one state - what
    the stateful search's summaries stand in for."""
    cpus = 2 if irqs else 3 if sections else rng.choice((2, 2, 3))
    threads: list[Program] = []
    for _ in range(cpus):
        ops: Program = []
        if irqs:
            ops.append(("ppi", rng.randrange(cpus)))
        for _ in range(rng.randint(1, 2 if irqs else 3)):
            kind = rng.random()
            var = rng.choice("xy")
            if sections and kind < 0.45:
                flag = rng.choice(("fa", "fb"))
                ops.append(
                    rng.choice(
                        (
                            ("raise", flag),
                            ("raise", flag),
                            ("pwait", flag),  # preemption off, a stable wait for the flag
                            ("irqwait", flag),  # IRQs off, the same
                            ("pwaitv", var),  # preemption off, until var is not 0
                            ("xcall", rng.randrange(cpus), var),  # wait for another CPU
                            ("spinwait", "L1", flag),  # a spinlock held while waiting
                            ("plocked", "L1", var),  # preemption off, then a lock
                        )
                    )
                )
            elif kind < 0.25:
                ops.append(("read", var))
            elif kind < 0.5:
                ops.append(("write", var))
            elif kind < 0.58:
                ops.append(("locked", rng.choice(("L1", "L2")), var))
            elif kind < 0.64:
                ops.append(("spin", rng.choice(("L1", "L2")), var))  # preemption off inside
            elif kind < 0.7:
                ops.append(("irqoff", var))  # local_irq_save around a write
            elif kind < 0.75:
                ops.append(("nopreempt", var))  # preempt_disable around a read
            elif kind < 0.8:
                ops.append(("ipi", rng.randrange(cpus), var))  # a callback writes var there
            elif kind < 0.83:
                ops.append(("ppi", rng.randrange(cpus)))
            elif kind < 0.9:  # CPU-local state the code touches without naming it
                ops.append(("percpu",))
            elif kind < 0.93:
                ops.append(("signal", rng.randrange(cpus)))
            else:  # the calling PE's own firmware state: private, commutes across PEs
                ops.append((rng.choice(("mask", "unmask", "status", "disable", "enable")),))
        threads.append(ops)
    handler: Program = [
        rng.choice((("read", "x"), ("write", "y"), ("locked", "L1", "x"), ("percpu",)))
    ]
    threads.append(handler)
    irq_ops = (("read", "y"), ("write", "x"), ("write", "y"), ("percpu",))
    threads.append([rng.choice(irq_ops) for _ in range(2 if irqs else 1)])
    if irqs:
        for ops in threads[:cpus]:
            rng.shuffle(ops)
    pes = (
        rng.choice((1, 2, 2))
        if sections
        else rng.choice((cpus, cpus, max(2, cpus - 1), 1 if cpus == 2 else 2))
    )
    # An injected firmware failure, for one PE or any: its budget is shared by the calls it
    # can meet, and by no others.
    fault = None
    if rng.random() < 0.5:
        fault = (rng.choice(sorted(FIRMWARE)), rng.choice((None, *range(pes))))
    threads.append([("pes", pes, fault, converging)])
    return threads


def longer_program(seed: int, times: int, **kinds: bool) -> list[Program]:
    """A random program whose threads run the ops of `times` random programs (seeded from
    `seed`) one after another: the shape and layout of the first."""
    *threads, handler, irq, layout = random_program(random.Random(seed), **kinds)
    for more in range(1, times):
        extra = random_program(random.Random(seed + 10007 * more), **kinds)[:-3]
        threads = [ops + extra[i] if i < len(extra) else ops for i, ops in enumerate(threads)]
    return [*threads, handler, irq, layout]


def build_program(program: list[Program]) -> Scenario:
    *threads, handler_ops, irq_ops, layout = program
    _, pes, fault, converging = layout[0]
    shared_with_irqs = ("percpu",) in irq_ops

    def build(options: Options) -> Machine:
        machine = Machine(MachineConfig(Platform.reference(pes)))
        machine.shared.update({"x": 0, "y": 0})
        locks = {n: machine.lock(n) for n in ("L1", "L2")}

        def stored(reg: int, factor: int, tag: int) -> int:  # a write's value
            return 1 if converging else (reg * factor + tag) % 97

        def updated(old: int, factor: int, tag: int) -> int:  # a read-modify-write's
            return (old + 1) % 97 if converging else (old * factor + tag) % 97

        def above_zero(name: str) -> Callable[[], bool]:
            return lambda: machine.shared.get(name, 0) > 0

        def not_zero(name: str) -> Callable[[], bool]:
            return lambda: machine.shared.get(name, 0) != 0

        def run_ops(pe: PE, ops: Program, tag: int) -> Code:
            reg = 0
            for op in ops:
                if op[0] == "read":
                    yield Access(op[1], write=False)
                    reg = reg * 3 + machine.shared[op[1]]
                elif op[0] == "write":
                    yield Access(op[1], write=True)
                    machine.shared[op[1]] = stored(reg, 5, tag)
                elif op[0] == "locked":
                    yield Acquire(locks[op[1]])
                    yield Access(op[2], write=True)
                    machine.shared[op[2]] = updated(machine.shared[op[2]], 7, tag)
                    yield Release(locks[op[1]])
                elif op[0] == "spin":
                    yield Acquire(locks[op[1]], preempt=1)
                    yield Access(op[2], write=True)
                    machine.shared[op[2]] = updated(machine.shared[op[2]], 11, tag)
                    yield Release(locks[op[1]], preempt=-1)
                elif op[0] == "irqoff":
                    was = yield IrqSave()
                    yield Access(op[1], write=True)
                    machine.shared[op[1]] = stored(reg, 13, tag)
                    yield IrqRestore(was)
                elif op[0] == "nopreempt":
                    yield Preempt(1)
                    yield Access(op[1], write=False)
                    reg = reg * 3 + machine.shared[op[1]]
                    yield Preempt(-1)
                elif op[0] == "ipi":
                    yield SendIpi(min(op[1], pes - 1), ipi_callback(op[2], tag), "ipi")
                elif op[0] == "raise":  # a flag that only grows
                    yield Access(op[1], write=True)
                    machine.shared[op[1]] = machine.shared.get(op[1], 0) + 1
                elif op[0] in ("pwait", "irqwait"):
                    flag = op[1]
                    if op[0] == "pwait":
                        yield Preempt(1)
                    else:
                        was = yield IrqSave()
                    yield WaitUntil(above_zero(flag), (flag,), flag, True)
                    reg = reg * 3 + 1  # a stable wait promises the condition, not the value
                    if op[0] == "pwait":
                        yield Preempt(-1)
                    else:
                        yield IrqRestore(was)
                elif op[0] == "spinwait":
                    yield Acquire(locks[op[1]], preempt=1)
                    yield WaitUntil(above_zero(op[2]), (op[2],), op[2], True)
                    reg = reg * 3 + 1
                    yield Release(locks[op[1]], preempt=-1)
                elif op[0] == "plocked":
                    yield Preempt(1)
                    yield Acquire(locks[op[1]])
                    yield Access(op[2], write=True)
                    machine.shared[op[2]] = updated(machine.shared[op[2]], 29, tag)
                    yield Release(locks[op[1]])
                    yield Preempt(-1)
                elif op[0] == "pwaitv":
                    yield Preempt(1)
                    yield WaitUntil(not_zero(op[1]), (op[1],), op[1])
                    reg = reg * 3 + machine.shared[op[1]]
                    yield Preempt(-1)
                elif op[0] == "xcall":  # on_each_cpu-like: an IPI there, wait for its answer
                    answer = f"answer{tag}"
                    yield Preempt(1)
                    yield SendIpi(min(op[1], pes - 1), answering(op[2], tag, answer), "xcall")
                    yield WaitUntil(above_zero(answer), (answer,), answer, True)
                    yield Preempt(-1)
                elif op[0] == "ppi":
                    yield AssertInterrupt(PPI, min(op[1], pes - 1))
                elif op[0] == "waitv":  # a plain wait until var is not 0
                    yield WaitUntil(not_zero(op[1]), (op[1],), op[1])
                    reg = reg * 3 + machine.shared[op[1]]
                elif op[0] == "pppi":  # preemption off, read var and raise a PPI there
                    yield Preempt(1)
                    yield Access(op[1], write=False)
                    reg = reg * 3 + machine.shared[op[1]]
                    yield AssertInterrupt(PPI, min(op[2], pes - 1))
                    yield Preempt(-1)
                elif op[0] == "spawn":  # a thread of its own running ops, on that CPU
                    yield Spawn(min(op[1], pes - 1), run_ops, (op[2], tag + 20))
                elif op[0] == "percpu":  # per-CPU data, read and written in plain code
                    # A thread does it as Linux must: with IRQs masked when an IRQ handler
                    # shares it, else with preemption off (SDEI handlers are NMI-like).
                    thread = tag < 8
                    if thread and shared_with_irqs:
                        was = yield IrqSave()
                    elif thread:
                        yield Preempt(1)
                    yield Local("percpu")
                    slot = f"cpu{pe.index}"
                    reg = reg * 3 + machine.shared.get(slot, 0)
                    machine.shared[slot] = (
                        updated(machine.shared.get(slot, 0), 19, tag)
                        if converging
                        else stored(reg, 19, tag)
                    )
                    if thread and shared_with_irqs:
                        yield IrqRestore(was)
                    elif thread:
                        yield Preempt(-1)
                elif op[0] == "signal":
                    target = machine.pes[min(op[1], pes - 1)].mpidr
                    yield Smc(Function.EVENT_SIGNAL, EVENT_SIGNALED, target)
                elif op[0] in FIRMWARE:
                    result = yield Smc(FIRMWARE[op[0]], EVENT_SIGNALED)
                    reg = reg * 3 + int(result) % 7
            machine.shared[f"r{tag}"] = reg

        def handler(pe: PE) -> Code:
            yield from run_ops(pe, handler_ops, 9)
            yield Smc(Function.EVENT_COMPLETE, 0)

        def ipi_callback(var: str, tag: int) -> Any:
            def callback(pe: PE) -> Code:
                yield Access(var, write=True)
                machine.shared[var] = updated(machine.shared[var], 17, tag)

            return callback

        def answering(var: str, tag: int, answer: str) -> Any:
            def callback(pe: PE) -> Code:
                yield Access(var, write=True)
                machine.shared[var] = updated(machine.shared[var], 23, tag)
                yield Access(answer, write=True)
                machine.shared[answer] = 1

            return callback

        def irq_handler(pe: PE, intid: int) -> Code:
            yield from run_ops(pe, irq_ops, 8)

        machine.request_irq(PPI, irq_handler)
        for pe in range(pes):
            machine.gic.enable(PPI, pe)

        image = Image("kernel")
        image.add("handler", 0x100, handler)
        machine.load(image, 0x8000_0000)
        entry = machine.code.address_of("kernel", "handler")
        for pe in range(pes):  # event 0 is private: registered and enabled on every PE
            machine.firmware_call(pe, Function.EVENT_REGISTER, EVENT_SIGNALED, entry, 0, 0, 0)
            machine.firmware_call(pe, Function.EVENT_ENABLE, EVENT_SIGNALED)
            machine.firmware_call(pe, Function.PE_UNMASK)
        for cpu, ops in enumerate(threads):
            machine.spawn(cpu % pes, run_ops, ops, cpu + 1, name=f"t{cpu}")
        if fault is not None:
            machine.inject(FirmwareFault(FIRMWARE[fault[0]], -3, pe=fault[1]))
        machine.end_setup()
        return machine

    return Scenario("random-program", "a random program", build, max_steps=500)

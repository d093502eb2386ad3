"""Toy scenarios: an SDEI handler and a spinlock on the same CPU.

An SDEI event is NMI-like: it is taken even while the interrupted code has IRQs masked. In
`handler_lock` a thread on CPU0 takes a spinlock with IRQs masked; CPU1 signals event 0 at
CPU0 (EVENT_SIGNAL); the handler takes the same lock. If the event lands inside the critical
section the handler spins on a lock held by the code it interrupted: a deadlock, but only in
that window. In `masked_lock` the thread masks SDEI on its PE (PE_MASK) around the critical
section instead, so the event waits until PE_UNMASK: correct.

The set-up (register and enable event 0 on CPU0, unmask CPU0) is deterministic; only the
thread and the signal race. Swarm testing may switch the signal off (action "signal").

    sdei explore examples/scenarios/sdei_lock.py::handler_lock
    sdei explore examples/scenarios/sdei_lock.py::masked_lock --strategy dfs
"""

from __future__ import annotations

from sdei.abi import EVENT_SIGNALED, Function
from sdei.firmware import Platform
from sdei.machine import (
    Access,
    Acquire,
    Image,
    IrqRestore,
    IrqSave,
    Machine,
    MachineConfig,
    Release,
    Smc,
)
from sdei.machine.contexts import Code
from sdei.machine.pe import PE
from sdei.scenarios.api import ERAS, Options, Scenario

KERNEL_BASE = 0x8000_0000


def _build(options: Options, *, mask_sdei: bool) -> Machine:
    machine = Machine(MachineConfig(Platform.reference(2, profile=options.profile)))
    lock = machine.lock("stats_lock")
    machine.shared["events"] = 0
    machine.shared["updates"] = 0

    def sdei_handler(pe: PE) -> Code:
        yield Acquire(lock)
        yield Access("stats")
        machine.shared["events"] += 1
        yield Release(lock)
        yield Smc(Function.EVENT_COMPLETE, 0)

    kernel = Image("kernel")
    kernel.add("sdei_handler", 0x1000, sdei_handler)
    machine.load(kernel, KERNEL_BASE)
    entry = machine.code.address_of("kernel", "sdei_handler")

    # Deterministic set-up on CPU0: register, enable, unmask.
    assert machine.firmware_call(0, Function.EVENT_REGISTER, EVENT_SIGNALED, entry, 0, 0, 0) == 0
    assert machine.firmware_call(0, Function.EVENT_ENABLE, EVENT_SIGNALED) == 0
    assert machine.firmware_call(0, Function.PE_UNMASK) == 0

    def update_stats(pe: PE) -> Code:
        if mask_sdei:
            yield Smc(Function.PE_MASK)
        was = yield IrqSave()  # spin_lock_irqsave: IRQs off, but SDEI still gets in
        yield Acquire(lock, preempt=1)
        yield Access("stats")
        machine.shared["updates"] += 1
        yield Release(lock, preempt=-1)
        yield IrqRestore(was)
        if mask_sdei:
            yield Smc(Function.PE_UNMASK)

    def signal(pe: PE) -> Code:
        yield Smc(Function.EVENT_SIGNAL, EVENT_SIGNALED, machine.pes[0].mpidr)

    machine.spawn(0, update_stats, name="update_stats")
    if "signal" not in options.disabled_actions:
        machine.spawn(1, signal, name="signal")
    machine.end_setup()
    return machine


def build_handler_lock(options: Options) -> Machine:
    return _build(options, mask_sdei=False)


def build_masked_lock(options: Options) -> Machine:
    return _build(options, mask_sdei=True)


handler_lock = Scenario(
    name="handler_lock",
    description="an SDEI handler takes a spinlock its CPU may hold with IRQs masked",
    build=build_handler_lock,
    buggy_eras=ERAS,
    expected_invariant="deadlock",
    max_steps=300,
    actions=("signal",),
)

masked_lock = Scenario(
    name="masked_lock",
    description="the thread masks SDEI (PE_MASK) around the critical section: no deadlock",
    build=build_masked_lock,
    fixed_eras=ERAS,
    max_steps=300,
    actions=("signal",),
)

"""The CPU-hotplug core (linux-client.md §4.1, §8, §11): numbered states, STARTING and
ONLINE_DYN sections with their order relative to the online mask, install/remove with and
without calls, a validity check on state ids, cpu_up/cpu_down under the hotplug lock.

The rules of kernel/cpu.c that bound which interleavings exist are kept here (§11):

- every cpu_up/cpu_down holds `cpu_add_remove_lock`, and one from anywhere but the PM core
  returns -EBUSY while `cpu_hotplug_disabled` is set (system sleep disables it);
- a CPU is taken down by stop_machine: `take_cpu_down` runs on the dying CPU only once every
  online CPU's stopper has it captured, so a CPU whose preemption is off (a cross-call
  waiting for its IPIs) holds the whole take-down back;
- on the way down, queued cross-call work is flushed (CPUHP_AP_SMPCFD_DYING) before the
  STARTING-section teardown callbacks run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdei.firmware.footprint import irq_resource
from sdei.kernel.core import EBUSY, ENOSPC, Gen, Kernel, kernel_bug, linux_api
from sdei.machine import IPI_SGI, Access, Local, Note, PsciStatus, Spawn, WaitUntil
from sdei.machine.contexts import Context
from sdei.machine.psci import Psci

if TYPE_CHECKING:
    from sdei.machine import PE

CPUHP_OFFLINE = 0
CPUHP_AP_ARM_SDEI_STARTING = 110  # a static STARTING-section state (E1-E4)
CPUHP_AP_ONLINE = 150
CPUHP_AP_ONLINE_DYN = 160
CPUHP_AP_ONLINE_DYN_END = 190
CPUHP_ONLINE = 200
DYN = -1  # ask for a dynamic state

Callback = Callable[["PE"], Gen]


@dataclass
class State:
    ident: int
    name: str
    up: Callback | None
    down: Callback | None

    @property
    def starting(self) -> bool:
        return self.ident < CPUHP_AP_ONLINE


def valid_state(ident: int) -> bool:
    """cpuhp_cb_check: OFFLINE < state < ONLINE."""
    return CPUHP_OFFLINE < ident < CPUHP_ONLINE


class Hotplug:
    # What each CPU's hotplug is doing ("going down: stop_machine"): follows from where the
    # threads are, so it is no state of its own; the step-by-step state view shows it.
    __past__ = ("stage",)

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.stage: dict[int, str] = {}
        self.states: dict[int, State] = {}
        self.disabled = 0  # cpu_hotplug_disabled
        self.maps_lock = kernel.machine.lock(f"{kernel.name}:cpu_add_remove_lock", sleeping=True)
        # Held by cpuhp_setup_state / cpuhp_remove_state around the callbacks they store and
        # call (kernel/cpu.c), so two of them never interleave under the shared read lock.
        self.state_mutex = kernel.machine.lock(f"{kernel.name}:cpuhp_state_mutex", sleeping=True)

    # ------------------------------------------------------------ running a callback on a CPU

    def _callback_thread(self, pe: PE, fn: Callback, starting: bool) -> Gen:
        """The CPU's hotplug thread: STARTING callbacks run with IRQs off (B11's context)."""
        if starting:
            was = yield from self.k.local_irq_save(pe)
            result = yield from fn(pe)
            yield from self.k.local_irq_restore(pe, was)
        else:
            result = yield from fn(pe)
        return result

    def _invoke_on(self, pe: PE, cpu: int, fn: Callback, starting: bool, label: str) -> Gen:
        ctx = yield Spawn(cpu, self._callback_thread, (fn, starting), f"cpuhp/{cpu}:{label}")
        assert isinstance(ctx, Context)
        yield WaitUntil(
            lambda: ctx.done, (f"done:{ctx.ident}",), f"cpuhp/{cpu} {label}", stable=True
        )
        return ctx.result

    # ------------------------------------------------------------ install / remove

    def setup_state(
        self,
        pe: PE,
        ident: int,
        name: str,
        up: Callback | None,
        down: Callback | None,
        *,
        calls: bool = True,
    ) -> Gen:
        """cpuhp_setup_state[_nocalls]: returns the state id (dynamic or given) or an errno."""
        k = self.k
        yield from k.cpus_read_lock(pe)
        if ident != DYN and not valid_state(ident):
            raise kernel_bug(f"BUG: cpuhp_setup_state: invalid state {ident:#x}")
        yield from k.mutex_lock(pe, self.state_mutex)
        if ident == DYN:
            free = [
                i
                for i in range(CPUHP_AP_ONLINE_DYN, CPUHP_AP_ONLINE_DYN_END)
                if i not in self.states
            ]
            if not free:
                yield from k.mutex_unlock(pe, self.state_mutex)
                yield from k.cpus_read_unlock(pe)
                return ENOSPC
            ident = free[0]
        state = State(ident, name, up, down)
        self.states[ident] = state
        if calls and up is not None:
            yield Access("cpu_online_mask", write=False)
            done: list[int] = []
            for cpu in sorted(k.online):
                err = yield from self._invoke_on(pe, cpu, up, state.starting, f"{name} up")
                if err:
                    for undo in reversed(done):
                        if down is not None:
                            yield from self._invoke_on(
                                pe, undo, down, state.starting, f"{name} rollback"
                            )
                    del self.states[ident]
                    yield from k.mutex_unlock(pe, self.state_mutex)
                    yield from k.cpus_read_unlock(pe)
                    return err
                done.append(cpu)
        yield from k.mutex_unlock(pe, self.state_mutex)
        yield from k.cpus_read_unlock(pe)
        return ident

    def remove_state(
        self, pe: PE, ident: int, *, calls: bool = True, teardown: Callback | None = None
    ) -> Gen:
        """cpuhp_remove_state: under the hotplug read lock, BUG on an invalid id, else the
        teardown on every CPU that has the state, in for_each_present_cpu() order. `teardown`
        runs there instead of the state's own (the same callback, told why it runs)."""
        k = self.k
        yield from k.cpus_read_lock(pe)
        if not valid_state(ident):
            raise kernel_bug(
                f"BUG: cpuhp_remove_state: invalid state {ident:#x} "
                f"(valid: {CPUHP_OFFLINE + 1}..{CPUHP_ONLINE - 1})"
            )
        yield from k.mutex_lock(pe, self.state_mutex)
        state = self.states.get(ident)
        if state is not None and calls and state.down is not None:
            yield Access("cpu_online_mask", write=False)
            for cpu in sorted(k.online):
                yield from self._invoke_on(
                    pe, cpu, teardown or state.down, state.starting, f"{state.name} down"
                )
        self.states.pop(ident, None)
        yield from k.mutex_unlock(pe, self.state_mutex)
        yield from k.cpus_read_unlock(pe)
        return None

    # ------------------------------------------------------------ bringing a CPU up

    def _ordered(self, starting: bool, reverse: bool = False) -> list[State]:
        chosen = [s for s in self.states.values() if s.starting == starting]
        return sorted(chosen, key=lambda s: s.ident, reverse=reverse)

    def secondary_start(self, pe: PE) -> Gen:
        """What a CPU coming up runs (secondary_start_kernel): STARTING callbacks with IRQs
        off, then it is online, then IRQs on and into the idle loop."""
        k = self.k
        k.setup_cpu(pe)
        was = yield from k.local_irq_save(pe)
        for state in self._ordered(starting=True):
            if state.up is not None:
                err = yield from state.up(pe)
                if err:
                    k.printk(pe.index, f"cpuhp {state.name} up failed: {err}")
        yield Access("cpu_online_mask", write=True)
        k.online.add(pe.index)
        yield Note(f"CPU{pe.index} online")
        yield from k.local_irq_restore(pe, was)
        yield from k.local_irq_enable(pe)
        return 0

    def _cpu_up(self, pe: PE, cpu: int) -> Gen:
        """_cpu_up (cpu_add_remove_lock held): CPU_ON, wait for it to come online, then the
        ONLINE-section callbacks in its hotplug thread, all under the hotplug write lock."""
        k = self.k
        # The online mask: every other writer holds the lock, but for panic's stop IPIs.
        yield from k.cpus_write_lock(pe, reads=("cpu_online_mask",))
        if cpu in k.online:
            yield from k.cpus_write_unlock(pe)
            return 0
        mpidr = k.machine.pes[cpu].mpidr
        self.stage[cpu] = "coming up: CPU_ON"
        result = yield from k.psci(pe, Psci.CPU_ON, mpidr, k.symbol("secondary_entry"), cpu)
        if result != PsciStatus.SUCCESS:
            del self.stage[cpu]
            yield from k.cpus_write_unlock(pe)
            return result
        self.stage[cpu] = "coming up: STARTING callbacks"
        yield WaitUntil(
            lambda: cpu in k.online, ("cpu_online_mask",), f"CPU{cpu} online", stable=True
        )
        self.stage[cpu] = "coming up: ONLINE callbacks"
        for state in self._ordered(starting=False):
            if state.up is not None:
                err = yield from self._invoke_on(pe, cpu, state.up, False, f"{state.name} up")
                if err:
                    k.printk(cpu, f"cpuhp {state.name} up failed: {err}")
        del self.stage[cpu]
        yield from k.cpus_write_unlock(pe)
        return 0

    # ------------------------------------------------------------ taking a CPU down

    def _take_cpu_down(self, pe: PE) -> Gen:
        """take_cpu_down on the dying CPU, every other CPU held by stop_machine: leave the
        online mask, flush queued cross-calls (SMPCFD_DYING), then the STARTING teardown."""
        k = self.k
        yield Access("cpu_online_mask", write=True)
        k.online.discard(pe.index)
        # CPUHP_AP_SMPCFD_DYING: flush_smp_call_function_queue, ordered against any sender
        yield Access(irq_resource(IPI_SGI, pe.index), label="flush queued cross-calls")
        while pe.ipi_queue:
            callback = pe.ipi_queue.pop(0)
            yield from callback(pe)
        for state in self._ordered(starting=True, reverse=True):
            if state.down is not None:
                err = yield from state.down(pe)
                if err:
                    k.printk(pe.index, f"cpuhp {state.name} down failed: {err}")
        return 0

    def stop_machine(self, pe: PE, cpu: int, fn: Callback) -> Gen:
        """stop_machine_cpuslocked(fn, cpu): a stopper thread on every online CPU. Each is
        scheduled at its CPU's next preemption point and then keeps the CPU; when all have
        arrived they disable IRQs together, and only then does `fn` run on `cpu`
        (multi_cpu_stop's PREPARE, DISABLE_IRQ, RUN). Meanwhile the others run nothing but
        NMI-like SDEI handlers. The dying CPU then goes idle and calls CPU_OFF."""
        k = self.k
        yield Access("cpu_online_mask", write=False)
        cpus = sorted(k.online)
        arrived: set[int] = set()
        irqs_off: set[int] = set()
        done: list[bool] = []
        marks = tuple(f"stop_machine:{c}" for c in cpus)

        def stopper(target: PE) -> Gen:
            # A stopper is never preempted; it marks its arrival at once.
            yield from k.preempt_disable(target, touches=((f"stop_machine:{target.index}", True),))
            arrived.add(target.index)
            yield WaitUntil(
                lambda: len(arrived) == len(cpus), marks, "stop_machine: prepare", stable=True
            )
            was = yield from k.local_irq_save(target)
            yield Access(f"stop_machine:{target.index}")
            irqs_off.add(target.index)
            yield WaitUntil(
                lambda: len(irqs_off) == len(cpus), marks, "stop_machine: irqs off", stable=True
            )
            if target.index == cpu:
                yield from fn(target)
                yield Access("stop_machine:done")
                done.append(True)
                if not k.era.ipi_teardown:  # before v5.10 the dying CPU still takes its IPIs:
                    # IRQs are on from multi_cpu_stop's return to do_idle, thousands of
                    # instructions: a pending one is taken before the CPU reaches cpu_die.
                    yield from k.local_irq_restore(target, was)
                    yield WaitUntil(
                        lambda: not target.ipi_queue,
                        (irq_resource(IPI_SGI, target.index),),  # what the IPI handler ends with
                        "idle: pending IPIs taken",
                        stable=True,
                    )
                    yield from k.local_irq_save(target)
                yield Local("cpu_die")
                yield from k.psci(target, Psci.CPU_OFF)
                return 0
            yield WaitUntil(
                lambda: bool(done), ("stop_machine:done",), "stop_machine: run", stable=True
            )
            yield from k.local_irq_restore(target, was)
            yield from k.preempt_enable(target)
            return 0

        yield from k.preempt_disable(pe)  # queue_stop_cpus_work: all stoppers woken before any runs
        for c in cpus:
            yield Spawn(c, stopper, (), f"migration/{c}")
        yield from k.preempt_enable(pe)
        target = k.machine.pes[cpu]
        yield WaitUntil(
            lambda: target.power.value == "off", (f"pe:{cpu}",), f"CPU{cpu} off", stable=True
        )
        return 0

    def _cpu_down(self, pe: PE, cpu: int) -> Gen:
        """_cpu_down (cpu_add_remove_lock held): ONLINE-section teardown in the dying CPU's
        hotplug thread, then take_cpu_down by stop_machine, all under the hotplug write lock."""
        k = self.k
        # The online mask: every other writer holds the lock, but for panic's stop IPIs.
        yield from k.cpus_write_lock(pe, reads=("cpu_online_mask",))
        if cpu not in k.online or cpu == pe.index:
            yield from k.cpus_write_unlock(pe)
            return 0
        self.stage[cpu] = "going down: ONLINE teardown"
        for state in self._ordered(starting=False, reverse=True):
            if state.down is not None:
                err = yield from self._invoke_on(pe, cpu, state.down, False, f"{state.name} down")
                if err:
                    k.printk(cpu, f"cpuhp {state.name} down failed: {err}")
        self.stage[cpu] = "going down: stop_machine"
        yield from self.stop_machine(pe, cpu, self._take_cpu_down)
        del self.stage[cpu]
        yield from k.cpus_write_unlock(pe)
        return 0

    # ------------------------------------------------------------ the public entry points

    @linux_api("cpu_up")
    def cpu_up(self, pe: PE, cpu: int) -> Gen:
        """cpu_up / add_cpu (sysfs `online`): -EBUSY while hotplug is disabled."""
        k = self.k
        yield from k.mutex_lock(pe, self.maps_lock)
        err = EBUSY if self.disabled else (yield from self._cpu_up(pe, cpu))
        yield from k.mutex_unlock(pe, self.maps_lock)
        return err

    @linux_api("cpu_down")
    def cpu_down(self, pe: PE, cpu: int) -> Gen:
        """cpu_down / remove_cpu: -EBUSY while hotplug is disabled."""
        k = self.k
        yield from k.mutex_lock(pe, self.maps_lock)
        err = EBUSY if self.disabled else (yield from self._cpu_down(pe, cpu))
        yield from k.mutex_unlock(pe, self.maps_lock)
        return err

    def disable(self, pe: PE) -> Gen:
        """cpu_hotplug_disable (PM_*_PREPARE, cpu_hotplug_pm_callback)."""
        yield from self.k.mutex_lock(pe, self.maps_lock)
        self.disabled += 1
        yield from self.k.mutex_unlock(pe, self.maps_lock)

    def enable(self, pe: PE) -> Gen:
        """cpu_hotplug_enable (PM_POST_*)."""
        yield from self.k.mutex_lock(pe, self.maps_lock)
        self.disabled = max(0, self.disabled - 1)
        yield from self.k.mutex_unlock(pe, self.maps_lock)

    def freeze_secondary_cpus(self, pe: PE) -> Gen:
        """The PM core takes every other CPU down (hotplug disabled or not) and keeps hotplug
        disabled until `thaw_secondary_cpus`; returns the CPUs it took down."""
        k = self.k
        # The online mask, read at once: a step of its own would be one more place for an
        # SDEI event to land on this CPU, for nothing (a lock's taking is a right mover).
        yield from k.mutex_lock(pe, self.maps_lock, reads=("cpu_online_mask",))
        frozen: list[int] = []
        for cpu in sorted(k.online - {pe.index}):
            yield from self._cpu_down(pe, cpu)
            frozen.append(cpu)
        self.disabled += 1
        yield from k.mutex_unlock(pe, self.maps_lock)
        return frozen

    def thaw_secondary_cpus(self, pe: PE, frozen: list[int]) -> Gen:
        k = self.k
        yield from k.mutex_lock(pe, self.maps_lock)
        self.disabled = max(0, self.disabled - 1)
        for cpu in frozen:
            yield from self._cpu_up(pe, cpu)
        yield from k.mutex_unlock(pe, self.maps_lock)

"""The CPU-hotplug core (linux-client.md §4.1, §8): numbered states, STARTING and ONLINE_DYN
sections with their order relative to the online mask, install/remove with and without
calls, a validity check on state ids, cpu_up/cpu_down under the hotplug lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdei.abi import PSTATE_DAIF
from sdei.kernel.core import ENOSPC, Gen, Kernel, kernel_bug
from sdei.machine import Access, Local, Note, PsciStatus, Spawn, WaitUntil
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
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.states: dict[int, State] = {}

    # ------------------------------------------------------------ running a callback on a CPU

    def _callback_thread(self, pe: PE, fn: Callback, starting: bool) -> Gen:
        """The CPU's hotplug thread: STARTING callbacks run with IRQs off (B11's context)."""
        if starting:
            was = self.k.local_irq_save(pe)
            result = yield from fn(pe)
            self.k.local_irq_restore(pe, was)
        else:
            result = yield from fn(pe)
        return result

    def _invoke_on(self, pe: PE, cpu: int, fn: Callback, starting: bool, label: str) -> Gen:
        ctx = yield Spawn(cpu, self._callback_thread, (fn, starting), f"cpuhp/{cpu}:{label}")
        assert isinstance(ctx, Context)
        yield WaitUntil(lambda: ctx.done, (f"pe:{cpu}",), f"cpuhp/{cpu} {label}")
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
        if ident == DYN:
            free = [
                i
                for i in range(CPUHP_AP_ONLINE_DYN, CPUHP_AP_ONLINE_DYN_END)
                if i not in self.states
            ]
            if not free:
                yield from k.cpus_read_unlock(pe)
                return ENOSPC
            ident = free[0]
        elif not valid_state(ident):
            raise kernel_bug(f"BUG: cpuhp_setup_state: invalid state {ident:#x}")
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
                    yield from k.cpus_read_unlock(pe)
                    return err
                done.append(cpu)
        yield from k.cpus_read_unlock(pe)
        return ident

    def remove_state(self, pe: PE, ident: int, *, calls: bool = True) -> Gen:
        """cpuhp_remove_state: BUG on an invalid id; teardown on every online CPU."""
        if not valid_state(ident):
            raise kernel_bug(
                f"BUG: cpuhp_remove_state: invalid state {ident:#x} "
                f"(valid: {CPUHP_OFFLINE + 1}..{CPUHP_ONLINE - 1})"
            )
        k = self.k
        yield from k.cpus_read_lock(pe)
        state = self.states.get(ident)
        if state is not None and calls and state.down is not None:
            yield Access("cpu_online_mask", write=False)
            for cpu in sorted(k.online, reverse=True):
                yield from self._invoke_on(
                    pe, cpu, state.down, state.starting, f"{state.name} down"
                )
        self.states.pop(ident, None)
        yield from k.cpus_read_unlock(pe)
        return None

    # ------------------------------------------------------------ cpu_up / cpu_down

    def _ordered(self, starting: bool, reverse: bool = False) -> list[State]:
        chosen = [s for s in self.states.values() if s.starting == starting]
        return sorted(chosen, key=lambda s: s.ident, reverse=reverse)

    def secondary_start(self, pe: PE) -> Gen:
        """What a CPU coming up runs: STARTING callbacks with IRQs off, then it is online."""
        k = self.k
        k.setup_cpu(pe)
        was = k.local_irq_save(pe)
        for state in self._ordered(starting=True):
            if state.up is not None:
                err = yield from state.up(pe)
                if err:
                    k.printk(pe.index, f"cpuhp {state.name} up failed: {err}")
        yield Access("cpu_online_mask", write=True)
        k.online.add(pe.index)
        yield Note(f"CPU{pe.index} online")
        k.local_irq_restore(pe, was)
        pe.pstate &= ~PSTATE_DAIF  # secondary_start_kernel: local_irq_enable, into idle
        return 0

    def cpu_up(self, pe: PE, cpu: int) -> Gen:
        k = self.k
        yield from k.cpus_write_lock(pe)
        if cpu in k.online:
            yield from k.cpus_write_unlock(pe)
            return 0
        mpidr = k.machine.pes[cpu].mpidr
        result = yield from k.psci(pe, Psci.CPU_ON, mpidr, k.symbol("secondary_entry"), cpu)
        if result != PsciStatus.SUCCESS:
            yield from k.cpus_write_unlock(pe)
            return result
        yield WaitUntil(lambda: cpu in k.online, ("cpu_online_mask",), f"CPU{cpu} online")
        for state in self._ordered(starting=False):
            if state.up is not None:
                err = yield from self._invoke_on(pe, cpu, state.up, False, f"{state.name} up")
                if err:
                    k.printk(cpu, f"cpuhp {state.name} up failed: {err}")
        yield from k.cpus_write_unlock(pe)
        return 0

    def _take_cpu_down(self, pe: PE) -> Gen:
        """stop-machine on the dying CPU: leave the online mask, DYING callbacks, CPU_OFF."""
        k = self.k
        k.local_irq_save(pe)
        yield Access("cpu_online_mask", write=True)
        k.online.discard(pe.index)
        for state in self._ordered(starting=True, reverse=True):
            if state.down is not None:
                err = yield from state.down(pe)
                if err:
                    k.printk(pe.index, f"cpuhp {state.name} down failed: {err}")
        while pe.ipi_queue:  # flush_smp_call_function_queue
            callback = pe.ipi_queue.pop(0)
            yield from callback(pe)
        yield Local("cpu_die")
        yield from k.psci(pe, Psci.CPU_OFF)
        return 0

    def cpu_down(self, pe: PE, cpu: int) -> Gen:
        k = self.k
        yield from k.cpus_write_lock(pe)
        if cpu not in k.online or cpu == pe.index:
            yield from k.cpus_write_unlock(pe)
            return 0
        for state in self._ordered(starting=False, reverse=True):
            if state.down is not None:
                err = yield from self._invoke_on(pe, cpu, state.down, False, f"{state.name} down")
                if err:
                    k.printk(cpu, f"cpuhp {state.name} down failed: {err}")
        yield Spawn(cpu, self._take_cpu_down, (), f"migration/{cpu}")
        target = k.machine.pes[cpu]
        yield WaitUntil(lambda: target.power.value == "off", (f"pe:{cpu}",), f"CPU{cpu} off")
        yield from k.cpus_write_unlock(pe)
        return 0

"""Kernel primitives the SDEI client needs, on the simulated machine (linux-client.md §2.2, §2.4).

Locks (spinning, sleeping for PREEMPT_RT, mutexes, the CPU-hotplug rwsem), context flags with
the kernel's assertions, per-CPU data through the offset register, cross-calls with the
online mask snapshotted at send time and first-error aggregation, a heap whose frees are
remembered (so a registration pointing at freed memory is caught), and printk.

Code here is generator code: call it with `yield from`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sdei.abi import PSTATE_DAIF
from sdei.machine import (
    IPI_SGI,
    Access,
    Acquire,
    ClientFault,
    Context,
    Hvc,
    IrqRestore,
    IrqSave,
    Kind,
    Lock,
    Machine,
    Op,
    Preempt,
    Release,
    SendIpi,
    SetPstate,
    Smc,
    WaitUntil,
)
from sdei.machine.errors import ScenarioCodeError
from sdei.machine.machine import FAULTS_BEFORE

if TYPE_CHECKING:
    from sdei.kernel.eras import Era
    from sdei.machine import PE

Gen = Generator[Op, Any, Any]
PerCpuFn = Callable[["PE"], Gen]

# errno values the driver produces (include/uapi/asm-generic/errno*.h)
EPERM, ENOENT, EIO, ENOMEM, EBUSY, EINVAL, ENOSPC = -1, -2, -5, -12, -16, -22, -28
EOPNOTSUPP, EINPROGRESS = -95, -115
ERRNO_NAMES = {
    EPERM: "EPERM",
    ENOENT: "ENOENT",
    EIO: "EIO",
    ENOMEM: "ENOMEM",
    EBUSY: "EBUSY",
    EINVAL: "EINVAL",
    ENOSPC: "ENOSPC",
    EOPNOTSUPP: "EOPNOTSUPP",
    EINPROGRESS: "EINPROGRESS",
}


F = TypeVar("F", bound=Callable[..., Gen])


@dataclass(frozen=True)
class ApiCall:
    """One call of a kernel API and what it returned (the timeline shows it; the client
    oracles judge it)."""

    name: str
    cpu: int
    args: tuple[Any, ...]  # the arguments worth showing: an event number, a CPU
    result: Any
    injected: bool  # an injected firmware fault fired while it ran
    step: int

    __past__ = ("step",)  # when, for the timeline: not state

    def __str__(self) -> str:
        return f"{call_text(self.name, self.args)} = {errno_text(self.result)}"


def call_text(name: str, args: tuple[Any, ...]) -> str:
    """`sdei_event_register(0x40000010)`: a kernel API call as the timeline shows it."""
    shown = ", ".join(hex(a) if isinstance(a, int) and a > 9 else str(a) for a in args)
    return f"{name}({shown})"


def errno_text(value: Any) -> str:
    if isinstance(value, int) and value < 0:
        return f"-{ERRNO_NAMES[value]}" if value in ERRNO_NAMES else str(value)
    return str(value)


# Era switches a kernel function needs, and why an era without it has no such function.
_INTRODUCED = {
    "ghes_helpers": "the GHES helpers came with APEI over SDEI in v5.1",
    "agdi_driver": "the AGDI driver came in v5.18",
}


def linux_api(name: str, shown: int = 1, *, needs: str = "") -> Callable[[F], F]:
    """Mark a kernel function scenarios call (`yield from driver.register(...)`). Its result
    is recorded (`Kernel.api_calls`) and shown in the timeline with its first `shown`
    arguments after the CPU; a call that was never run by the end of the run - `yield` or
    `yield from` forgotten - is reported as an error at the caller's line, not explored as if
    the call had happened. `needs` names the era switch without which the function does not
    exist: calling it then is an error in the scenario."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(self: Any, pe: PE, *args: Any, **kwargs: Any) -> Gen:
            k: Kernel = self.k
            caller = sys._getframe(1)
            where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
            if needs and not getattr(k.era, needs):
                raise ScenarioCodeError(
                    f"{name}() does not exist in era {k.era.label}: {_INTRODUCED[needs]}", where
                )
            gen = _recorded(k, name, pe, args[:shown], fn(self, pe, *args, **kwargs))
            return k.machine.track_call(gen, name, where)

        return cast(F, call)

    return wrap


def _recorded(k: Kernel, name: str, pe: PE, args: tuple[Any, ...], gen: Gen) -> Gen:
    machine = k.machine
    faults = machine.faults_fired
    # A call a thread begins with runs this before the thread's first step (`Engine.spawn`):
    # the faults it may have met are those fired from that step on (`Machine._first_step`).
    ctx = machine.running
    begins = ctx if ctx is not None and not ctx.steps else None
    label = (pe.index, name, args)  # formatted only when someone looks (`call_text`)
    k.in_flight.append(label)
    try:
        result = yield from gen
    finally:
        k.in_flight.remove(label)
    if begins is not None:
        faults = begins.data.get(FAULTS_BEFORE, machine.faults_fired)
    call = ApiCall(name, pe.index, args, result, machine.faults_fired != faults, machine.step_count)
    k.api_calls.append(call)
    k.machine.annotate(pe.index, str(call), {"api": name, "result": result})
    return result


def cpu_list(cpus: set[int] | frozenset[int]) -> str:
    """A CPU set as the kernel prints one (`%*pbl`): "0-2,5", or "none"."""
    runs: list[list[int]] = []
    for cpu in sorted(cpus):
        if runs and cpu == runs[-1][-1] + 1:
            runs[-1][1:] = [cpu]
        else:
            runs.append([cpu])
    return ",".join("-".join(map(str, run)) for run in runs) or "none"


def kernel_bug(message: str) -> ClientFault:
    """A BUG()/WARN() the model treats as a failed kernel assertion."""
    return ClientFault("kernel-assertion", message)


@dataclass(frozen=True)
class HeapRef:
    """A pointer to a heap object handed to a client callback as its argument (a struct
    ghes): the oracles check it outlives its registration."""

    address: int


@dataclass
class Allocation:
    address: int
    what: str
    obj: Any
    live: bool = True


class Heap:
    """Kernel memory for driver objects: addresses that firmware is handed, and their fate."""

    def __init__(self, base: int) -> None:
        self._next = base
        self.blocks: dict[int, Allocation] = {}

    def alloc(self, obj: Any, what: str) -> int:
        address = self._next
        self._next += 0x100
        self.blocks[address] = Allocation(address, what, obj)
        return address

    def free(self, address: int) -> None:
        self.blocks[address].live = False

    def is_live(self, address: int) -> bool:
        block = self.blocks.get(address)
        return block is not None and block.live

    def owns(self, address: int) -> bool:
        return address in self.blocks

    def deref(self, address: int) -> Any:
        block = self.blocks.get(address)
        if block is None:
            raise ClientFault("live-driver-memory", f"{address:#x} is not driver memory")
        if not block.live:
            raise ClientFault(
                "live-driver-memory", f"use after free: {block.what} at {address:#x} was freed"
            )
        return block.obj


@dataclass
class NmiState:
    """Per-CPU arch NMI bookkeeping (B8): the saved HCR_EL2.TGE slot and nesting."""

    in_nmi: int = 0
    saved_tge: bool = False
    nesting: int = 0


@dataclass
class Printk:
    __past__ = ("*",)  # the log: read by people, never by the kernel
    lines: list[tuple[int, str]] = field(default_factory=list)

    def __call__(self, cpu: int, text: str) -> None:
        self.lines.append((cpu, text))


class Kernel:
    """One kernel image's OS state on a machine (a kexec or restore brings another)."""

    # The API calls under way: which follows from where each thread is, so it is no state of
    # its own (`sdei.explore.fingerprint`); the step-by-step state view shows it.
    __past__ = ("in_flight",)

    def __init__(
        self,
        machine: Machine,
        era: Era,
        *,
        name: str = "linux",
        base: int,
        rt: bool = False,
        vhe: bool = False,
        booted_el2: bool | None = None,
    ) -> None:
        self.machine = machine
        self.era = era
        self.name = name
        self.base = base
        self.rt = rt
        self.vhe = vhe  # running at EL2 with E2H (a VHE host)
        self.el = 2 if vhe else 1
        self.online: set[int] = set()
        self.heap = Heap(0xFFFF_0000_0000_0000 | (base & 0xFFFF_FFFF_0000))
        self.printk = Printk()
        self.events_mutex = machine.lock(f"{name}:sdei_events_lock", sleeping=True)
        self.list_lock = machine.lock(f"{name}:sdei_list_lock", sleeping=rt)
        self.hotplug_lock = machine.lock(f"{name}:cpu_hotplug_lock", sleeping=True)
        self.percpu_offsets = [0x10_0000 * (i + 1) for i in range(machine.platform.pes)]
        self.nmi = [NmiState() for _ in range(machine.platform.pes)]
        self.cpu_pm_notifiers: list[Callable[[PE, str], Gen]] = []
        self.reboot_notifiers: list[Callable[[PE], Gen]] = []
        self.stopped = False  # panic / crash: no steady-state invariants any more
        self.shutting_down = False  # reboot notifiers ran: driver state is stale by design
        self.live = True  # this image's memory exists (false once replaced or overwritten)
        self.stats: dict[str, Any] = {"handled": []}
        self.api_calls: list[ApiCall] = []  # every linux_api call that returned, in order
        # (cpu, function, shown arguments) of each call under way, outermost first
        self.in_flight: list[tuple[int, str, tuple[Any, ...]]] = []
        self.notes_waiting: set[int] = set()  # CPUs a stop IPI still waits for
        self.psci_conduit = "smc"
        # Booted at EL2 (a VHE host always is); a non-VHE kernel booted there refuses SDEI (§3.4).
        self.booted_el2 = vhe if booted_el2 is None else booted_el2
        self.active: list[list[int]] = [[0, 0] for _ in range(machine.platform.pes)]
        # ^ per-CPU active normal/critical record (E6+, B13)
        # Two SDEI stacks per CPU, normal and critical (linux-client.md §5.4): their tops, and
        # which are in use now.
        stack_base = 0xFFFF_8000_4000_0000
        self.sdei_stacks = [
            (stack_base + (2 * i + 1) * 0x4000, stack_base + (2 * i + 2) * 0x4000)
            for i in range(machine.platform.pes)
        ]
        self.sdei_stack_users: dict[tuple[int, int], int] = {}  # (cpu, slot) -> event

    # ---------------------------------------------------------------- context and assertions

    def current(self) -> Context:
        ctx = self.machine.running
        assert ctx is not None, "kernel code runs inside a machine step"
        return ctx

    def preempt_count(self) -> int:
        return self.current().preempt

    def in_atomic(self, pe: PE) -> bool:
        ctx = self.current()
        return ctx.kind is not Kind.THREAD or pe.irqs_masked or ctx.preempt > 0

    def might_sleep(self, pe: PE, what: str) -> None:
        if self.in_atomic(pe):
            ctx = self.current()
            irqs = "irqs disabled" if pe.irqs_masked else f"preempt_count {self.preempt_count()}"
            raise kernel_bug(
                f"BUG: sleeping function called from invalid context: {what} "
                f"on CPU{pe.index} in {ctx.name} ({irqs})"
            )

    def warn_if_preemptible(self, pe: PE, what: str) -> None:
        ctx = self.current()
        if ctx.kind is Kind.THREAD and not ctx.preempt and not pe.irqs_masked:
            raise kernel_bug(f"WARNING: {what} called from preemptible context on CPU{pe.index}")

    # The interrupt mask and the preempt count change only through operations, so the
    # explorer sees them (sdei.machine.ops.SCHED_OPS): call these with `yield from`.

    def local_irq_save(self, pe: PE) -> Gen:
        """local_irq_save: returns whether IRQs were masked already."""
        return bool((yield IrqSave()))

    def local_irq_restore(self, pe: PE, was_masked: bool) -> Gen:
        yield IrqRestore(was_masked)

    def local_irq_enable(self, pe: PE) -> Gen:
        """Unmask every exception (a CPU leaving its early boot code, DAIF from reset)."""
        yield SetPstate(pe.pstate & ~PSTATE_DAIF)

    def local_daif_mask(self, pe: PE) -> Gen:
        """Mask every exception (the stop and crash paths)."""
        yield SetPstate(pe.pstate | PSTATE_DAIF)

    def preempt_disable(self, pe: PE, touches: tuple[tuple[str, bool], ...] = ()) -> Gen:
        """`touches`: shared state read (False) or written (True) at once, in the same step."""
        yield Preempt(1, touches)

    def preempt_enable(self, pe: PE) -> Gen:
        yield Preempt(-1)

    # ---------------------------------------------------------------- locks

    def spin_lock(self, pe: PE, lock: Lock) -> Gen:
        """spin_lock (preemption off while held); on PREEMPT_RT a sleeping lock (§2.2, B11)."""
        if lock.sleeping:
            self.might_sleep(pe, f"spin_lock({lock.name}) [PREEMPT_RT]")
            yield Acquire(lock)
        else:
            yield Acquire(lock, preempt=1)

    def spin_unlock(self, pe: PE, lock: Lock) -> Gen:
        yield Release(lock, preempt=0 if lock.sleeping else -1)

    def mutex_lock(self, pe: PE, lock: Lock, reads: tuple[str, ...] = ()) -> Gen:
        """`reads`: shared state the caller reads at once, in the same step (`Acquire`)."""
        self.might_sleep(pe, f"mutex_lock({lock.name})")
        yield Acquire(lock, reads=reads)

    def mutex_unlock(self, pe: PE, lock: Lock) -> Gen:
        yield Release(lock)

    def cpus_read_lock(self, pe: PE) -> Gen:
        self.might_sleep(pe, "cpus_read_lock")
        yield Acquire(self.hotplug_lock, shared=True)

    def cpus_read_unlock(self, pe: PE) -> Gen:
        yield Release(self.hotplug_lock, shared=True)

    def cpus_write_lock(self, pe: PE, reads: tuple[str, ...] = ()) -> Gen:
        """`reads`: shared state the caller reads at once, in the same step (`Acquire`)."""
        self.might_sleep(pe, "cpus_write_lock")
        yield Acquire(self.hotplug_lock, reads=reads)

    def cpus_write_unlock(self, pe: PE) -> Gen:
        yield Release(self.hotplug_lock)

    # ---------------------------------------------------------------- per-CPU data

    def percpu_offset(self, pe: PE) -> int:
        """The per-CPU offset register: TPIDR_EL2 on a VHE host, else TPIDR_EL1 (6d99b68933fb)."""
        return pe.tpidr_el2 if self.vhe else pe.tpidr_el1

    def setup_cpu(self, pe: PE) -> None:
        """What early CPU bring-up does for SDEI's sake: per-CPU offset and vectors."""
        offset = self.percpu_offsets[pe.index]
        pe.tpidr_el1 = offset
        pe.tpidr_el2 = offset
        pe.vbar[self.el] = self.symbol("vectors")
        for slot in (0, 1):  # a CPU coming up has nothing on its SDEI stacks
            self.sdei_stack_users.pop((pe.index, slot), None)
        self.machine.gic.enable(IPI_SGI, pe.index)  # cross-call IPIs

    def symbol(self, name: str) -> int:
        return self.machine.code.address_of(self.image_name, name)

    @property
    def image_name(self) -> str:
        return f"{self.name}@{self.base:#x}"

    def psci(self, pe: PE, function: int, *args: int) -> Gen:
        """A PSCI call through the PSCI conduit."""
        op = Smc(function, *args) if self.psci_conduit == "smc" else Hvc(function, *args)
        return (yield op)

    # ---------------------------------------------------------------- cross-calls

    def cross_call(self, pe: PE, fn: PerCpuFn, label: str) -> Gen:
        """on_each_cpu(): run `fn` on every online CPU (snapshot at send time), here with IRQs
        off and elsewhere by IPI, wait for all; return the first error (§2.4).

        Preemption stays off from the snapshot until every CPU has answered, so this CPU's
        stopper cannot run and no CPU can leave the online mask meanwhile (§11)."""
        yield from self.preempt_disable(pe, touches=(("cpu_online_mask", False),))
        targets = sorted(self.online)
        state = {"done": 0, "failed": 0, "first_error": 0}
        answers = tuple(f"xcall:{label}:{cpu}" for cpu in targets)

        def run_on(target: PE) -> Gen:
            err = yield from fn(target)
            if err:  # sdei_cross_call_return: the first error wins (atomic_inc_return)
                yield Access(f"xcall:{label}")
                state["failed"] += 1
                if state["failed"] == 1:
                    state["first_error"] = err
            yield Access(f"xcall:{label}:{target.index}")  # this CPU's answer
            state["done"] += 1

        for cpu in targets:
            if cpu != pe.index:
                yield SendIpi(cpu, run_on, label)
        if pe.index in targets:
            was = yield from self.local_irq_save(pe)
            yield from run_on(pe)
            yield from self.local_irq_restore(pe, was)
        expected = len(targets)
        yield WaitUntil(
            lambda: state["done"] == expected,
            (f"xcall:{label}", *answers),
            f"{label} on CPUs {targets}",
            stable=True,
        )
        yield from self.preempt_enable(pe)
        return state["first_error"]

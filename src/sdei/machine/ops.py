"""Operations: what a step of client code touches, handed to the engine at each `yield`.

Client code is a generator; every `yield` hands over one operation. The engine performs it
atomically together with the code that follows it up to the next `yield`, and sends the
result back as the value of the `yield` expression. `footprint` names the shared things the
step touches, so the explorer can tell independent steps apart (DPOR, sleep sets).

Modelling rule: yield before every access to state shared between CPUs; never for CPU-local
work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdei.abi import PSTATE_I

if TYPE_CHECKING:
    from sdei.machine.locks import Lock

# A footprint entry: (resource, is_write). Two steps are dependent when they share a resource
# and at least one of them writes it.
Footprint = tuple[tuple[str, bool], ...]


class Op:
    """Base class. `blocking` ops are not enabled until `ready()` says so."""

    __slots__ = ()
    blocking = False

    @property
    def footprint(self) -> Footprint:
        return ()


@dataclass(frozen=True, slots=True)
class Local(Op):
    """A step that touches nothing shared (a yield point for interleaving only)."""

    label: str = ""


@dataclass(frozen=True, slots=True)
class Access(Op):
    """Read or write of a shared variable named `name` (the code does the access itself);
    `label` says in a timeline what the access is (`kfree(ghes)`)."""

    name: str
    write: bool = True
    label: str = ""

    @property
    def footprint(self) -> Footprint:
        return ((self.name, self.write),)


class _NotMade:
    """What a conduit call whose `unless()` held returns: no call was made."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_MADE"


NOT_MADE = _NotMade()


class _Call(Op):
    """A conduit call: x0 = function, x1.. = args. Result: x0 as a signed int64. `reads`:
    shared client state the code reads to make the call, in the same step (the conduit);
    `unless()`, asked in that step, reads it: when true the call is not made, and the result
    is `NOT_MADE` (Linux's "no conduit": the code returns -EIO without a call)."""

    __slots__ = ("args", "function", "reads", "unless")

    def __init__(
        self,
        function: int,
        *args: int,
        reads: tuple[str, ...] = (),
        unless: Callable[[], bool] | None = None,
    ) -> None:
        self.function = function
        self.args = args
        self.reads = reads
        self.unless = unless

    @property
    def footprint(self) -> Footprint:
        return (("firmware", True),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.function:#x}, {', '.join(map(hex, self.args))})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, _Call)
            and (other.function, other.args) == (self.function, self.args)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.function, self.args))


class Smc(_Call):
    """A secure monitor call (to EL3 firmware)."""

    __slots__ = ()


class Hvc(_Call):
    """A hypervisor call (to a hypervisor's virtual SDEI and PSCI)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Acquire(Op):
    """Take a lock; blocks while another holder has it. `shared` is a read-side acquire;
    `preempt` is added to the context's preempt count once it holds the lock (a spinlock
    disables preemption); `reads` names shared state the code reads right after taking it,
    in the same step."""

    lock: Lock
    shared: bool = False
    preempt: int = 0
    reads: tuple[str, ...] = ()

    blocking = True

    @property
    def footprint(self) -> Footprint:
        taken = ((f"lock:{self.lock.name}", True),)
        return (*taken, *((name, False) for name in self.reads)) if self.reads else taken


@dataclass(frozen=True, slots=True)
class Release(Op):
    lock: Lock
    shared: bool = False
    preempt: int = 0  # added to the preempt count (a spin_unlock: -1)

    @property
    def footprint(self) -> Footprint:
        return ((f"lock:{self.lock.name}", True),)


# What decides which contexts of a PE may run - PSTATE.I of the running context and its
# preempt count - changes only through these operations (and Acquire/Release with a
# `preempt`), so that the explorer sees every such change in a step's footprint.


@dataclass(frozen=True, slots=True)
class IrqSave(Op):
    """local_irq_save: mask IRQs; the result is whether they were masked already."""


@dataclass(frozen=True, slots=True)
class IrqRestore(Op):
    """local_irq_restore: IRQs masked again if `masked`, else unmasked."""

    masked: bool = False


@dataclass(frozen=True, slots=True)
class Preempt(Op):
    """preempt_disable (+1) / preempt_enable (-1) on the running context. `touches`: shared
    state the code reads or writes right after disabling, in the same step (disabling
    preemption, like taking a lock, commutes with what runs later elsewhere: Lipton 1975)."""

    delta: int = 1
    touches: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class SetPstate(Op):
    """Write the whole PSTATE (an exception return, a world switch, DAIF from reset)."""

    value: int = 0


SCHED_OPS = (IrqSave, IrqRestore, Preempt, SetPstate)


# Marks the footprint of a stable wait (see WaitUntil).
STABLE_WAIT = ("wait:stable", False)


@dataclass(frozen=True, slots=True)
class WaitUntil(Op):
    """Block until `condition()` holds (completion of cross-calls, flags set by other CPUs).

    A `stable` wait's condition, once true, stays true (a count that only grows, a CPU that
    has come online under a lock the waiter holds): it only ever waits for writes, and never
    needs exploring before one - a partial-order reduction looks for no races of its read.
    """

    condition: Callable[[], bool]
    reads: tuple[str, ...] = ()
    label: str = ""
    stable: bool = False

    blocking = True

    @property
    def footprint(self) -> Footprint:
        reads = tuple((name, False) for name in self.reads)
        return (*reads, STABLE_WAIT) if self.stable else reads


@dataclass(frozen=True, slots=True)
class SendIpi(Op):
    """Raise an SGI at `target` with a callback queued for its IPI handler."""

    target: int
    callback: Callable[..., Any]
    label: str = ""


@dataclass(frozen=True, slots=True)
class AssertInterrupt(Op):
    """A device raises an interrupt: a PPI on `pe`, or an SPI (pe ignored)."""

    intid: int
    pe: int = 0

    @property
    def footprint(self) -> Footprint:
        return (("firmware", True), (f"irq:{self.intid}", True))


@dataclass(frozen=True, slots=True)
class RaiseEvent(Op):
    """Firmware raises one of its own SDEI events (RAS, watchdog), on `pe` if private."""

    event: int
    pe: int = 0

    @property
    def footprint(self) -> Footprint:
        return (("firmware", True),)


@dataclass(frozen=True, slots=True)
class Spawn(Op):
    """Start a new thread on `pe` running `code(pe_view, *args)`."""

    pe: int
    code: Callable[..., Any]
    args: tuple[Any, ...] = ()
    name: str = ""

    @property
    def footprint(self) -> Footprint:
        return ((f"pe:{self.pe}", True),)


@dataclass(frozen=True, slots=True)
class Note(Op):
    """Mark a point of interest in the trace (e.g. 'hibernate: snapshot'); touches nothing."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    instant: bool = True


@dataclass(frozen=True, slots=True)
class Park(Op):
    """Stop this PE for good with everything masked (cpu_park_loop after smp_send_stop)."""

    label: str = "parked"

    @property
    def footprint(self) -> Footprint:
        return (("firmware", False),)


@dataclass(frozen=True, slots=True)
class Jump(Op):
    """Abandon every context on this PE and start a new thread at `address` (kexec into a new
    image, a hibernation restore). `x0` is handed over in x0."""

    address: int
    x0: int = 0
    reset_system: bool = False  # a cold boot first: other PEs off, firmware reset

    @property
    def footprint(self) -> Footprint:
        return (("firmware", True),)


@dataclass(frozen=True, slots=True)
class Resume(Op):
    """The engine's own: hand `value` to a context whose step was cut short by a handler
    that started synchronously on its PE (the code after the call runs when it resumes)."""

    value: Any = None


START = Local("start")


def describe(op: Op) -> str:
    """How a timeline shows an operation that has no hook of its own."""
    if isinstance(op, IrqSave):
        return "IRQs off"
    if isinstance(op, IrqRestore):
        return "IRQs stay off" if op.masked else "IRQs on"
    if isinstance(op, Preempt):
        if op.delta <= 0:
            return "preempt_enable"
        return "preempt_disable" + "".join(
            f", {'write' if w else 'read'} {name}" for name, w in op.touches
        )
    if isinstance(op, SetPstate):
        return f"PSTATE {op.value:#x}, IRQs {'off' if op.value & PSTATE_I else 'on'}"
    if isinstance(op, Spawn):
        return f"start {op.name or 'a thread'} on CPU{op.pe}"
    if isinstance(op, AssertInterrupt):
        return f"interrupt {op.intid} raised"
    if isinstance(op, RaiseEvent):
        return f"event {op.event:#x} raised"
    if isinstance(op, Park):
        return op.label
    if isinstance(op, Jump):
        return f"jump to {op.address:#x}"
    return type(op).__name__

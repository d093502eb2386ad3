"""The engine: contexts on PEs, the step loop, and the operations every board shares.

Each step the engine asks its board what could happen next (`_options`: a context runs its next
operation, an SDEI event starts on a PE, an interrupt is taken, a sleeping PE wakes), asks the
chooser which, and has the board perform it. Code between two yields runs atomically. Invariants
are checked after every step; the first violation ends the run. The board (`sdei.machine.machine`)
gives the options and what taking one means, and the operations that reach the hardware
(conduits, IPIs, interrupts, power).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from sdei.abi import PSTATE_I, mode_for
from sdei.machine.chooser import (
    Chooser,
    DefaultChooser,
    Divergence,
    RandomChooser,
    ReplayChooser,
)
from sdei.machine.contexts import Code, Context, Kind
from sdei.machine.errors import (
    ClientFault,
    ScenarioCodeError,
    Violation,
    exception_location,
    generator_function,
    generator_location,
)
from sdei.machine.locks import Lock
from sdei.machine.observer import HOOKS, Observer
from sdei.machine.ops import (
    SCHED_OPS,
    Access,
    Acquire,
    IrqRestore,
    IrqSave,
    Local,
    Note,
    Op,
    Preempt,
    Release,
    Resume,
    SetPstate,
    Spawn,
    WaitUntil,
)
from sdei.machine.pe import PE, Power

if TYPE_CHECKING:
    from sdei.machine.machine import Machine

# Code the model runs without an image (spawned threads, IRQ handlers) lives here, 4 KiB per
# context, inside the reference platform's non-secure DRAM: its PCs are real addresses.
CONTEXT_TEXT = 0xE000_0000
CONTEXT_SLOTS = 0x1_0000

Option = tuple[str, int, int]  # ("run", pe, context id) | ("sdei", pe, event) |


class _Gone:
    """The calling context no longer runs (completed, powered off, suspended)."""


GONE = _Gone()


@dataclass(frozen=True)
class Invariant:
    """A named predicate over the machine; returns a message when violated, else None."""

    name: str
    check: Callable[[Machine], str | None]
    at_quiescence_only: bool = False


@dataclass
class RunResult:
    status: Literal["quiescent", "halted", "violation", "step-limit"]
    steps: int
    choices: tuple[int, ...]
    violation: Violation | None = None
    halted: str | None = None
    kinds: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.violation is None


class _FromChooser(Exception):
    """Carries an exception a chooser raised through client code, untouched."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Stop(Exception):
    def __init__(self, violation: Violation) -> None:
        self.violation = violation


OpHandler = Callable[[PE, Context, Any], Any]


class Engine:
    """Runs contexts on a board's PEs: the step loop, choices, invariants, and the operations
    that touch only the running context (locks, PSTATE.I and preemption, notes, spawn)."""

    # What records the past or caches, not state (`sdei.explore.fingerprint`).
    __past__: ClassVar[tuple[str, ...]] = (
        "step_count",
        "choices",
        "choice_kinds",
        "chooser",
        "setup_steps",
        "running",
        "step_masked",
        "_touched_pes",
        "_unstarted",  # empty once a run has begun
        "in_run",
    )
    # Set at construction, never changed; `_hooks` only lists methods of `observers`.
    __fixed__: ClassVar[tuple[str, ...]] = ("_hooks", "_op_handlers")

    pes: list[PE]
    client_el: int

    def __init__(self) -> None:
        self.locks: dict[str, Lock] = {}
        self.observers: list[Observer] = []
        self._hooks: dict[str, list[Callable[..., None]]] = {h: [] for h in HOOKS}
        self.invariants: list[Invariant] = []
        self._contexts: dict[int, Context] = {}
        self._calls: list[tuple[Code, str, str]] = []
        self.step_masked = False  # PSTATE.I before the step just run
        self._next_ident = 0
        self.step_count = 0
        self.choices: list[int] = []
        self.choice_kinds: list[str] = []
        self.chooser: Chooser = DefaultChooser()
        self.halted: str | None = None
        self.setup_steps = 0
        self.running: Context | None = None  # the context whose step is being performed
        self._touched_pes: set[int] = set()  # PEs whose own state changed since the last step
        self._unstarted: list[Context] = []  # spawned outside a run, not run yet (`spawn`)
        self.in_run = False  # inside `run`: a thread spawned now begins where it is scheduled
        # What each operation does, by its exact type; a board adds its own.
        self._op_handlers: dict[type, OpHandler] = {
            Local: _nothing,
            Access: _nothing,
            WaitUntil: _nothing,
            Resume: _resume,
            Acquire: _acquire,
            Release: self._release,
            IrqSave: _irq_save,
            IrqRestore: _irq_restore,
            Preempt: _preempt,
            SetPstate: _set_pstate,
            Spawn: self._spawn_op,
            Note: self._note,
        }

    # ------------------------------------------------------------------ what a board gives

    def _options(self) -> list[Option]:
        """What can happen next (empty: the machine is quiescent)."""
        raise NotImplementedError

    def _perform(self, option: Option) -> None:
        """Do what `option` says."""
        raise NotImplementedError

    def _end_context(self, pe: PE, ctx: Context, value: Any) -> None:
        """`ctx`'s code returned `value`."""
        raise NotImplementedError

    def _first_step(self, ctx: Context) -> None:
        """`ctx` is about to take its first step (what a board keeps of the state then)."""

    # ------------------------------------------------------------------ set-up API

    def observe(self, observer: Observer) -> None:
        self.observers.append(observer)
        base = Observer
        for hook in HOOKS:
            method = getattr(type(observer), hook, None)
            if method is not None and method is not getattr(base, hook):
                self._hooks[hook].append(getattr(observer, hook))

    def add_invariant(self, invariant: Invariant) -> None:
        self.invariants.append(invariant)

    def lock(self, name: str, *, sleeping: bool = False) -> Lock:
        """The machine-wide lock called `name` (created on first use)."""
        found = self.locks.get(name)
        if found is None:
            found = self.locks[name] = Lock(name, sleeping=sleeping)
        return found

    def spawn(self, pe: int, code: Callable[..., Code], *args: Any, name: str = "") -> Context:
        """Start a thread on `pe` running `code(pe, *args)`. A thread has its own registers
        and PSTATE (the client EL, interrupts unmasked), whatever its PE was doing before.

        A thread started here, outside a step (a scenario's racing threads), runs its code up
        to its first operation when the run begins: that code touches nothing another context
        can see (the execution model: shared state is named by operations), so the race
        begins with every such thread at its first operation, and no two schedules differ only
        in where an empty first step went. A failure in that code is raised at the thread's
        first step, as it would have been. A thread started by a step (`Spawn`) begins where
        it is scheduled."""
        ctx = self._thread(pe, code, args, name)
        if not self.in_run:
            self._unstarted.append(ctx)
        return ctx

    def _thread(
        self, pe: int, code: Callable[..., Code], args: tuple[Any, ...], name: str
    ) -> Context:
        target = self.pes[pe]
        gen = code(target, *args)
        if not hasattr(gen, "send"):
            raise ScenarioCodeError(
                f"spawn({getattr(code, '__name__', code)!r}) needs a generator function "
                f"(one that yields operations), not one returning {type(gen).__name__}",
                _caller_location(),
            )
        ctx = self._new_context(Kind.THREAD, pe, name or getattr(code, "__name__", "thread"), gen)
        ctx.saved = (ctx.address, mode_for(self.client_el), [0] * 31)
        target.threads.append(ctx)
        return ctx

    def track_call(self, gen: Code, what: str, where: str) -> Code:
        """Remember an API call's generator: one never started by the end of the run was called
        without `yield from`, an error in the caller's code."""
        self._calls.append((gen, what, where))
        return gen

    def end_setup(self) -> None:
        """Everything so far was deterministic set-up: forget its choices, so that a recorded
        choice list describes only the racing part (and replays from here)."""
        self.choices.clear()
        self.choice_kinds.clear()
        self.setup_steps = self.step_count

    def options(self) -> list[Option]:
        """What could happen next (the chooser's options for the next step). Empty when the
        machine is stuck in a deadlock the next step would report."""
        try:
            return self._options()
        except _Stop:
            return []

    # ------------------------------------------------------------------ running

    def run(
        self,
        chooser: Chooser | None = None,
        *,
        choices: Sequence[int] | None = None,
        seed: int | None = None,
        max_steps: int = 100_000,
    ) -> RunResult:
        """Run until quiescent, halted, a violation, or `max_steps`.

        `choices` replays a recorded run exactly; `seed` uses a seeded random chooser.
        """
        if choices is not None:
            chooser = ReplayChooser(choices)
        elif seed is not None:
            chooser = RandomChooser(seed)
        self.chooser = chooser or DefaultChooser()
        limit = self.step_count + max_steps
        stepped = self._hooks["stepped"]
        if self._unstarted:
            self._start_threads()
        self.in_run = True
        try:
            while self.step_count < limit:
                if self.halted is not None:
                    self._check_replay_used()
                    return self._result("halted")
                options = self._options()
                if not options:
                    self._at_quiescence()
                    self._check_replay_used()
                    return self._result("quiescent")
                # Forced moves are not choices: only a real alternative is asked and recorded.
                index = self._choose("step", options) if len(options) > 1 else 0
                option = options[index]
                self.step_count += 1
                self._perform(option)
                if stepped:
                    for hook in stepped:
                        hook(self.step_count)
                if self.invariants:
                    self._check_invariants(quiescent=False)
            return self._result("step-limit")
        except _Stop as stop:
            return self._result("violation", stop.violation)
        except _FromChooser as wrapped:
            raise wrapped.error from None  # the chooser's own way of ending a run
        except (ScenarioCodeError, Divergence):
            raise
        except Exception as error:
            # Client code raised: an error in that code, not a race it found.
            raise ScenarioCodeError(
                f"{type(error).__name__}: {error}", exception_location(error)
            ) from error
        finally:
            self.in_run = False

    def _start_threads(self) -> None:
        """Run the threads spawned since the last run up to their first operation (`spawn`),
        each switched in on its PE as its first step would have it (and a live thread that was
        there before switched back)."""
        for ctx in self._unstarted:  # none has run: they were spawned outside a run
            pe = self.pes[ctx.pe]
            before = pe.current
            self._switch_thread(pe, ctx)
            self.running = ctx
            _first_operation(ctx)
            if before is not None and not before.done:
                self._switch_thread(pe, before)
            self._touched_pes.add(ctx.pe)
        self._unstarted.clear()

    def _check_replay_used(self) -> None:
        chooser = self.chooser
        if isinstance(chooser, ReplayChooser) and chooser.remaining:
            raise Divergence.leftover(len(self.choices), chooser.remaining)

    def _result(self, status: Any, violation: Violation | None = None) -> RunResult:
        self._check_calls_started()
        return RunResult(
            status,
            self.step_count,
            tuple(self.choices),
            violation,
            self.halted,
            tuple(self.choice_kinds),
        )

    def _check_calls_started(self) -> None:
        if not self._calls:
            return
        running = {id(c.gen) for c in self._contexts.values()}  # threads start when scheduled
        for gen, what, where in self._calls:
            if id(gen) in running:
                continue
            if inspect.getgeneratorstate(gen) == inspect.GEN_CREATED:
                raise ScenarioCodeError(
                    f"{what}(...) was called but never run: call it with `yield from`", where
                )
        self._calls.clear()

    def _choose(self, kind: str, options: Sequence[Any]) -> int:
        try:
            index = self.chooser.choose(kind, options)
        except Exception as error:
            raise _FromChooser(error) from None
        self.choices.append(index)
        self.choice_kinds.append(kind)
        for hook in self._hooks["choice"]:
            hook(self.step_count, kind, tuple(options), index)
        return index

    def annotate(self, pe: int, text: str, data: dict[str, Any] | None = None) -> None:
        """A note in the trace from client code, within the current step (not a step of its
        own, unlike `yield Note(...)`)."""
        for hook in self._hooks["note"]:
            hook(self.step_count, pe, text, data or {})

    def violate(self, invariant: str, message: str, pe: int | None = None) -> None:
        """Stop the run with a violation (used by the engine, invariants and observers)."""
        for hook in self._hooks["fault"]:
            hook(self.step_count, -1 if pe is None else pe, f"{invariant}: {message}")
        raise _Stop(Violation(invariant, message, self.step_count, tuple(self.choices), pe))

    def _check_invariants(self, *, quiescent: bool) -> None:
        for inv in self.invariants:
            if inv.at_quiescence_only and not quiescent:
                continue
            try:
                message = inv.check(cast("Machine", self))  # the board is the machine
            except Exception as error:
                raise ScenarioCodeError(
                    f"invariant {inv.name!r} raised {type(error).__name__}: {error}",
                    exception_location(error),
                ) from error
            if message is not None:
                self.violate(inv.name, message)

    def _at_quiescence(self) -> None:
        blocked = [
            c
            for c in self._contexts.values()
            if not c.done and self.pes[c.pe].power is not Power.OFF
        ]
        if blocked:
            waits = "; ".join(
                f"{c.name} on PE{c.pe} waits at {_describe(c.pending)}" for c in blocked[:4]
            )
            self.violate("deadlock", f"every thread is blocked: {waits}")
        self._check_invariants(quiescent=True)

    # ------------------------------------------------------------------ blocking

    def _enabled(self, ctx: Context) -> bool:
        op = ctx.pending
        if not op.blocking:
            return True
        if isinstance(op, Acquire):
            if op.lock.free_for(op.shared):
                return True
            self._check_self_deadlock(ctx, op.lock)
            return False
        assert isinstance(op, WaitUntil)
        return op.condition()

    def _check_self_deadlock(self, ctx: Context, lock: Lock) -> None:
        """A lock held by a context this one sits on (or by itself) can never be released."""
        pe = self.pes[ctx.pe]
        for holder in lock.holders():
            if holder is ctx:
                self.violate(
                    "deadlock",
                    f"{ctx.name} re-acquires {lock.name}, which it holds "
                    f"(in {generator_function(ctx.gen)})",
                    ctx.pe,
                )
            if holder.pe != ctx.pe or holder.done:
                continue
            below = pe.stack.index(ctx) if ctx in pe.stack else -1
            holder_below = (holder in pe.stack[:below]) if below >= 0 else False
            holder_thread_under_handler = (
                below >= 0 and holder.kind is Kind.THREAD and (holder is pe.current)
            )
            if holder_below or holder_thread_under_handler:
                self.violate(
                    "deadlock",
                    f"{ctx.name} ({ctx.kind.value}) waits for {lock.name}, "
                    f"held by {holder.name} which it interrupted",
                    ctx.pe,
                )

    # ------------------------------------------------------------------ running a context

    def _new_context(
        self, kind: Kind, pe: int, name: str, gen: Code, address: int = 0, symbol: str = ""
    ) -> Context:
        self._next_ident += 1
        self._touched_pes.add(pe)
        ident = self._next_ident
        if not address:
            address = CONTEXT_TEXT + (ident % CONTEXT_SLOTS) * 0x1000
        ctx = Context(ident, kind, pe, name, gen, address, symbol)
        self._contexts[ctx.ident] = ctx
        return ctx

    def _run_context(self, pe: PE, ctx: Context) -> None:
        if ctx.kind is Kind.THREAD and pe.current is not ctx:
            self._switch_thread(pe, ctx)
        self.running = ctx
        op = ctx.pending
        if not ctx.steps:
            self._first_step(ctx)
        masked, preempt = pe.pstate & PSTATE_I, ctx.preempt
        self.step_masked = bool(masked)  # what the step's footprint is taken with
        try:
            result = self._execute(pe, ctx, op)
            if result is GONE:
                self._step_hooks(pe, ctx, op, None)
                return
            ctx.steps += 1
            pe.pc = ctx.pc
            if pe.stack and pe.stack[-1] is not ctx:
                # A handler started on this PE inside the call (TF-A's synchronous dispatch):
                # the code after the call runs only once the handler has completed.
                ctx.pending = Resume(result)
            else:
                self._advance(pe, ctx, result)
        except ClientFault as fault:
            self.violate(fault.invariant, fault.message, pe.index)
        if (
            (pe.pstate & PSTATE_I != masked or ctx.preempt != preempt)
            and not ctx.done
            and pe.top is ctx
            and not _declares_sched(op)
        ):
            raise ScenarioCodeError(
                f"{ctx.name} changed PSTATE.I or its preempt count in code, not through an "
                "operation that says so (IrqSave, IrqRestore, Preempt, SetPstate, or the "
                "kernel's local_irq_save() and spin_lock()): the explorer must see it",
                generator_location(ctx.gen),
            )
        self._step_hooks(pe, ctx, op, result)

    def _advance(self, pe: PE, ctx: Context, value: Any) -> None:
        """Run client code from its last yield to the next, handing it `value`."""
        try:
            op = ctx.gen.send(value)
        except StopIteration as stop:
            self._end_context(pe, ctx, stop.value)
            return
        except AssertionError as error:  # a failed `assert` in client code: a finding
            self.violate("assertion", str(error) or "assertion failed", pe.index)
        if not isinstance(op, Op):
            raise _not_an_operation(ctx, op)
        ctx.pending = op

    def _step_hooks(self, pe: PE, ctx: Context, op: Op, result: Any) -> None:
        for hook in self._hooks["step"]:
            hook(self.step_count, pe.index, ctx, op, result)

    def _switch_thread(self, pe: PE, ctx: Context) -> None:
        old = pe.current
        if old is not None and not old.done:
            old.saved = (pe.pc, pe.pstate, list(pe.x))
        if ctx.saved is not None:
            pe.pc, pe.pstate, saved_x = ctx.saved
            pe.x[:] = saved_x
        pe.current = ctx

    def _execute(self, pe: PE, ctx: Context, op: Op) -> Any:
        handler = self._op_handlers.get(type(op))
        if handler is None:
            raise ScenarioCodeError(
                f"{ctx.name} yielded {op!r}, an operation this engine does not know",
                generator_location(ctx.gen),
            )
        return handler(pe, ctx, op)

    def _spawn_op(self, pe: PE, ctx: Context, op: Spawn) -> Context:
        return self._thread(op.pe, op.code, op.args, op.name)

    def _note(self, pe: PE, ctx: Context, op: Note) -> None:
        for hook in self._hooks["note"]:
            hook(self.step_count, pe.index, op.text, op.data)

    def _release(self, pe: PE, ctx: Context, op: Release) -> None:
        ctx.preempt = max(0, ctx.preempt + op.preempt)
        lock = op.lock
        if op.shared:
            if ctx not in lock.readers:
                raise ClientFault(
                    "lock-misuse", f"{ctx.name} releases {lock.name} (read) without holding it"
                )
            lock.readers.remove(ctx)
        else:
            if lock.owner is not ctx:
                raise ClientFault(
                    "lock-misuse",
                    f"{ctx.name} releases {lock.name}, held by "
                    f"{lock.owner.name if lock.owner else 'nobody'}",
                )
            lock.owner = None

    # ------------------------------------------------------------------ views

    def contexts(self, *, finished: bool = False) -> Iterable[Context]:
        """The live contexts (with `finished`, the ended ones too, with their results)."""
        return (c for c in self._contexts.values() if finished or not c.done)

    def context(self, ident: int) -> Context:
        return self._contexts[ident]


def _nothing(pe: PE, ctx: Context, op: Op) -> None:
    return None


def _resume(pe: PE, ctx: Context, op: Resume) -> Any:
    return op.value


def _acquire(pe: PE, ctx: Context, op: Acquire) -> None:
    if op.shared:
        op.lock.readers.append(ctx)
    else:
        op.lock.owner = ctx
    ctx.preempt += op.preempt


def _irq_save(pe: PE, ctx: Context, op: IrqSave) -> bool:
    was = bool(pe.pstate & PSTATE_I)
    pe.pstate |= PSTATE_I
    return was


def _irq_restore(pe: PE, ctx: Context, op: IrqRestore) -> None:
    pe.pstate = pe.pstate | PSTATE_I if op.masked else pe.pstate & ~PSTATE_I


def _preempt(pe: PE, ctx: Context, op: Preempt) -> None:
    ctx.preempt = max(0, ctx.preempt + op.delta)


def _set_pstate(pe: PE, ctx: Context, op: SetPstate) -> None:
    pe.pstate = op.value


def _declares_sched(op: Op) -> bool:
    """Does `op` say that it may change PSTATE.I or the preempt count?"""
    kind = type(op)
    if kind in SCHED_OPS:
        return True
    if kind is Acquire or kind is Release:
        return bool(op.preempt)  # type: ignore[attr-defined]
    return False


def _caller_location() -> str:
    """`file:line` of the code that called into the machine (outside the engine)."""
    frame = sys._getframe(1)
    engine = __file__.rpartition("/")[0]
    while frame is not None and frame.f_code.co_filename.startswith(engine):
        frame = frame.f_back  # type: ignore[assignment]
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "<unknown>"


def _describe(op: Op) -> str:
    if isinstance(op, Acquire):
        return f"acquire {op.lock.name}"
    if isinstance(op, WaitUntil):
        return f"wait {op.label or 'condition'}"
    return type(op).__name__


def _not_an_operation(ctx: Context, op: Any) -> ScenarioCodeError:
    if inspect.isgenerator(op):
        detail = "a generator: call it with `yield from`, not `yield`"
    else:
        detail = f"{op!r}, which is not an operation (see sdei.machine.ops)"
    return ScenarioCodeError(f"{ctx.name} yielded {detail}", generator_location(ctx.gen))


def _first_operation(ctx: Context) -> None:
    """Run a new thread's code up to its first operation, which becomes its pending one. Code
    that ends or fails before it is left to the thread's first step, which meets the same end
    (the return value, or the exception with its traceback) through `_deferred`."""
    try:
        op = ctx.gen.send(None)
    except Exception as error:  # handed on unchanged to the first step
        ctx.gen = _deferred(error)
        return
    if not isinstance(op, Op):
        raise _not_an_operation(ctx, op)
    ctx.pending = op


def _deferred(error: Exception) -> Code:
    """What a thread's first step meets when its code ended or failed before any operation."""
    if isinstance(error, StopIteration):
        return error.value
    raise error
    yield  # a generator, run by the first step

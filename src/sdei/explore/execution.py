"""One execution: build the scenario, run it under an explorer's chooser, keep what it found.

`StepLog` watches the run so that a chooser knows which context ran last (to count
preemptions) and, for partial-order reduction, the PE and footprint of every step taken,
forced ones included (the engine asks the chooser only when there are two options or more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar

from mypy_extensions import mypyc_attr

from sdei.abi import PSTATE_I
from sdei.explore.dependence import Footprint, Option, option_footprint, step_footprint
from sdei.machine import Kind, Machine, Observer, Power, Spawn, Violation
from sdei.machine.errors import ScenarioCodeError, exception_location
from sdei.scenarios.api import Options

if TYPE_CHECKING:
    from sdei.explore.target import Target
    from sdei.firmware import Entry
    from sdei.machine import Context, Op


class Abort(Exception):
    """Raised by a chooser to end an execution early (nothing new can be found from here)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Section:
    """A thread holding its PE (preemption or IRQs off) from the step after `start` to the
    step `end` that ended it (None: still held where the run stopped): the PE's other
    threads (`kept`) cannot run meanwhile. `waits`: the holder met an operation that may
    wait (a lock, a condition); `released`: it ended by letting go (not by the PE going off
    or parking, or the thread ending)."""

    __slots__ = ("end", "holder", "kept", "released", "start", "waits")

    def __init__(self, start: int, holder: Option, kept: frozenset[Option]) -> None:
        self.start = start
        self.end: int | None = None
        self.holder = holder
        self.kept = kept
        self.waits = False
        self.released = False

    def keeps_out(self, process: Option, index: int) -> bool:
        """Was `process` kept from running in the state before step `index`?"""
        end = self.end
        return self.start < index and (end is None or index <= end) and process in self.kept


class StepLog(Observer):
    """The last runner of every step and, for partial-order reduction, every step taken:
    its process (the option that ran: a context, an SDEI event or interrupt taken on a PE, a
    wake-up), its footprint, and the footprint of what the context will do next, which a race
    analysis must see even while it cannot run (blocked on a lock, or under a handler)."""

    __past__: ClassVar[tuple[str, ...]] = ("*",)

    def __init__(
        self,
        machine: Machine,
        *,
        footprints: bool = False,
        known: Sequence[tuple[Option, Footprint, Footprint | None]] = (),
    ) -> None:
        self.machine = machine
        self.keep = footprints
        self.steps: list[tuple[Option, Footprint, Footprint | None]] = []
        # The steps an earlier run of the same choices took (a replayed prefix): the same
        # state gives the same footprints, so they are taken from there.
        self.known = known
        self.last_pe: int | None = None
        self.last_ctx: int | None = None
        # handler -> {context it keeps from running: the step that first blocked it}. A
        # context under a stack of handlers could only have run before the lowest was taken.
        self.blocked: dict[Option, dict[Option, int]] = {}
        self._pushed: dict[int, int] = {}  # handler context -> the step that stacked it
        self.spawned: dict[Option, int] = {}  # thread spawned -> the step that spawned it
        self.sections: list[Section] = []  # every PE a thread held, in order
        self._open: dict[int, Section] = {}  # PE -> the section now holding it
        # The steps that let go of their PE: a thread's that unmasked IRQs or ended its
        # section, a handler's last (what was kept out can run after them)
        self.let_go: list[int] = []
        machine.observe(self)

    def step(self, step: int, pe: int, context: Context, op: Op, result: Any) -> None:
        self.last_pe, self.last_ctx = pe, context.ident
        if self.keep:
            key: Option = ("run", pe, context.ident)
            n = len(self.steps)
            if n < len(self.known) and self.known[n][0] == key:
                self.steps.append(self.known[n])
            else:
                after = None if context.done else option_footprint(self.machine, key)
                self.steps.append((key, step_footprint(self.machine, key, op), after))
            if type(op) is Spawn:
                self._spawned(result, len(self.steps) - 1)

            index = len(self.steps) - 1
            if context.kind is Kind.THREAD:
                self._held(pe, context, op, key, index)
                if self.machine.step_masked:
                    self.let_go.append(index)  # it may have unmasked IRQs
            elif context.done:
                self.let_go.append(index)
            stack = self.machine.pes[pe].stack
            if stack and stack[-1].ident not in self._pushed:
                # COMPLETE_AND_RESUME entered an exception in the context the handler had
                # interrupted: it blocks what the handler blocked, since the handler was taken.
                since = self._pushed.get(context.ident)
                self._stacked(pe, len(self.steps) - 1 if since is None else since)

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        self.last_pe, self.last_ctx = pe, context.ident
        if self.keep:
            key: Option = ("sdei", pe, entry.event)
            self.steps.append((key, step_footprint(self.machine, key, None), None))
            self._stacked(pe, len(self.steps) - 1)

    def interrupt(self, step: int, pe: int, intid: int) -> None:
        self.last_pe, self.last_ctx = pe, None
        if self.keep:
            key: Option = ("irq", pe, intid)
            self.steps.append((key, step_footprint(self.machine, key, None), None))
            stack = self.machine.pes[pe].stack
            if stack and stack[-1].ident not in self._pushed:
                self._stacked(pe, len(self.steps) - 1)

    def _held(self, pe: int, context: Context, op: Op, key: Option, index: int) -> None:
        """Open or close the section of a thread that takes or lets go of its PE (what
        `Machine._pe_step_options` lets run: a thread with preemption or IRQs off keeps it)."""
        where = self.machine.pes[pe]
        section = self._open.get(pe)
        if section is not None and section.holder != key:
            return  # a step of a thread the section keeps out: none while it holds
        if where.stack:  # an exception taken at once (a synchronous event): PSTATE is its
            if section is not None and op.blocking:
                section.waits = True
            return
        taking = context.preempt > 0 or where.pstate & PSTATE_I
        holds = taking and not context.done and where.power is Power.ON and not where.parked
        if section is not None:
            if holds:
                if op.blocking:
                    section.waits = True
                return
            section.end = index
            section.released = not taking  # else the PE went off or parked, or it ended
            del self._open[pe]
            self.let_go.append(index)
        elif holds:
            kept = frozenset(("run", pe, t.ident) for t in where.threads if t is not context)
            section = Section(index, key, kept)
            self.sections.append(section)
            self._open[pe] = section

    def _spawned(self, child: Context, index: int) -> None:
        """A thread spawned by step `index` comes after its spawning - not after what let it
        run first (a handler's or a section's end: a release, which could have come later).
        Onto a PE a handler or a section holds it is kept from running, like the threads
        they keep out."""
        key: Option = ("run", child.pe, child.ident)
        self.spawned[key] = index
        holding = self._open.get(child.pe)
        if holding is not None:
            holding.kept = holding.kept | {key}
        stack = self.machine.pes[child.pe].stack
        first = self._pushed.get(stack[0].ident) if stack else None
        if first is None:
            return
        for handler in stack:
            self.blocked.setdefault(("run", child.pe, handler.ident), {})[key] = first

    def _stacked(self, pe: int, index: int) -> None:
        """The handler now on top of `pe` was stacked by step `index`: it blocks every context
        below it and every thread of the PE, each since the lowest handler above it."""
        where = self.machine.pes[pe]
        stack = where.stack
        pushed = self._pushed
        pushed[stack[-1].ident] = index
        blocked: dict[Option, int] = {}
        for below, above in pairwise(stack):
            anchor = pushed.get(above.ident)
            if anchor is not None:
                blocked[("run", pe, below.ident)] = anchor
        first = pushed.get(stack[0].ident)
        if first is not None:
            for thread in where.threads:
                if not thread.done:
                    blocked[("run", pe, thread.ident)] = first
        self.blocked[("run", pe, stack[-1].ident)] = blocked

    def power(self, step: int, pe: int, old: str, new: str) -> None:
        if new == "on" and old in ("standby", "power-down"):
            self.last_pe, self.last_ctx = pe, None
            if self.keep:
                key: Option = ("wake", pe, 0)
                self.steps.append((key, step_footprint(self.machine, key, None), None))

    def continuing(self, options: Sequence[Option]) -> int | None:
        """The index of the option that lets the last runner go on, if it is offered."""
        pe = self.last_pe
        if pe is None:
            return None
        ident = self.last_ctx
        if ident is None:
            top = self.machine.pes[pe].top
            if top is None:
                return None
            ident = top.ident
        for i, option in enumerate(options):
            if option[2] == ident and option[0] == "run" and option[1] == pe:
                return i
        return None


@mypyc_attr(allow_interpreted_subclasses=True)  # each explorer has its own (sdei.accel)
class ExplorerChooser:
    """Base of the explorers' choosers: knows its machine and step log."""

    def __init__(self) -> None:
        self.footprints = False  # whether the step log keeps footprints (DPOR needs them)
        self.machine: Machine | None = None
        self.log: StepLog | None = None
        self.preemptions = 0
        # Steps a run of the same first choices logged (`StepLog.known`).
        self.known: Sequence[tuple[Option, Footprint, Footprint | None]] = ()

    def attach(self, machine: Machine, log: StepLog) -> None:
        self.machine = machine
        self.log = log

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        raise NotImplementedError

    def count(self, kind: str, options: Sequence[Any], index: int) -> None:
        """Count a preemption if `index` leaves a runner that could go on."""
        if kind == "step" and self.log is not None:
            keep = self.log.continuing(options)
            if keep is not None and keep != index:
                self.preemptions += 1


@dataclass
class Execution:
    """What one execution did."""

    status: str  # quiescent | halted | violation | step-limit | pruned
    steps: int
    choices: tuple[int, ...]
    violation: Violation | None = None
    options: Options = field(default_factory=Options)
    preemptions: int = 0
    seed: int | None = None

    @property
    def found(self) -> bool:
        return self.violation is not None


def execute(
    target: Target,
    chooser: ExplorerChooser,
    *,
    options: Options | None = None,
    machine: Machine | None = None,
) -> tuple[Machine, Execution]:
    """Build (unless `machine` is given) and run once under `chooser`.

    An error in the scenario's code - its set-up, a thread, an invariant - propagates as
    `ScenarioCodeError`; a failed `assert` in client code is a violation named `assertion`."""
    opts = options or target.options
    if machine is None:
        try:
            machine = target.build(opts)
        except ScenarioCodeError:
            raise
        except Exception as error:
            raise ScenarioCodeError(
                f"building the scenario failed: {type(error).__name__}: {error}",
                exception_location(error),
            ) from error
    log = StepLog(machine, footprints=chooser.footprints, known=chooser.known)
    chooser.attach(machine, log)
    try:
        result = machine.run(chooser, max_steps=target.max_steps)
    except Abort:
        return machine, Execution(
            "pruned", machine.step_count, tuple(machine.choices), None, opts, chooser.preemptions
        )
    return machine, Execution(
        result.status, result.steps, result.choices, result.violation, opts, chooser.preemptions
    )

"""A recorder observer: keeps every interesting thing a run did, in order, per PE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdei.abi import Function, Status
from sdei.machine.contexts import Kind
from sdei.machine.observer import Observer
from sdei.machine.ops import (
    Access,
    Acquire,
    Hvc,
    Local,
    Note,
    Op,
    Release,
    SendIpi,
    Smc,
    WaitUntil,
    describe,
)
from sdei.machine.psci import Psci

if TYPE_CHECKING:
    from sdei.firmware import Entry, Exit
    from sdei.machine.contexts import Context
    from sdei.machine.machine import Machine


@dataclass(frozen=True, slots=True)
class Record:
    step: int
    pe: int
    depth: int  # 0 thread, 1 first handler level, 2 nested
    kind: str  # call, deliver, complete, irq, power, note, lock, fault, step
    text: str
    context: str = ""
    data: Any = None


def function_name(function: int) -> str:
    for enum in (Function, Psci):
        try:
            return str(enum(function).name)
        except ValueError:
            continue
    return f"{function:#x}"


def short_name(function: int) -> str:
    """EVENT_REGISTER -> REGISTER, for narrow timeline columns."""
    return function_name(function).removeprefix("EVENT_")


def number_text(value: int) -> str:
    return str(value) if 0 <= value <= 9 else hex(value)


def result_text(result: int) -> str:
    if result < 0:
        try:
            return Status(result).name
        except ValueError:
            return str(result)
    return number_text(result)


def _shown(lock: str) -> str:
    """A lock's name for a narrow column: the first kernel's prefix (`linux:`) dropped; a
    kexec'd or restored kernel's stays."""
    return lock.removeprefix("linux:")


INJECTED = " [injected fault]"  # how a timeline marks a failure the scenario injected


class Recorder(Observer):
    """Attach with `Recorder(machine)`; read `records` after the run."""

    __past__ = ("*",)  # a record of the run

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.records: list[Record] = []
        machine.observe(self)

    def _depth(self, pe: int) -> int:
        return len(self.machine.pes[pe].stack)

    def _add(
        self,
        step: int,
        pe: int,
        kind: str,
        text: str,
        context: str = "",
        data: Any = None,
        depth: int | None = None,
    ) -> None:
        self.records.append(
            Record(step, pe, self._depth(pe) if depth is None else depth, kind, text, context, data)
        )

    def firmware_call(
        self, step: int, pe: int, conduit: str, function: int, args: tuple[int, ...], result: int
    ) -> None:
        shown = ", ".join(number_text(a) for a in args)
        name = short_name(function)
        top = self.machine.pes[pe].top
        if function in (Function.EVENT_COMPLETE, Function.EVENT_COMPLETE_AND_RESUME) and not result:
            return  # the completion record says it
        text = f"{name}({shown}) = {result_text(result)}"
        if self.machine.last_injected:
            text += INJECTED
        self._add(step, pe, "call", text, top.name if top else "", (function, args, result))

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        cls = " critical" if entry.critical else ""
        self._add(step, pe, "deliver", f"▶ {entry.event:#x}{cls}", context.name, entry)

    def complete(self, step: int, pe: int, exit: Exit) -> None:
        if exit.kind == "resume":
            text = f"◀ {exit.event:#x} resume {exit.pc:#x}"
        elif exit.kind == "implicit":
            text = f"◀ {exit.event:#x} implicitly"
        else:
            text = f"◀ {exit.event:#x} complete" + (" (failed)" if exit.status == 1 else "")
        self._add(step, pe, "complete", text, "", exit)

    def interrupt(self, step: int, pe: int, intid: int) -> None:
        self._add(step, pe, "irq", f"IRQ {intid}")

    def power(self, step: int, pe: int, old: str, new: str) -> None:
        self._add(step, pe, "power", f"{old} → {new}", depth=0)

    def note(self, step: int, pe: int, text: str, data: dict[str, Any]) -> None:
        self._add(step, pe, "note", text, "", data)

    def fault(self, step: int, pe: int, message: str) -> None:
        self._add(step, max(pe, 0), "fault", f"✗ {message}")

    def step(self, step: int, pe: int, context: Context, op: Op, result: Any) -> None:
        kind = type(op)
        if kind is Smc or kind is Hvc or kind is Note:
            return
        data = None
        if kind is Local:
            assert isinstance(op, Local)
            if not op.label or op.label == "start":
                return
            text = op.label
        elif kind is Acquire:
            assert isinstance(op, Acquire)
            text = f"lock {_shown(op.lock.name)}" + (" (read)" if op.shared else "")
        elif kind is Release:
            assert isinstance(op, Release)
            text = f"unlock {_shown(op.lock.name)}"
        elif kind is WaitUntil:
            assert isinstance(op, WaitUntil)
            text = f"waited {op.label}" if op.label else "waited"
        elif kind is SendIpi:
            assert isinstance(op, SendIpi)
            text = f"IPI → PE{op.target}" + (f" {op.label}" if op.label else "")
            data = {"to": op.target}
        elif kind is Access:
            assert isinstance(op, Access)
            text = op.label or f"{'write' if op.write else 'read'} {op.name}"
        else:
            text = describe(op)
        depth = self._depth(pe)
        if context.kind is not Kind.THREAD and context.done:
            depth += 1
        self._add(
            step,
            pe,
            "lock" if kind in (Acquire, Release) else "step",
            text,
            context.name,
            data,
            depth,
        )

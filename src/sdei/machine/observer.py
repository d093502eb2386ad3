"""Observers see every step, call, delivery, completion, power change and fault (in the spirit
of Trio's Instrument). The engine calls only the hooks an observer defines; the core never
prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sdei.firmware import Entry, Exit
    from sdei.machine.contexts import Context
    from sdei.machine.ops import Op


class Observer:
    """Override the hooks you need. Every hook gets the step number first."""

    def step(self, step: int, pe: int, context: Context, op: Op, result: Any) -> None: ...

    def firmware_call(
        self, step: int, pe: int, conduit: str, function: int, args: tuple[int, ...], result: int
    ) -> None: ...

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None: ...

    def complete(self, step: int, pe: int, exit: Exit) -> None: ...

    def interrupt(self, step: int, pe: int, intid: int) -> None: ...

    def context_end(self, step: int, pe: int, context: Context) -> None: ...

    def power(self, step: int, pe: int, old: str, new: str) -> None: ...

    def note(self, step: int, pe: int, text: str, data: dict[str, Any]) -> None: ...

    def fault(self, step: int, pe: int, message: str) -> None: ...

    def choice(self, step: int, kind: str, options: tuple[Any, ...], index: int) -> None: ...

    def stepped(self, step: int) -> None:
        """After step `step` has been performed (and before invariants are checked)."""


HOOKS = (
    "step",
    "firmware_call",
    "deliver",
    "complete",
    "interrupt",
    "context_end",
    "power",
    "note",
    "fault",
    "choice",
    "stepped",
)

"""Violations: what a run can find."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken invariant: its name, one line, the step, and the choices that led there."""

    invariant: str
    message: str
    step: int
    choices: tuple[int, ...]
    pe: int | None = None

    def __str__(self) -> str:
        where = f" on PE{self.pe}" if self.pe is not None else ""
        return f"[{self.invariant}] step {self.step}{where}: {self.message}"


class ClientFault(Exception):
    """Raised by client code (or the engine) for a condition an invariant names: a kernel
    assertion (BUG_ON/WARN in the model), a deadlock, a handler falling off its end."""

    def __init__(self, invariant: str, message: str) -> None:
        super().__init__(message)
        self.invariant = invariant
        self.message = message

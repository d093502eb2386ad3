"""Violations: what a run can find."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


class ScenarioCodeError(Exception):
    """The code a machine runs is wrong - a scenario's set-up, a thread, an invariant - as
    opposed to a race it found: one line naming the file and line, never a violation."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.detail = message

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.detail, self.where))


_PACKAGE = str(Path(__file__).resolve().parent.parent)  # .../sdei
_ENGINE = str(Path(__file__).resolve().parent)  # .../sdei/machine


def exception_location(error: BaseException) -> str:
    """`file:line` where `error` was raised, seen from the user's side: the innermost frame
    outside this package if there is one (a scenario's own code), else outside the engine."""
    frames = traceback.extract_tb(error.__traceback__)
    for outside in (_PACKAGE, _ENGINE, None):
        chosen = [f for f in frames if outside is None or not f.filename.startswith(outside)]
        if chosen:
            return f"{chosen[-1].filename}:{chosen[-1].lineno}"
    return "<unknown>"


def _innermost(gen: Any) -> Any:
    while True:
        inner = getattr(gen, "gi_yieldfrom", None)
        if inner is None or getattr(inner, "gi_frame", None) is None:
            return gen
        gen = inner


def generator_location(gen: Any) -> str:
    """`file:line` where a (possibly delegating) generator is suspended."""
    frame = getattr(_innermost(gen), "gi_frame", None)
    if frame is None:
        return "<finished generator>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def generator_function(gen: Any, depth: int = 3) -> str:
    """Where a (possibly delegating) generator is suspended: its innermost `depth` functions,
    outer first (`freeze > _unregister_event > _locked_flags`)."""
    names = []
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        names.append(gen.gi_code.co_name)
        gen = getattr(gen, "gi_yieldfrom", None)
    return " > ".join(names[-depth:]) or "?"

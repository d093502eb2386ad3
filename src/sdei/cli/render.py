"""Shared rich helpers for the commands: one console factory and a few formats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console

OK_STYLE = "green"
ERROR_STYLE = "red"
NOTE_STYLE = "dim"
HARDWARE_STYLE = "magenta"


def make_console() -> Console:
    """A console on the current stdout (so test runners that swap stdout see the output)."""
    return Console(highlight=False)


def register_text(value: int) -> str:
    """x0 as a register value for display: hex when non-negative, else signed decimal."""
    return hex(value) if value >= 0 else str(value)


def choice(*decls: str, values: Sequence[str], help: str) -> Any:
    """An option taking one of `values`: listed in --help, completed by the shell, and any
    other value refused with the list (exit 2)."""
    allowed = tuple(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    return typer.Option(
        *decls,
        parser=parse,
        metavar="[" + "|".join(allowed) + "]",
        help=help,
        autocompletion=lambda: list(allowed),
    )

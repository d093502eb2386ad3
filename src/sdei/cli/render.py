"""Shared rich helpers for the commands: one console factory and a few formats."""

from __future__ import annotations

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

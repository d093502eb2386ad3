"""`sdei walk`: a walk through the SDEI ABI on the reference platform, call by call."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from sdei.cli.render import (
    ERROR_STYLE,
    HARDWARE_STYLE,
    NOTE_STYLE,
    OK_STYLE,
    make_console,
    register_text,
)
from sdei.scenarios.abi_walk import Section, Step, Walk, abi_walk


class Profile(StrEnum):
    spec = "spec"
    tfa = "tfa"


def _result(step: Step) -> Text:
    if step.hardware:
        style = HARDWARE_STYLE
    elif step.error:
        style = ERROR_STYLE
    else:
        style = OK_STYLE
    text = Text(step.result, style=style)
    if step.note:
        text.append(f"\n{step.note}", style=NOTE_STYLE)
    return text


CALL_SHARE = 0.5  # of the width left after the PE and x0 columns; the result gets the rest


def section_table(section: Section, call_width: int, x0_width: int) -> Table:
    """One section's steps. Every section gets the same column widths, so they line up."""
    table = Table(box=None, show_header=False, pad_edge=True, padding=(0, 1))
    table.add_column("PE", no_wrap=True, style="bold", min_width=3)
    table.add_column("call", width=call_width, overflow="fold")
    table.add_column("x0", no_wrap=True, justify="right", min_width=x0_width)
    table.add_column("result", overflow="fold")
    for step in section.steps:
        if step.hardware:
            who = Text("hw", style=HARDWARE_STYLE)
            call = Text(step.call, style=HARDWARE_STYLE)
            x0 = Text("")
        else:
            who = Text(f"PE{step.pe}")
            call = Text(step.call, style="cyan")
            x0 = Text(register_text(step.value or 0))
        table.add_row(who, call, x0, _result(step))
    return table


def render_walk(walk: Walk, width: int) -> Group:
    """The walk for a console `width` columns wide."""
    parts: list[Rule | Text | Table] = [
        Text(
            f"SDEI on the reference platform: {walk.pes} PEs, profile {walk.profile}. Each line "
            "is a call made on a PE (x0 as returned, then decoded) or, marked hw, what the "
            "hardware side of the dispatcher does.",
            style="bold",
        )
    ]
    steps = walk.steps
    x0_width = max(len(register_text(s.value)) for s in steps if s.value is not None)
    longest = max(len(line) for s in steps for line in s.call.splitlines())
    free = width - 2 - 3 - x0_width - 6  # edges, PE column, x0 column, gaps between columns
    call_width = max(16, min(longest, int(free * CALL_SHARE)))
    for section in walk.sections:
        parts.append(Rule(section.title, align="left", style="blue"))
        parts.append(Text(section.intro, style="italic"))
        parts.append(section_table(section, call_width, x0_width))
    return Group(*parts)


def walk(
    profile: Annotated[
        Profile,
        typer.Option("--profile", "-p", help="spec (DEN0054C) or tfa (Trusted Firmware-A)."),
    ] = Profile.spec,
) -> None:
    """Walk through the SDEI ABI on the reference platform (4 PEs), printing every call."""
    console = make_console()
    console.print(render_walk(abi_walk(profile.value, pes=4), console.width))


def register(app: typer.Typer) -> None:
    app.command("walk")(walk)

"""`sdei abi`: the SDEI functions, their ids, arguments, results and errors."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from sdei.abi import CALLS, Status
from sdei.cli.render import ERROR_STYLE, NOTE_STYLE, make_console
from sdei.firmware.states import STATE_NAMES, mermaid_diagram, permitted_call_table


def functions_table() -> Table:
    """One entry per function, from `sdei.abi.CALLS`: its id, its signature, then what x0 holds
    on success and which errors it may return."""
    common = [s for s in Status if s < 0 and all(s in info.errors for info in CALLS)]
    caption = None
    if common:
        names = ", ".join(s.name for s in common)
        caption = f"Every call may also return {names} (no SDEI for this caller)."
    table = Table(
        title="SDEI functions (SMC64: x0 = function id, x1..x5 = arguments, result in x0)",
        title_justify="left",
        caption=caption,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("id", no_wrap=True, style="cyan")
    table.add_column("function(arguments) → success value   errors")
    for info in CALLS:
        text = Text()
        text.append(info.function.name, style="bold")
        text.append(f"({', '.join(info.arguments)})")
        text.append(f"\n→ {info.returns}", style="green")
        errors = [e.name for e in info.errors if e not in common]
        if errors:
            text.append(f"   errors: {', '.join(errors)}", style=ERROR_STYLE)
        table.add_row(f"{int(info.function):#010x}", text)
    return table


def status_table() -> Table:
    table = Table(title="Status codes", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("status", style="bold")
    table.add_column("value", justify="right")
    for status in Status:
        table.add_row(status.name, str(int(status)))
    return table


def markdown_rows(markdown: str) -> list[list[str]]:
    """The cells of a Markdown table, header first (the rule line is dropped)."""
    rows = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(set(cell) <= {"-", ":"} for cell in cells):
            continue
        rows.append(cells)
    return rows


def _cell(text: str) -> Text:
    if not text:
        return Text("·", style=NOTE_STYLE)
    if text == "PENDING":
        return Text(text, style="yellow")
    return Text(text.replace("✓ → ", "→ "), style="green")


def states_table() -> Table:
    """DEN0054C Table 14, transposed to fit a terminal: one row per call, one column per state.

    The cells come from `permitted_call_table()`, the same text the docs hold, which is itself
    generated from the dispatcher's transition table.
    """
    header, *rows = markdown_rows(permitted_call_table())
    states = [int(row[0].split()[0]) for row in rows]
    legend = "  ".join(f"{s} {STATE_NAMES[s].removeprefix('handler-')}" for s in states)
    table = Table(
        title="Permitted calls per event state (DEN0054C Table 14)",
        title_justify="left",
        caption=f"states: {legend}\n✓ permitted, → n permitted and moves to state n, · DENIED",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("call \\ state", no_wrap=True, style="bold")
    for state in states:
        table.add_column(str(state), justify="center", no_wrap=True)
    for column, name in enumerate(header[1:], start=1):
        table.add_row(name, *(_cell(row[column]) for row in rows))
    return table


def abi(
    states: Annotated[
        bool, typer.Option("--states", help="Also print the permitted-call table per state.")
    ] = False,
    diagram: Annotated[
        bool, typer.Option("--diagram", help="Also print the state diagram (Mermaid source).")
    ] = False,
) -> None:
    """List every SDEI function: id, arguments, success value and errors."""
    console = make_console()
    console.print(functions_table())
    console.print(status_table())
    if states:
        console.print(states_table())
    if diagram:
        console.print("State diagram (Mermaid source, as in docs/abi.md):", style=NOTE_STYLE)
        console.print(mermaid_diagram(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("abi")(abi)

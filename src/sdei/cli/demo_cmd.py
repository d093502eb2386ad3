"""`sdei demo`: the main job - a 4-CPU board booted from the bundled device tree with the
latest driver, events raised through hotplug, idle, hibernate/restore and kexec."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.table import Table

from sdei.cli.render import make_console
from sdei.scenarios.common import SHARED_RAS, SOFTWARE_EVENT
from sdei.scenarios.demo import DemoResult, run_demo
from sdei.trace import timeline

TIMELINE_KINDS = frozenset({"deliver", "complete", "power", "note", "fault"})
EVENT_NAMES = {SHARED_RAS: "shared RAS 0x40000010", SOFTWARE_EVENT: "private event 0"}


def summary(result: DemoResult) -> Table:
    stats = result.stats
    table = Table(title="Summary", title_justify="left")
    table.add_column("event")
    table.add_column("raised", justify="right")
    table.add_column("handled", justify="right")
    table.add_column("where (kernel: CPU × count)")
    for event, raised in sorted(stats.raised.items()):
        handled = [(k, c) for k, c, e in stats.handled if e == event]
        where = Counter(handled)
        places = ", ".join(f"{k}: CPU{c}×{n}" for (k, c), n in sorted(where.items()))
        table.add_row(EVENT_NAMES.get(event, hex(event)), str(raised), str(len(handled)), places)
    return table


def demo(
    seed: Annotated[int, typer.Option("--seed", help="Seed of the run's choices.")] = 1,
    full: Annotated[bool, typer.Option("--full", help="Show every firmware call too.")] = False,
) -> None:
    """Boot the bundled 4-CPU board and race SDEI events with hotplug, idle, hibernate and
    kexec; print the per-CPU timeline and a summary."""
    console = make_console()
    result = run_demo(seed)
    board = result.board
    d = board.discovery
    console.print(
        f"[bold]Board[/]: {d.path.rsplit('/', 1)[-1]} (device tree), "
        f"SDEI over {d.conduit}, CPUs "
        + ", ".join(f"{c.mpidr:#x}" for c in d.cpus)
        + f"; driver era latest; seed {seed}"
    )
    kinds = None if full else TIMELINE_KINDS
    console.print(
        timeline(
            result.recorder.records, len(board.machine.pes), kinds=kinds, title="Per-CPU timeline"
        )
    )
    console.print(summary(result))
    run = board.result
    lost = result.stats.lost
    console.print(
        f"{run.steps} steps, {sum(result.stats.raised.values())} events raised, "
        f"{len(result.stats.handled)} handled, {lost} lost; "
        + (
            "no invariant violated."
            if run.violation is None
            else f"[red]violation: {run.violation}[/]"
        )
    )
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

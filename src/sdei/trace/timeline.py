"""The terminal timeline: one column per PE, one row per step, handler nesting indented."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from sdei.trace.recorder import Record

STYLES = {
    "call": "cyan",
    "deliver": "bold magenta",
    "complete": "magenta",
    "irq": "yellow",
    "power": "bold blue",
    "note": "green",
    "lock": "white",
    "step": "dim",
    "fault": "bold red",
}


def _cell(records: Sequence[Record]) -> Text:
    text = Text()
    for n, record in enumerate(records):
        if n:
            text.append("\n")
        text.append("┃ " * record.depth, style="magenta")
        text.append(record.text, style=STYLES.get(record.kind, ""))
    return text


def timeline(
    records: Sequence[Record],
    pes: int,
    *,
    title: str | None = None,
    kinds: frozenset[str] | None = None,
    last: int | None = None,
) -> Table:
    """A rich Table of the run. `kinds` filters record kinds; `last` keeps the final N rows."""
    table = Table(title=title, show_lines=False, expand=False, pad_edge=False)
    table.add_column("step", justify="right", style="dim", no_wrap=True)
    for pe in range(pes):
        table.add_column(f"PE{pe}", overflow="fold", min_width=14)
    rows: list[tuple[int, dict[int, list[Record]]]] = []
    for record in records:
        if kinds is not None and record.kind not in kinds:
            continue
        if not rows or rows[-1][0] != record.step:
            rows.append((record.step, {}))
        rows[-1][1].setdefault(record.pe, []).append(record)
    if last is not None and len(rows) > last:
        skipped = len(rows) - last
        rows = rows[-last:]
        table.caption = f"(first {skipped} rows not shown)"
    for step, by_pe in rows:
        cells = [_cell(by_pe.get(pe, [])) for pe in range(pes)]
        table.add_row(str(step), *cells)
    return table

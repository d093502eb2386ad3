"""Showing a counterexample: the per-CPU timeline of its replay, the violated invariant and a
one-line explanation, as rich renderables or plain text."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.text import Text

from sdei.explore.api import Report
from sdei.explore.counterexample import Counterexample, ReplayOutcome, replay
from sdei.trace import timeline

MAX_ROWS = 80  # longer timelines keep their last rows


def counterexample_view(
    cx: Counterexample, outcome: ReplayOutcome | None = None, *, last: int | None = MAX_ROWS
) -> RenderableType:
    outcome = outcome or replay(cx)
    v = cx.violation
    where = f" on PE{v.pe}" if v.pe is not None else ""
    title = (
        f"{cx.scenario} · era {cx.era} · profile {cx.profile} · strategy {cx.strategy} "
        f"· seed {cx.seed}"
    )
    table = timeline(outcome.records, outcome.pes, title=title, last=last)
    head = Text()
    head.append(f"✗ {v.invariant}", style="bold red")
    head.append(f" at step {v.step}{where}: {v.message}")
    why = Text(cx.explanation, style="italic")
    shape = Text(
        f"{len(cx.choices)} choices, {cx.preemptions} "
        f"preemption{'s' if cx.preemptions != 1 else ''} after shrinking "
        f"(found with {cx.found_choices} choices)",
        style="dim",
    )
    parts: list[RenderableType] = [table, head, why, shape]
    if not outcome.reproduced:
        parts.append(Text(f"replay: {outcome.message}", style="yellow"))
    return Group(*parts)


def report_view(report: Report) -> RenderableType:
    status = Text(
        report.status(),
        style="bold red"
        if report.found
        else ("bold green" if report.verdict.startswith("complete") else "bold yellow"),
    )
    parts: list[RenderableType] = [Text(report.header(), style="bold"), status]
    for line in report.details():
        parts.append(Text(line, style="dim"))
    return Group(*parts)


def as_text(renderable: RenderableType, width: int = 120) -> str:
    """Plain text (no colours), for failure messages and logs."""
    console = Console(
        file=io.StringIO(), width=width, color_system=None, highlight=False, force_terminal=False
    )
    console.print(renderable)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()

"""Showing a counterexample: the per-CPU timeline of its replay, the violated invariant and a
one-line explanation, as rich renderables or plain text."""

from __future__ import annotations

import io
import itertools

from rich.console import Console, Group, RenderableType
from rich.text import Text

from sdei.explore.api import Report
from sdei.explore.counterexample import Counterexample, ReplayOutcome, replay
from sdei.scenarios.registry import ScenarioError, resolve
from sdei.text import counted
from sdei.trace import timeline
from sdei.trace.recorder import Record
from sdei.trace.state import StateLog, changes
from sdei.trace.timeline import STYLES

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
    longer = (
        "; longer, because shrinking takes fewer preemptions over fewer choices"
        if len(cx.choices) > cx.found_choices
        else ""
    )
    shape = Text(
        f"{counted(len(cx.choices), 'choice')}, {counted(cx.preemptions, 'preemption')} after "
        f"shrinking (found with {counted(cx.found_choices, 'choice')}{longer})",
        style="dim",
    )
    setup = Text(
        f"steps 1-{outcome.setup_steps}: set-up (boot, registration before the race), "
        "not interleaved and not shown; `sdei replay FILE --show-state` shows the state it "
        "left",
        style="dim",
    )
    parts: list[RenderableType] = [setup, table, head, why, shape]
    expected = expected_invariants(cx.scenario)
    if expected and v.invariant not in expected:
        parts.insert(
            4,
            Text(
                f"the scenario expects {' or '.join(expected)}; this run broke {v.invariant} first",
                style="yellow",
            ),
        )
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


def state_view(cx: Counterexample, outcome: ReplayOutcome, log: StateLog) -> RenderableType:
    """Step by step: what each PE did, then what changed in the state; the whole state after
    set-up first and at the end (`sdei replay FILE --show-state`)."""
    by_step: dict[int, list[Record]] = {}
    for record in outcome.records:
        by_step.setdefault(record.step, []).append(record)
    steps = log.steps()
    first = steps[0]
    parts: list[RenderableType] = [
        Text(
            f"steps 1-{first}: set-up (boot, registration before the race), not interleaved"
            if first
            else "no set-up steps",
            style="dim",
        ),
        _whole_state(f"state after set-up (step {first})", log.states[first]),
    ]
    for prev, step in itertools.pairwise(steps):
        line = Text(f"step {step:>4} ", style="bold")
        for n, record in enumerate(by_step.get(step, [])):
            if n:
                line.append(" · ")
            line.append(f"PE{record.pe} ", style="dim")
            line.append(record.text, style=STYLES.get(record.kind, ""))
        parts.append(line)
        for change in changes(log.states[prev], log.states[step]):
            parts.append(Text(f"       {change}", style="yellow" if change.new else "dim"))
    parts.append(_whole_state(f"state at step {steps[-1]} (the end)", log.states[steps[-1]]))
    v = cx.violation
    parts.append(Text(f"✗ {v.invariant} at step {v.step}: {v.message}", style="bold red"))
    return Group(*parts)


def _whole_state(title: str, state: dict[str, dict[str, str]]) -> RenderableType:
    lines: list[RenderableType] = [Text(title, style="bold underline")]
    for group, items in state.items():
        if not items:
            continue
        shown = " · ".join(f"{item} {value}" for item, value in items.items())
        lines.append(Text.assemble((f"  {group}: ", "bold"), shown))
    return Group(*lines)


def expected_invariants(spec: str) -> list[str]:
    """What the scenario says its bug breaks (none for a user file that cannot be loaded)."""
    try:
        scenario = resolve(spec)
    except ScenarioError:
        return []
    if not scenario.expected_invariant:
        return []
    return [scenario.expected_invariant, *scenario.also_violates]

"""`sdei scenarios`, `sdei explore` and `sdei replay`: search a scenario for races, show what
was found, and re-run it.

Exit codes: 0 no violation (the verdict says complete or incomplete), 1 a violation (the
counterexample is printed and written to --out), 2 bad usage or input (one line, no
traceback).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sdei.cli.render import choice, make_console
from sdei.explore import (
    PROFILES,
    STRATEGIES,
    Counterexample,
    ReplayFileError,
    UsageError,
    explore,
    replay,
    save,
)
from sdei.explore.api import output_paths
from sdei.explore.dfs import REDUCTIONS
from sdei.explore.html_report import write_report
from sdei.explore.parallel import ClusterError
from sdei.explore.render import counterexample_view, report_view, state_view
from sdei.kernel.eras import PATCHES
from sdei.scenarios.api import ERAS
from sdei.scenarios.registry import ScenarioError, builtin
from sdei.trace.state import StateLog

PROGRESS_AFTER = 1.0  # seconds before a progress bar appears
NARROW = 110  # terminals narrower than this get `sdei scenarios` as blocks, not tables


def _prepare_out(out: Path) -> bool:
    """Make sure a counterexample can be written to `out`; True if the directory was made."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise _fail(f"--out {out}: cannot write there: {error.strerror or error}") from None
    return created


def _fail(message: str) -> typer.Exit:
    text = Text("error: ", style="red")
    text.append(message)
    make_console().print(text, soft_wrap=True)
    return typer.Exit(2)


class _ProgressBar:
    """A rich progress bar with executions per second, shown once a search has run for a
    second (short searches print nothing)."""

    def __init__(self, console: Console, strategy: str, total: int | None) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} executions"),
            TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.strategy = strategy
        self.total = total
        self.started = time.monotonic()
        self.task: TaskID | None = None

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if self.task is None:
            if now - self.started < PROGRESS_AFTER:
                return
            self.progress.start()
            self.task = self.progress.add_task(self.strategy, total=self.total, rate="0")
        rate = done / max(1e-9, now - self.started)
        self.progress.update(self.task, completed=done, rate=f"{rate:.0f}")

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def parse_params(given: Sequence[str]) -> dict[str, int]:
    """`--param NAME=VALUE` options as a dict; a malformed one is a usage error (exit 2)."""
    values: dict[str, int] = {}
    for text in given:
        name, equals, value = text.partition("=")
        name = name.strip()
        try:
            number = int(value, 0)
        except ValueError:
            number = None
        if not equals or not name or number is None:
            raise typer.BadParameter(
                f"{text!r}: expected NAME=VALUE with a whole number VALUE (callers=3)",
                param_hint="'--param'",
            )
        values[name] = number
    return values


def scenarios() -> None:
    """List the built-in scenarios with the eras where they find a bug and where not."""
    console = make_console()
    found = builtin()
    if not found:
        console.print("No built-in scenarios are installed.")
        return
    titles = {
        "historic": "Bugs Linux has fixed: found in the eras before the fix, not after",
        "review-era": "Review-era races: no kernel can interleave them",
        "latent": "Latent in today's Linux: found in every era listed, cleared by the patch",
        "ras": "Firmware-first RAS: GHES error records through SDEI (docs/ras.md)",
    }
    narrow = console.width < NARROW
    for group, title in titles.items():
        chosen = [s for s in found if s.group == group]
        if not chosen:
            continue
        latent = group == "latent"
        rows = []
        for s in chosen:
            buggy = ", ".join(s.buggy_eras) or ("none: cannot happen" if s.unreachable else "-")
            if s.patches and s.buggy_eras:
                buggy += f" (+{', '.join(s.patches)})"
            cleared = ", ".join(s.fixed_eras) or "-"
            how = "fixed by --patch" if latent else "not in"
            if s.fix:
                cleared = " + ".join(s.fix)
                if not latent:
                    cleared, how = f"--patch {cleared}", "fixed by"
                if s.fixed_eras:
                    cleared += f"; not in {', '.join(s.fixed_eras)}"
            elif "proof" in s.tags:  # a protocol that holds: nothing to find anywhere
                buggy, how = "none (a proof)", "holds in"
            about = s.description + (f". Why not: {s.unreachable}" if s.unreachable else "")
            for knob in s.parameters:
                about += (
                    f"; --param {knob.name}={knob.low}..{knob.high} "
                    f"(default {knob.default}): {knob.help}"
                )
            breaks = s.expected_invariant or "-"
            if s.also_violates:  # the same race can break these first
                breaks += f" (or {', '.join(s.also_violates)})"
            rows.append((s.name, buggy, cleared, breaks, about, how))
        if narrow:  # a block per scenario: five columns do not fit in 80
            console.print(Text(title, style="bold underline"))
            for name, buggy, cleared, invariant, about, how in rows:
                console.print(
                    Text.assemble(
                        (name, "bold"),
                        "  bug in ",
                        (buggy, "red"),
                        f"; {how} ",
                        (cleared, "green"),
                    )
                )
                console.print(
                    Text.assemble("  breaks ", (invariant, "cyan"), (f": {about}", "dim"))
                )
            continue
        table = Table(title=title, title_justify="left", pad_edge=False)
        table.add_column("scenario", style="bold", no_wrap=True)
        table.add_column("finds a bug in", style="red")
        table.add_column(
            "fixed by --patch" if latent else "and not in", style="green", no_wrap=latent
        )
        table.add_column("invariant", style="cyan")
        table.add_column("description")
        for row in rows:
            table.add_row(*row[:5])
        console.print(table)
    if narrow:
        console.print(Text("Driver patches (--patch NAME)", style="bold underline"))
        for p in PATCHES.values():
            console.print(Text.assemble((p.name, "bold"), f"  fixes {p.fixes or '-'}; {p.origin}"))
            console.print(Text(f"  {p.summary}", style="dim"))
    else:
        patches = Table(title="Driver patches (--patch NAME)", title_justify="left", pad_edge=False)
        patches.add_column("patch", style="bold", no_wrap=True)
        patches.add_column("fixes")
        patches.add_column("origin", no_wrap=True)
        patches.add_column("what it changes")
        for p in PATCHES.values():
            patches.add_row(p.name, p.fixes or "-", p.origin, p.summary)
        console.print(patches)
    console.print(
        "Run one: sdei explore NAME --era ERA [--patch PATCH]   (user files: FILE.py::NAME)",
        style="dim",
    )


def explore_command(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario (see `sdei scenarios`) or FILE.py::NAME.")
    ],
    era: Annotated[str, choice("--era", values=ERAS, help="Linux era.")] = "latest",
    profile: Annotated[
        str, choice("--profile", values=PROFILES, help="Firmware profile.")
    ] = "spec",
    strategy: Annotated[
        str, choice("--strategy", values=STRATEGIES, help="Search strategy.")
    ] = "auto",
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            min=0.01,
            help="Wall-clock budget in seconds (default 60; dfs: until complete).",
        ),
    ] = None,
    executions: Annotated[
        int | None,
        typer.Option("--executions", min=1, help="Stop after this many executions."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the randomized strategies.")] = 0,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="Processes to search in, this one included (default: all cores for the "
            "randomized search; the dfs, alone or as auto's last phase, in one process unless "
            "--jobs is given).",
        ),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Dask scheduler address, e.g. tcp://HOST:8786.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the counterexample.")] = Path(
        "sdei-out"
    ),
    bound: Annotated[
        int | None,
        typer.Option(
            "--preemption-bound", min=0, help="dfs preemption bound (default: the scenario's)."
        ),
    ] = None,
    reduction: Annotated[
        str, choice("--reduction", values=REDUCTIONS, help="dfs partial-order reduction.")
    ] = "dpor",
    states: Annotated[
        bool,
        typer.Option(
            "--states/--no-states",
            help="dfs: fingerprint every state and never search one twice (the default).",
        ),
    ] = True,
    depth: Annotated[int, typer.Option("--pct-depth", min=1, help="PCT bug depth.")] = 3,
    cpus: Annotated[
        int | None, typer.Option("--cpus", min=1, help="CPUs (default: the scenario's).")
    ] = None,
    patch: Annotated[
        list[str] | None,
        choice(
            "--patch",
            values=tuple(PATCHES),
            help="A driver patch on top of the era (repeatable; see `sdei scenarios`).",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="NAME=VALUE",
            help="A scenario parameter (repeatable; `sdei scenarios` lists them).",
        ),
    ] = None,
    require_complete: Annotated[
        bool,
        typer.Option(
            "--require-complete",
            help="Exit 3 unless the search proved there is no violation (complete, unbounded).",
        ),
    ] = False,
) -> None:
    """Search a scenario's interleavings for a violation.

    Exit 0: none found (the verdict says whether the search was complete).
    1: found; the counterexample is printed, and its replay file, HTML report and Perfetto
    trace are written to --out.
    2: bad input, or an error in the scenario's code.
    3: with --require-complete, nothing found but not every interleaving searched."""
    console = make_console()
    created = _prepare_out(out)  # before the search: a bad --out should not cost one
    # One process unless asked: a stateful dfs in pieces keeps its states per process, so its
    # execution count would vary from run to run.
    parallel_dfs = jobs is not None
    if jobs is None:
        jobs = os.cpu_count() or 1
    if budget is None and executions is None and strategy != "dfs":
        budget = 60.0
    ticker = _ProgressBar(console, strategy, executions)
    try:
        try:
            report = explore(
                scenario,
                era=era,
                profile=profile,
                cpus=cpus,
                patches=tuple(patch or ()),
                params=parse_params(param or ()),
                strategy=strategy,
                seed=seed,
                budget=budget,
                executions=executions,
                jobs=jobs,
                parallel_dfs=parallel_dfs,
                cluster=cluster,
                reduction=reduction,
                states=states,
                depth=depth,
                bound="scenario" if bound is None else bound,
                progress=ticker,
                handle_sigint=True,
            )
        finally:
            ticker.close()
    except (UsageError, ScenarioError, ClusterError) as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        console.print(Text("aborted (second Ctrl-C)", style="yellow"))
        raise typer.Exit(130) from None
    console.print(report_view(report))
    if report.counterexample is None:
        if created:
            out.rmdir()  # made for a counterexample that did not come
        raise typer.Exit(3 if require_complete and report.verdict != "complete" else 0)
    console.print(counterexample_view(report.counterexample))
    earlier = {p for p in output_paths(report.counterexample, out).values() if p.exists()}
    try:
        written = save(report, out)
    except OSError as error:
        raise _fail(f"cannot write to {out}: {error.strerror or error}") from None
    for kind, path in written.items():
        note = " (replaced an earlier file)" if path in earlier else ""
        console.print(Text(f"{kind}: {path}{note}", style="dim"))
    console.print(Text(f"reproduce: sdei replay {written['replay']}", style="dim"))
    raise typer.Exit(1)


def replay_command(
    file: Annotated[Path, typer.Argument(help="A replay file written by `sdei explore`.")],
    show_state: Annotated[
        bool,
        typer.Option(
            "--show-state",
            help="Print every step with what it changed in the state (PEs, events, locks, "
            "the kernel's view), and the whole state after set-up and at the end.",
        ),
    ] = False,
) -> None:
    """Re-run a replay file step for step: exit 1 with the same violation, or say exactly
    where the run diverged (exit 2). Writes the HTML report beside the file."""
    console = make_console()
    try:
        cx = Counterexample.load(file)
        outcome = replay(cx, observers=[StateLog])
    except (ReplayFileError, ScenarioError) as error:
        raise _fail(str(error)) from None
    log = outcome.observers[0]
    if show_state:
        console.print(state_view(cx, outcome, log))
    else:
        console.print(counterexample_view(cx, outcome))
    page = file.with_name(file.name.removesuffix(".json").removesuffix(".replay") + ".html")
    try:
        write_report(page, cx, outcome, log)
    except OSError as error:
        console.print(Text(f"report not written: {page}: {error.strerror or error}", style="dim"))
    else:
        console.print(Text(f"report: {page}", style="dim"))
    if outcome.reproduced:
        console.print(Text.assemble(("reproduced: ", "bold red"), outcome.message))
        raise typer.Exit(1)
    console.print(Text.assemble(("not reproduced: ", "bold yellow"), outcome.message))
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios)
    app.command("explore")(explore_command)
    app.command("replay")(replay_command)

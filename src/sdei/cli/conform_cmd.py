"""`sdei conform`: the conformance suite and the differential fuzzer against a dispatcher."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sdei.cli.render import choice, make_console
from sdei.conform import fuzz as fuzzing
from sdei.conform.suite import Result, cases, run_case
from sdei.conform.target import BuiltinTarget, TargetError, default_profile, make_target
from sdei.text import counted

PROGRESS_FROM = 50_000  # operations from which --diff shows a progress bar
FAILED = "the target failed: "  # how the suite reports a target's own failure


def _fail(message: str) -> typer.Exit:
    text = Text("error: ", style="red")
    text.append(message)
    make_console().print(text, soft_wrap=True)
    return typer.Exit(2)


def conform(
    target: Annotated[
        str,
        typer.Option(
            "--target",
            help="builtin, builtin:spec, builtin:tfa, tfa (TF-A's own dispatcher built for "
            "this host; tfa:debug or tfa:release), or process:COMMAND (a program speaking "
            "the line protocol of docs/conform.md).",
        ),
    ] = "builtin",
    profile: Annotated[
        str | None,
        choice(
            "--profile",
            values=("spec", "tfa"),
            help="What the target claims to follow: cases and the model are judged by it "
            "(default: tfa for TF-A, spec otherwise).",
        ),
    ] = None,
    tfa_src: Annotated[
        Path | None,
        typer.Option(
            "--tfa-src",
            help="--target tfa: a TF-A source tree (default: $SDEI_TFA_SRC, or Debian's "
            "arm-trusted-firmware source, fetched with apt-get source into ~/.cache/sdei).",
        ),
    ] = None,
    pes: Annotated[int, typer.Option("--pes", min=2, max=64, help="PEs of the platform.")] = 3,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Differential fuzzing against our model instead of the suite."),
    ] = False,
    operations: Annotated[
        int, typer.Option("--operations", min=1, help="--diff: random operations to drive.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="--diff: the random seed.")] = 0,
    out: Annotated[
        Path, typer.Option("--out", help="--diff: where the replay files of differences go.")
    ] = Path("sdei-conform"),
    replay_file: Annotated[
        Path | None,
        typer.Option("--replay", help="Re-run a difference's replay file on both sides."),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON here.")
    ] = None,
    junit_file: Annotated[
        Path | None, typer.Option("--junit", help="Write the results as JUnit XML here.")
    ] = None,
) -> None:
    """Run the conformance suite (or, with --diff, the differential fuzzer) against an SDEI
    dispatcher.

    Exit 0: the target conforms (no case failed, no difference found).
    1: it does not. 2: bad usage, or a target that cannot be run."""
    console = make_console()
    try:
        if replay_file is not None:
            raise typer.Exit(_replay(console, replay_file, tfa_src))
        chosen = profile or default_profile(target)
        t = make_target(target, profile=chosen, pes=pes, tfa_src=tfa_src)
    except (TargetError, fuzzing.ReplayError) as error:
        raise _fail(str(error)) from None
    try:
        if diff:
            code = _fuzz(console, t, operations, seed, out, json_file, junit_file)
        else:
            code = _suite(console, t, json_file, junit_file)
    except TargetError as error:
        raise _fail(str(error)) from None
    finally:
        t.close()
    raise typer.Exit(code)


def _suite(console: Any, t: Any, json_file: Path | None, junit_file: Path | None) -> int:
    _about(console, t)
    start = time.perf_counter()
    results = [run_case(c, t) for c in cases()]
    seconds = time.perf_counter() - start
    counts = Counter(r.status for r in results)
    groups: dict[str, Counter[str]] = {}
    for r in results:
        groups.setdefault(r.case.id.split("/")[0], Counter())[r.status] += 1
    table = Table(title=f"sdei conform: {t.name} ({t.profile} profile, {t.pes} PEs)")
    table.add_column("cases")
    for status in ("pass", "fail", "skip"):
        table.add_column(status, justify="right")
    for group, c in groups.items():
        table.add_row(group, str(c["pass"]), str(c["fail"] or ""), str(c["skip"] or ""))
    console.print(table)
    for r in results:
        if r.status == "fail":
            console.print(
                Text.assemble(("✗ ", "bold red"), (r.case.id, "bold"), f" [{r.case.rule}]: ")
                + Text(r.message)
            )
            failed = r.message.removeprefix(FAILED)
            if failed != r.message:
                why = _why(t, fuzzing.failure_kind(failed), None, None)
                if why is not None:
                    console.print(Text(f"  why: {why}"))
    verdict = "conforms" if not counts["fail"] else "does not conform"
    console.print(
        Text(
            f"{t.name} {verdict}: {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['skip']} not for this profile ({seconds:.2f} s)",
            style="bold green" if not counts["fail"] else "bold red",
        )
    )
    if json_file is not None:
        _write(json_file, json.dumps(_suite_json(t, results), indent=1) + "\n")
    if junit_file is not None:
        _write(junit_file, _junit(t.name, results))
    return 1 if counts["fail"] else 0


def _suite_json(t: Any, results: list[Result]) -> dict[str, Any]:
    return {
        "target": t.name,
        **_source_json(t),
        "profile": t.profile,
        "pes": t.pes,
        "cases": [
            {"id": r.case.id, "rule": r.case.rule, "status": r.status, "message": r.message}
            for r in results
        ],
        "differences": [],
    }


def _junit(name: str, results: list[Result]) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"sdei conform {name}",
        tests=str(len(results)),
        failures=str(sum(r.status == "fail" for r in results)),
        skipped=str(sum(r.status == "skip" for r in results)),
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r.case.id.split("/")[0], name=r.case.id)
        if r.status == "fail":
            ET.SubElement(case, "failure", message=r.message).text = r.case.rule
        elif r.status == "skip":
            ET.SubElement(case, "skipped", message=r.message)
    return ET.tostring(suite, encoding="unicode") + "\n"


def _fuzz(
    console: Any,
    t: Any,
    operations: int,
    seed: int,
    out: Path,
    json_file: Path | None,
    junit_file: Path | None,
) -> int:
    _about(console, t)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fuzzing.clear_replays(out)
    except OSError as error:
        raise _fail(f"--out {out}: {error.strerror or error}") from None
    start = time.perf_counter()
    with Progress(
        TextColumn("fuzzing"),
        BarColumn(),
        TextColumn("{task.completed:,} / {task.total:,} operations"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=operations < PROGRESS_FROM,
    ) as bar:
        task = bar.add_task("fuzz", total=operations)
        result = fuzzing.fuzz(
            t,
            operations=operations,
            seed=seed,
            out=out,
            progress=lambda done: bar.update(task, completed=min(done, operations)),
        )
    seconds = time.perf_counter() - start
    groups = result.groups()
    console.print(
        Text(
            f"{t.name} against the model ({t.profile}): {result.operations:,} operations in "
            f"{result.sequences:,} sequences, {seconds:.2f} s; "
            f"{counted(len(groups), 'kind')} of difference",
            style="bold red" if groups else "bold green",
        )
    )
    for kind, found in groups.items():
        d = found[0]
        console.print(
            Text.assemble(
                ("≠ ", "bold red"),
                (kind, "bold"),
                f": target {_said(d.target)}, model {_said(d.model)} after "
                f"{counted(len(d.ops), 'operation')}",
            )
        )
        why = _why(t, d.kind, d.target, d.model)
        if why is not None:
            console.print(Text(f"  why: {why}"))
        if d.replay is not None:
            console.print(Text(f"  reproduce: sdei conform --replay {d.replay}", style="dim"))
    if json_file is not None:
        data = {
            "target": t.name,
            **_source_json(t),
            "profile": t.profile,
            "pes": t.pes,
            "operations": result.operations,
            "cases": [],
            "differences": [
                {
                    "kind": d.kind,
                    "target": d.target,
                    "model": d.model,
                    "why": _why(t, d.kind, d.target, d.model),
                    "operations": d.ops,
                    "replay": str(d.replay) if d.replay else None,
                }
                for d in result.differences
            ],
        }
        _write(json_file, json.dumps(data, indent=1) + "\n")
    if junit_file is not None:
        suite = ET.Element(
            "testsuite", name=f"sdei conform --diff {t.name}", tests=str(len(groups) or 1),
            failures=str(len(groups)),
        )  # fmt: skip
        for kind, found in groups.items():
            case = ET.SubElement(suite, "testcase", classname="diff", name=kind)
            ET.SubElement(case, "failure", message=f"{found[0].target!r} vs {found[0].model!r}")
        if not groups:
            ET.SubElement(suite, "testcase", classname="diff", name="no difference")
        _write(junit_file, ET.tostring(suite, encoding="unicode") + "\n")
    return 1 if groups else 0


def _source_json(t: Any) -> dict[str, Any]:
    if getattr(t, "source", None) is None:
        return {}
    return {"source": str(t.source), "version": t.version, "build": t.build_kind}


def _said(answer: Any) -> str:
    return "no event offered" if answer == () else repr(answer)


def _about(console: Any, t: Any) -> None:
    """Which TF-A was tested: its release and tree."""
    if getattr(t, "source", None) is not None:
        release = f"TF-A {t.version}" if t.version else "TF-A"
        console.print(Text(f"{release} ({t.build_kind} build) from {t.source}", style="dim"))


def _why(t: Any, kind: str, target_said: Any, model_said: Any) -> str | None:
    """Which rule each side follows, for the differences worked out for TF-A."""
    if not t.name.startswith("tfa"):
        return None
    from sdei.conform.tfa import explain

    return explain(kind, target_said, model_said)


def _replay(console: Any, path: Path, tfa_src: Path | None) -> int:
    data = fuzzing.load(path)
    source = tfa_src or (Path(data["source"]) if data.get("source") else None)
    t = make_target(data["target"], profile=data["profile"], pes=data["pes"], tfa_src=source)
    try:
        model = BuiltinTarget(data["profile"], data["pes"])
        found = fuzzing.first_difference(t, model, data["ops"])
    finally:
        t.close()
    for n, op in enumerate(data["ops"]):
        console.print(Text(f"{n:>3} {json.dumps(op)}", style="dim"))
    if found is None:
        console.print(Text("no difference: both sides agree on every operation", style="green"))
        return 0
    index, kind, got, want = found
    console.print(
        Text.assemble(
            ("≠ ", "bold red"), f"operation {index} ({kind}): target {got!r}, model {want!r}"
        )
    )
    why = _why(t, kind, got, want)
    if why is not None:
        console.print(Text(f"  why: {why}"))
    return 1


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as error:
        raise _fail(f"cannot write {path}: {error.strerror or error}") from None


def register(app: typer.Typer) -> None:
    app.command("conform")(conform)

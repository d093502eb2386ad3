"""`sdei ras`: firmware-first RAS - `sdei ras inject` follows one error from firmware through
SDEI to the kernel's log; `sdei ras decode FILE` prints a GHES error status block (CPER) as
Linux's cper_estatus_print() would."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from sdei.cli.render import choice, make_console
from sdei.formats import check_bootable, cper, discover_acpi
from sdei.formats.errors import FormatError
from sdei.kernel import ERA_NAMES
from sdei.ras.agent import KINDS, InjectError
from sdei.ras.flow import SEVERITIES, InjectReport, inject

ras = typer.Typer(help="Firmware-first RAS: CPER error records.", no_args_is_help=True)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@ras.command("decode")
def decode(
    path: Annotated[Path, typer.Argument(help="A binary generic error status block.")],
    as_json: Annotated[bool, typer.Option("--json", help="The fields as JSON.")] = False,
) -> None:
    """Decode a GHES error status block: its entries and CPER sections, as Linux prints them
    (the seq and log level omitted). Exit 2 on a malformed block, naming the byte offset."""
    console = make_console()
    try:
        data = path.read_bytes()
    except OSError as error:
        console.print(Text(f"error: {path}: {error.strerror or error}", style="red"))
        raise typer.Exit(2) from None
    try:
        block = cper.parse(data, str(path))
    except FormatError as error:
        console.print(Text("error: ", style="red") + Text(str(error)), soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        fields = _plain(asdict(block))
        for entry, parsed in zip(fields["entries"], block.entries, strict=True):
            entry["section_type"] = parsed.section.NAME
        print(json.dumps(fields, indent=1))
        return
    for line in cper.linux_lines(block):
        console.print(Text(line), soft_wrap=True)


def _bundled_acpi(workdir: Path) -> Path:
    """The project's examples/acpi tables, compiled with iasl into `workdir`."""
    here = Path(__file__).resolve()
    sources = sorted((here.parents[3] / "examples" / "acpi").glob("*.asl"))
    if not sources:
        raise InjectError("the bundled examples/acpi tables are not in this installation: "
                          "pass --acpi DIR")  # fmt: skip
    if shutil.which("iasl") is None:
        raise InjectError("iasl is needed to build examples/acpi (apt-get install acpica-tools)"
                          ", or pass --acpi DIR with compiled tables")  # fmt: skip
    for source in sources:
        run = subprocess.run(
            ["iasl", "-p", str(workdir / source.stem), str(source)],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise InjectError(f"iasl {source.name} failed: {run.stdout.strip()[-200:]}")
    return workdir


def _number(text: str | int) -> int:
    if isinstance(text, int):  # the default
        return text
    try:
        return int(text, 0)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number (0x... for hex)") from None


@ras.command("inject")
def inject_cmd(
    kind: Annotated[
        str, choice("--type", values=KINDS, help="The CPER section firmware reports.")
    ] = "memory",
    address: Annotated[
        int,
        typer.Option(
            "--address",
            parser=_number,
            metavar="ADDR",
            help="Physical address (memory, processor) or PCIe bus/dev/fn (pcie).",
            show_default="0x80001000",
        ),
    ] = 0x8000_1000,
    severity: Annotated[
        str, choice("--severity", values=SEVERITIES, help="The record's error severity.")
    ] = "recoverable",
    acpi: Annotated[
        Path | None,
        typer.Option(
            "--acpi", help="ACPI tables to boot from (default: examples/acpi, built with iasl)."
        ),
    ] = None,
    era: Annotated[str, choice("--era", values=ERA_NAMES, help="Linux era.")] = "latest",
    cpu: Annotated[int, typer.Option("--cpu", min=0, help="The CPU firmware runs on.")] = 0,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, max=16, help="Inject the same error N times.")
    ] = 1,
    perfetto: Annotated[
        Path | None,
        typer.Option("--perfetto", help="Also write a Perfetto trace of the flow here."),
    ] = None,
) -> None:
    """Inject one firmware-first error and follow it: the record firmware wrote, the SDEI
    event, what each CPU did, and the kernel's log. Exit 0 when the flow ran (a fatal error's
    panic included), 2 on a bad request."""
    console = make_console()
    try:
        with tempfile.TemporaryDirectory(prefix="sdei-ras-") as tmp:
            tables = acpi if acpi is not None else _bundled_acpi(Path(tmp))
            discovery = discover_acpi(tables)
            check_bootable(discovery)
            report = inject(discovery, kind, severity, address, era=era, cpu=cpu,
                            repeat=repeat, perfetto=perfetto)  # fmt: skip
    except (FormatError, InjectError) as error:
        console.print(Text("error: ", style="red") + Text(str(error)), soft_wrap=True)
        raise typer.Exit(2) from None
    _show(console, report)
    if perfetto is not None:
        console.print(Text(f"Perfetto trace: {perfetto} (open it at ui.perfetto.dev)", style="dim"))
    if report.violation is not None:
        raise typer.Exit(1)


def _show(console: Any, r: InjectReport) -> None:
    d = r.source.desc
    head = Text("Firmware wrote ", style="bold")
    head.append(f"a {len(r.injection.record or b'')}-byte record to the error status block of "
                f"GHES{'v2' if r.source.v2 else ''} source {d.source_id} at "
                f"{r.source.block_address:#x} (Error Status Address {d.error_status_address:#x})",
                style="")  # fmt: skip
    console.print(head)
    for line in cper.linux_lines(r.record, "  "):
        console.print(Text(line, style="dim"))
    console.print(
        Text.assemble(("SDEI event ", "bold"), f"{r.event:#x} (HEST source {d.source_id})")
    )
    console.print(Text("Flow", style="bold"))
    for step in r.steps:
        console.print(Text(f"  CPU{step.cpu}  {step.text}"))
    console.print(Text("Kernel log", style="bold"))
    for cpu, line in r.log:
        if "[Hardware Error]" in line or "GHES" in line or "Memory failure" in line:
            console.print(Text(f"  CPU{cpu}  {line}"))
    outcome = Text("Outcome: ", style="bold")
    if not r.registered:
        outcome.append(
            "not read - GHES did not register this source's SDEI event (no SDEI notification "
            "before v5.1); the record stays in the block",
            style="yellow",
        )
    elif r.panic:
        outcome.append(f"panic ({r.panic})", style="red")
    elif r.memory_failures:
        outcome.append(", ".join(f"memory_failure_queue(pfn {pfn:#x}, flags {flags:#x})"
                                 for pfn, flags in r.memory_failures))  # fmt: skip
    else:
        outcome.append("logged")
    for source, why in r.lost:
        outcome.append(f"; an error for source {source} was dropped: {why}", style="yellow")
    console.print(outcome)
    if r.violation:
        console.print(Text(f"violation: {r.violation}", style="red"))


def register(app: typer.Typer) -> None:
    app.add_typer(ras, name="ras")

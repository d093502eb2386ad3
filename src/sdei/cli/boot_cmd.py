"""`sdei boot FILE.dtb` / `sdei boot --acpi DIR`: what the firmware tables describe, and what
the Linux driver did with it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sdei.abi import Function, decode_version
from sdei.cli.render import choice, make_console
from sdei.formats import Discovery, FormatError, check_bootable, discover_acpi, discover_dtb
from sdei.kernel import ERA_NAMES
from sdei.scenarios.board import boot_board


def discovery_table(d: Discovery) -> Table:
    table = Table(
        title=f"Discovered from {d.path} ({'device tree' if d.source == 'dt' else 'ACPI'})",
        title_justify="left",
        show_header=False,
    )
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("SDEI", f"present, conduit {d.conduit}" if d.sdei_present else "absent")
    table.add_row("PSCI conduit", str(d.psci_conduit))
    table.add_row("GIC", f"v{d.gic_version}" if d.gic_version else "not described")
    table.add_row(
        "CPUs", ", ".join(f"{c.mpidr:#x}" + ("" if c.enabled else " (disabled)") for c in d.cpus)
    )
    for g in d.ghes:
        note = f"SDEI event {g.event:#x}" if g.event is not None else f"notify type {g.notify_type}"
        table.add_row(f"GHES source {g.source_id}", f"GHESv{g.ghes_version}, {note}")
    return table


def boot(
    dtb: Annotated[
        Path | None,
        typer.Argument(help="A device-tree blob (.dtb), or its source (.dts, compiled with dtc)."),
    ] = None,
    acpi: Annotated[
        Path | None,
        typer.Option(
            "--acpi",
            help="A directory of ACPI tables (*.aml, *.dat, or copied from "
            "/sys/firmware/acpi/tables), or a file of acpidump's output.",
        ),
    ] = None,
    era: Annotated[str, choice("--era", values=ERA_NAMES, help="Driver era.")] = "latest",
) -> None:
    """Boot a machine from a DTB or ACPI tables and show what the SDEI driver did."""
    console = make_console()
    if (dtb is None) == (acpi is None):
        console.print("[red]error:[/] give a DTB file or --acpi DIR (one of them)")
        raise typer.Exit(2)
    if era not in ERA_NAMES:
        console.print(f"[red]error:[/] unknown era {era!r}: expected one of {', '.join(ERA_NAMES)}")
        raise typer.Exit(2)
    try:
        discovery = discover_dtb(dtb) if dtb is not None else discover_acpi(acpi)  # type: ignore[arg-type]
        check_bootable(discovery)
    except FormatError as error:
        console.print(f"[red]error:[/] {error}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(discovery_table(discovery))
    try:
        board = boot_board(discovery, era=era)
    except FormatError as error:
        console.print(f"[red]error:[/] {error}", soft_wrap=True)
        raise typer.Exit(2) from None
    machine, linux = board.machine, board.linux
    driver = linux.driver
    console.print(f"[bold]Driver ({era})[/]")
    if driver.version:
        v = decode_version(driver.version)
        console.print(f"  SDEI version {v.major}.{v.minor}, vendor {v.vendor:#x}")
    for cpu, line in linux.k.printk.lines:
        console.print(f"  [dim]CPU{cpu}[/] {line}")
    state = "probed" if driver.probed else ("no SDEI" if driver.conduit is None else "not probed")
    console.print(
        f"  probe: {state}; CPUs online {sorted(linux.k.online)}; masked "
        f"{[c for c in sorted(linux.k.online) if machine.firmware.is_masked(c)]}"
    )
    for event in driver.events.values():
        status = machine.firmware.call(0, Function.EVENT_STATUS, event.number)
        console.print(
            f"  event {event.number:#x} ({'shared' if event.shared else 'private'}, "
            f"{'critical' if event.priority else 'normal'}): EVENT_STATUS {status:#05b}"
        )
    if board.result.violation is not None:
        console.print(f"[red]violation:[/] {board.result.violation}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("boot")(boot)

"""`sdei ras`: firmware-first RAS records - `sdei ras decode FILE` prints a GHES error status
block (CPER) as Linux's cper_estatus_print() would."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from sdei.cli.render import make_console
from sdei.formats import cper
from sdei.formats.errors import FormatError

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


def register(app: typer.Typer) -> None:
    app.add_typer(ras, name="ras")

"""The typer application: global options, and the list of command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from sdei import __version__, accel
from sdei.cli import abi_cmd, boot_cmd, conform_cmd, demo_cmd, explore_cmd, ras_cmd, walk_cmd

# One module per command, each with `register(app)`. A new command is a module and a line here.
COMMANDS: tuple[Callable[[typer.Typer], None], ...] = (
    abi_cmd.register,
    walk_cmd.register,
    demo_cmd.register,
    boot_cmd.register,
    explore_cmd.register,
    conform_cmd.register,
    ras_cmd.register,
)

HELP = (
    "An executable model of Arm's Software Delegated Exception Interface (SDEI, DEN0054).\n\n"
    "The firmware dispatcher is modelled call by call, in two profiles: [bold]spec[/] "
    "(DEN0054C) and [bold]tfa[/] (what Trusted Firmware-A does)."
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"sdei {__version__} (compiled hot paths {accel.status()})")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="sdei",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,
        rich_markup_mode="rich",
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                callback=_print_version,
                is_eager=True,
                help="Print the version and exit.",
            ),
        ] = False,
    ) -> None:
        """An executable model of Arm's SDEI (DEN0054)."""

    for register in COMMANDS:
        register(app)
    return app


app = build_app()


def main() -> None:
    """The console entry point (`sdei = "sdei.cli:main"`)."""
    app()

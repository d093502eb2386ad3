"""The `sdei` command: typer + rich. The only layer that prints.

Each command lives in its own module (`abi_cmd`, `demo_cmd`, ...) with a `register(app)`
function; `app.py` lists them. `main()` is the console entry point.
"""

from sdei.cli.app import app, main

__all__ = ["app", "main"]

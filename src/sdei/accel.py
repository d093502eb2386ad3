"""Compiled hot paths (optional): the engine, the board and the explorer's core compiled to C
with mypyc, used in place of their sources when built for exactly those sources.

`make accel` compiles MODULES into `.accel/` beside `src/`, with a manifest of the hashes of
every source of the package. At `import sdei` the compiled modules are used only if every
source is unchanged (compiled code knows the types it was built against, such as a named
tuple's fields, and a partial match would mix old code with new), the interpreter is the one
they were built for, and SDEI_ACCEL is not 0. Anything else runs the sources as they are, and
`status()` says why. Nothing else changes: the compiled modules are the same code, and the
tests run against both.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# The modules each step or each race analysis runs through, compiled together.
MODULES = (
    "sdei.firmware.dispatcher",
    "sdei.machine.codemap",
    "sdei.machine.contexts",
    "sdei.machine.engine",
    "sdei.machine.footprints",
    "sdei.machine.gic",
    "sdei.machine.invariants",
    "sdei.machine.locks",
    "sdei.machine.machine",
    "sdei.machine.pe",
    "sdei.explore.dependence",
    "sdei.explore.dfs",
    "sdei.explore.execution",
    "sdei.explore.fingerprint",
)
GROUP = "sdei_accel"  # the name of mypyc's shared library (GROUP__mypyc)
SOURCES = Path(__file__).resolve().parent.parent  # src/
DEFAULT_DIR = SOURCES.parent / ".accel"

_status = "off: not built (make accel)"


def status() -> str:
    """Whether the compiled modules are in use, and if not, why."""
    return _status


def _directory() -> Path:
    return Path(os.environ.get("SDEI_ACCEL_DIR") or DEFAULT_DIR)


def _source(module: str) -> Path:
    return SOURCES.joinpath(*module.split(".")).with_suffix(".py")


def _digests() -> dict[str, str]:
    """Every source of the package (but this file) -> its SHA-256."""
    package = SOURCES / "sdei"
    return {
        str(path.relative_to(SOURCES)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(package.rglob("*.py"))
        if path != Path(__file__).resolve()
    }


def _tag() -> str:
    return f"{sys.implementation.cache_tag}-{importlib.machinery.EXTENSION_SUFFIXES[0]}"


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules (and mypyc's shared library) in the build directory."""

    def __init__(self, found: dict[str, Path]) -> None:
        self.found = found

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        where = self.found.get(fullname)
        if where is None:
            return None
        return importlib.util.spec_from_file_location(fullname, where)


def _check(directory: Path) -> str | None:
    """Why the build in `directory` cannot be used for the sources as they are (None: it can)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return "not built (make accel)"
    if manifest.get("tag") != _tag() or manifest.get("modules") != list(MODULES):
        return "built for another interpreter or module list (make accel)"
    built, now = manifest.get("sources", {}), _digests()
    changed = sorted(p for p in built.keys() | now.keys() if built.get(p) != now.get(p))
    if changed:
        return f"{len(changed)} source(s) changed since the build, {changed[0]} first (make accel)"
    if not all(p.is_file() for p in _files(directory).values()):
        return "the build is incomplete (make accel)"
    return None


def _files(directory: Path) -> dict[str, Path]:
    """Each compiled module's file, and mypyc's shared library."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    found = {m: directory.joinpath(*m.split(".")).with_suffix(suffix) for m in MODULES}
    found[f"{GROUP}__mypyc"] = directory / f"{GROUP}__mypyc{suffix}"
    return found


def install() -> None:
    """Use the compiled modules when they were built from the sources as they are now."""
    global _status
    if os.environ.get("SDEI_ACCEL", "1") == "0":
        _status = "off: SDEI_ACCEL=0"
        return
    directory = _directory()
    why = _check(directory)
    if why is None and any(m in sys.modules for m in MODULES):
        why = "imported before sdei"
    if why is not None:
        _status = f"off: {why}"
        return
    sys.meta_path.insert(0, _Finder(_files(directory)))
    _status = f"on: {len(MODULES)} modules compiled with mypyc"


def build(directory: Path) -> None:
    """Compile MODULES with mypyc into `directory`, with the manifest that `install` checks."""
    from mypyc.build import mypycify
    from setuptools import setup

    directory.mkdir(parents=True, exist_ok=True)
    digests = _digests()
    (directory / "manifest.json").unlink(missing_ok=True)
    here = Path.cwd()
    os.chdir(SOURCES)  # mypyc names modules by their paths
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):  # mypyc's notes; its errors are shown below
            extensions = mypycify(
                [str(_source(m).relative_to(SOURCES)) for m in MODULES],
                opt_level="3",
                group_name=GROUP,
                target_dir=str(directory / "c"),
            )
        setup(
            name="sdei-accel",
            ext_modules=extensions,
            script_args=[
                "--quiet",
                "build_ext",
                "--build-lib",
                str(directory),
                "--build-temp",
                str(directory / "objects"),
                "--parallel",
                str(os.cpu_count() or 1),
            ],
        )
    except BaseException:
        notes = [line for line in said.getvalue().splitlines() if ": warning: " not in line]
        print("\n".join(notes), file=sys.stderr)
        raise
    finally:
        os.chdir(here)
    manifest = {"tag": _tag(), "modules": list(MODULES), "sources": digests}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"compiled {len(MODULES)} modules with mypyc into {directory}")


def main(argv: Sequence[str] | None = None) -> int:
    """`build [--if-stale] [DIRECTORY]`: compile (with --if-stale, only when the build there
    does not match the sources); `status`: print whether the compiled modules are in use."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["status"]:
        print(status())
        return 0
    if_stale = "--if-stale" in args
    rest = [a for a in args if a != "--if-stale"]
    if rest[:1] != ["build"] or len(rest) > 2:
        print(
            "usage: sdei.accel.main(['build', '--if-stale', DIRECTORY] | ['status'])",
            file=sys.stderr,
        )
        return 2
    directory = Path(rest[1]) if len(rest) > 1 else _directory()
    if if_stale and _check(directory) is None:
        return 0
    build(directory)
    return 0

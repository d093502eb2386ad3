"""Regenerate the generated blocks of the docs, so tables and diagrams cannot drift.

A doc marks a generated block with a pair of comments:

    <!-- BEGIN GENERATED: states-table -->
    ...replaced on every run...
    <!-- END GENERATED: states-table -->

`python -m sdei.cli.gendocs` rewrites every block of `DOC_FILES` from the code
(`sdei.abi`, `sdei.firmware.states`, `sdei.firmware.profile`); `--check` only reports stale
files (exit 1), as the test suite does.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path

from sdei.abi import CALLS, Feature, Function, Status, decode_bind_slots, decode_version
from sdei.firmware import Dispatcher, Platform, Rules
from sdei.firmware.profile import SPEC, TFA
from sdei.firmware.states import mermaid_diagram, permitted_call_table

DOC_FILES: tuple[str, ...] = ("docs/abi.md", "docs/profiles.md")

_BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)
_BEGIN = re.compile(r"<!-- BEGIN GENERATED: ([\w-]+) -->")


class GenDocsError(ValueError):
    """A doc whose markers do not pair up, or that names a block nobody generates."""


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell (`x<param_id>` must not read as an HTML tag)."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def functions_block() -> str:
    """Every function with its id, arguments, success value and errors (`sdei.abi.CALLS`)."""
    rows = [
        (
            f"`{info.function.name}`",
            f"`{int(info.function):#010x}`",
            ", ".join(info.arguments) or "–",
            info.returns,
            ", ".join(e.name for e in info.errors),
        )
        for info in CALLS
    ]
    return _table(("function", "id", "x1..x5", "x0 on success", "errors"), rows)


def status_block() -> str:
    return _table(("status", "value"), [(s.name, str(int(s))) for s in Status])


def states_table_block() -> str:
    return permitted_call_table()


def states_diagram_block() -> str:
    return f"```mermaid\n{mermaid_diagram()}\n```"


def _rule_value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and value < 0:
        try:
            return f"{Status(value).name} ({value})"
        except ValueError:
            return str(value)
    return str(value)


def profile_rules_block() -> str:
    """One row per field of `Rules` (except its name): the value in each profile."""
    rows = [
        (
            f"[{f.name}](#{f.name})",
            _rule_value(getattr(SPEC, f.name)),
            _rule_value(getattr(TFA, f.name)),
        )
        for f in fields(Rules)
        if f.name != "name"
    ]
    return _table(("rule", f"`{SPEC.name}`", f"`{TFA.name}`"), rows)


def _event(number: int) -> str:
    """Vendor-space numbers in hex (as the spec writes them), others in decimal (as TF-A)."""
    return f"{number:#x}" if number & 0x4000_0000 else str(number)


def _platform_facts(profile: str) -> list[str]:
    platform = Platform.reference(4, profile=profile)
    sdei = Dispatcher(platform)
    version = decode_version(sdei.call(0, Function.VERSION))
    shared, private = decode_bind_slots(sdei.call(0, Function.FEATURES, Feature.BIND_SLOTS))
    relative = sdei.call(0, Function.FEATURES, Feature.RELATIVE_MODE)
    relative_text = Status(relative).name if relative < 0 else str(relative)
    private_slots = [e.number for e in platform.events if e.dynamic and not e.shared]
    shared_slots = [e.number for e in platform.events if e.dynamic and e.shared]
    return [
        f"{version.major}.{version.minor}",
        f"{shared} shared, {private} private",
        relative_text,
        ", ".join(_event(n) for n in private_slots),
        ", ".join(_event(n) for n in shared_slots),
    ]


def profile_platform_block() -> str:
    """`Platform.reference(profile=...)` as the client sees it."""
    labels = (
        "VERSION",
        "FEATURES(BIND_SLOTS)",
        "FEATURES(RELATIVE_MODE)",
        "private bind-slot events",
        "shared bind-slot events",
    )
    spec, tfa = _platform_facts("spec"), _platform_facts("tfa")
    rows = [(label, s, t) for label, s, t in zip(labels, spec, tfa, strict=True)]
    return _table(("reference platform", "`spec`", "`tfa`"), rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "functions": functions_block,
    "status": status_block,
    "states-table": states_table_block,
    "states-diagram": states_diagram_block,
    "profile-rules": profile_rules_block,
    "profile-platform": profile_platform_block,
}


def regenerate(text: str) -> str:
    """`text` with every generated block rewritten from the code."""
    begins = _BEGIN.findall(text)
    unknown = sorted(set(begins) - GENERATORS.keys())
    if unknown:
        raise GenDocsError(f"no generator for block(s) {', '.join(unknown)}")
    matched = [m.group("name") for m in _BLOCK.finditer(text)]
    if matched != begins:
        unpaired = sorted(set(begins) - set(matched)) or begins
        raise GenDocsError(f"BEGIN without a matching END for {', '.join(unpaired)}")

    def replace(match: re.Match[str]) -> str:
        body = GENERATORS[match.group("name")]()
        return f"{match.group('begin')}{body}\n{match.group('end')}"

    return _BLOCK.sub(replace, text)


def blocks(text: str) -> list[str]:
    """The names of the generated blocks in `text`, in order."""
    return _BEGIN.findall(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sdei.cli.gendocs", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--check", action="store_true", help="report stale docs, change nothing")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    default = " ".join(DOC_FILES)
    parser.add_argument("files", nargs="*", help=f"docs to process (default: {default})")
    options = parser.parse_args(argv)
    stale = []
    for name in options.files or DOC_FILES:
        path = options.root / name
        try:
            text = path.read_text(encoding="utf-8")
            new = regenerate(text)
        except (OSError, GenDocsError) as error:
            print(f"{name}: {error}", file=sys.stderr)
            return 2
        if new == text:
            continue
        stale.append(name)
        if not options.check:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {name}")
    if options.check and stale:
        print(f"stale: {', '.join(stale)} (run python -m sdei.cli.gendocs)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

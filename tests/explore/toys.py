"""Paths of the toy scenarios under examples/scenarios/ used by these tests."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def spec(file: str, name: str) -> str:
    return f"{EXAMPLES / file}::{name}"


LOST_UPDATE = spec("counter.py", "lost_update")
LOCKED_UPDATE = spec("counter.py", "locked_update")
INDEPENDENT = spec("counter.py", "independent")
ABBA = spec("abba.py", "abba")
ORDERED = spec("abba.py", "ordered")
HANDLER_LOCK = spec("sdei_lock.py", "handler_lock")
MASKED_LOCK = spec("sdei_lock.py", "masked_lock")

BUGGY = [(LOST_UPDATE, "counter-sum"), (ABBA, "deadlock"), (HANDLER_LOCK, "deadlock")]

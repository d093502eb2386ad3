"""Small helpers for the sentences the tool prints."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless there is exactly one: "1 execution", "2 executions"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"

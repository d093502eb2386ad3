"""Execution contexts: a thread, or a handler stacked on a PE (IRQ, SDEI normal/critical, a
synthetic exception entered by COMPLETE_AND_RESUME)."""

from __future__ import annotations

from collections.abc import Generator
from enum import Enum
from typing import Any

from sdei.machine.ops import START, Op

Code = Generator[Op, Any, Any]


class Kind(Enum):
    THREAD = "thread"
    IRQ = "irq"
    SDEI = "sdei"
    SDEI_CRITICAL = "sdei-critical"
    EXCEPTION = "exception"  # vector code entered by COMPLETE_AND_RESUME

    @property
    def is_sdei(self) -> bool:
        return self is Kind.SDEI or self is Kind.SDEI_CRITICAL


class Context:
    """One generator and what the engine knows about it."""

    __slots__ = (
        "address",
        "data",
        "done",
        "event",
        "gen",
        "ident",
        "kind",
        "name",
        "pe",
        "pending",
        "preempt",
        "result",
        "saved",
        "steps",
        "symbol",
    )

    def __init__(
        self,
        ident: int,
        kind: Kind,
        pe: int,
        name: str,
        gen: Code,
        address: int = 0,
        symbol: str = "",
    ) -> None:
        self.ident = ident
        self.kind = kind
        self.pe = pe
        self.name = name
        self.gen = gen
        self.address = address
        self.symbol = symbol
        self.pending: Op = START
        self.steps = 0
        self.done = False
        self.result: Any = None
        self.preempt = 0  # the kernel's preempt count: a thread with one keeps its PE
        self.event: int | None = None  # SDEI contexts: the event being handled
        self.saved: Any = None  # what entering this context saved (for return / invariants)
        self.data: dict[str, Any] = {}  # what client code keeps per context

    @property
    def pc(self) -> int:
        """A synthetic PC that moves as the code steps (4 bytes a step, within 4 KiB)."""
        return self.address + 4 * (self.steps % 1024)

    def __repr__(self) -> str:
        return f"<{self.kind.value} {self.name} on PE{self.pe}>"

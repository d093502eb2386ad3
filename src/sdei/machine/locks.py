"""Engine-level locks: ownership and blocking.

Kernel flavours (spinlock, mutex, rwsem) build on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdei.machine.contexts import Context


class Lock:
    """A lock with one exclusive owner or many shared holders (a reader/writer lock).

    `sleeping` locks let the PE run another thread while a waiter blocks (mutexes, rwsems,
    PREEMPT_RT spinlocks); spinning ones hold the PE.
    """

    __slots__ = ("name", "owner", "readers", "sleeping")

    def __init__(self, name: str, *, sleeping: bool = False) -> None:
        self.name = name
        self.sleeping = sleeping
        self.owner: Context | None = None
        self.readers: list[Context] = []

    def free_for(self, shared: bool) -> bool:
        if self.owner is not None:
            return False
        return shared or not self.readers

    def holders(self) -> list[Context]:
        return [self.owner] if self.owner is not None else list(self.readers)

    def __repr__(self) -> str:
        return f"Lock({self.name!r})"

"""The narrow hardware port the dispatcher drives: interrupt ownership on the GIC (DEN0054C 6.3).

The dispatcher never imports a machine. A machine's interrupt controller implements
`InterruptPort`; `FirmwareInterrupts` is a self-contained one for the dispatcher on its own
(tests, benchmarks, conformance runs).
"""

from __future__ import annotations

from typing import Protocol

from sdei.abi import is_ppi


class InterruptPort(Protocol):
    """What firmware asks of the interrupt controller. `pe` matters only for banked PPIs."""

    def is_nonsecure(self, intid: int, pe: int) -> bool:
        """Owned by the non-secure client (Group 1 NS)?"""
        ...

    def is_active(self, intid: int, pe: int) -> bool: ...

    def claim(self, intid: int, pe: int, critical: bool) -> None:
        """Take for EL3: disable, clear pending, Group 0, SDEI priority of the class."""
        ...

    def give_back(self, intid: int, pe: int) -> None:
        """Return to the client: disable, clear pending, Group 1 NS, lowest priority."""
        ...

    def set_enabled(self, intid: int, pe: int, enabled: bool) -> None: ...

    def route(self, intid: int, mpidr: int | None) -> None:
        """Program SPI routing: one PE, or any participating PE (None)."""
        ...


class FirmwareInterrupts:
    """A minimal interrupt controller view: ownership, enable and active state per interrupt."""

    def __init__(self, secure: frozenset[int] | set[int] = frozenset()) -> None:
        self._secure: set[tuple[int, int]] = set()
        self._secure_all: set[int] = set(secure)
        self.active: set[tuple[int, int]] = set()  # tests set this to model an active interrupt
        self.enabled: set[tuple[int, int]] = set()
        self.routes: dict[int, int | None] = {}

    @staticmethod
    def _key(intid: int, pe: int) -> tuple[int, int]:
        return (intid, pe if is_ppi(intid) else -1)

    def is_nonsecure(self, intid: int, pe: int) -> bool:
        return intid not in self._secure_all and self._key(intid, pe) not in self._secure

    def is_active(self, intid: int, pe: int) -> bool:
        return self._key(intid, pe) in self.active

    def claim(self, intid: int, pe: int, critical: bool) -> None:
        key = self._key(intid, pe)
        self._secure.add(key)
        self.enabled.discard(key)

    def give_back(self, intid: int, pe: int) -> None:
        key = self._key(intid, pe)
        self._secure.discard(key)
        self.enabled.discard(key)
        self.routes.pop(intid, None)

    def set_enabled(self, intid: int, pe: int, enabled: bool) -> None:
        key = self._key(intid, pe)
        if enabled:
            self.enabled.add(key)
        else:
            self.enabled.discard(key)

    def route(self, intid: int, mpidr: int | None) -> None:
        self.routes[intid] = mpidr

"""A GICv3-style interrupt controller: SGIs/PPIs banked per PE, SPIs with routing; enable,
priority, group, pending and active state; acknowledge and end of interrupt.

Group 0 (secure) interrupts belong to firmware: their assertions go to the SDEI dispatcher,
which keeps their pending state itself. Group 1 non-secure interrupts are the OS's IRQs.
It implements the dispatcher's `InterruptPort` (DEN0054C 6.3: firmware takes a bound
interrupt at REGISTER and gives it back at UNREGISTER).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

from sdei.abi import SPI_FIRST, is_spi

LOWEST_PRIORITY = 0xFF
SDEI_NORMAL_PRIORITY, SDEI_CRITICAL_PRIORITY = 0x70, 0x60  # Arm platforms (TF-A arm_def.h)


@dataclass(slots=True)
class Line:
    """One interrupt as seen on one PE (banked) or globally (SPI)."""

    group: int = 1  # 0 secure (firmware), 1 non-secure
    enabled: bool = False
    priority: int = 0xA0
    pending: bool = False
    active: bool = False
    route: int | None = None  # SPI: MPIDR, or None for any participating PE


_LINE = attrgetter(*(f.name for f in fields(Line)))
_RESET = _LINE(Line())


class Gic:
    def __fingerprint__(self) -> tuple[object, ...]:
        """The lines not in their reset state, flat (`sdei.explore.fingerprint`)."""
        lines = tuple(
            (key, state)
            for key in sorted(self._lines)
            if (state := _LINE(self._lines[key])) != _RESET
        )
        return (self.pes, self.spi_count, self.pending_count, lines)

    def __init__(self, pes: int, spi_count: int, secure: frozenset[int] = frozenset()) -> None:
        self.pes = pes
        self.spi_count = spi_count
        # Every line ever read or changed, by (PE, INTID) (PE -1 for an SPI), made on first
        # use: all others are in their reset state.
        self._lines: dict[tuple[int, int], Line] = {}
        self.pending_count = 0  # non-secure pending lines, for a fast "anything to take?"
        # (pe, intid) of every line pending now (pe -1 for an SPI): what `deliverable` scans
        self._pending: dict[tuple[int, int], Line] = {}
        for intid in secure:
            for pe in range(pes if intid < SPI_FIRST else 1):
                self.line(intid, pe).group = 0

    def line(self, intid: int, pe: int) -> Line:
        """The line to change or read."""
        key = (pe, intid) if intid < SPI_FIRST else (-1, intid)
        found = self._lines.get(key)
        if found is None:
            found = self._lines[key] = Line()
        return found

    def exists(self, intid: int) -> bool:
        return 0 <= intid < SPI_FIRST + self.spi_count

    # -- the InterruptPort the dispatcher drives

    def is_nonsecure(self, intid: int, pe: int) -> bool:
        return self.line(intid, pe).group == 1

    def is_active(self, intid: int, pe: int) -> bool:
        return self.line(intid, pe).active

    def claim(self, intid: int, pe: int, critical: bool) -> None:
        line = self.line(intid, pe)
        self._set_pending(line, False, intid, pe)
        line.group, line.enabled = 0, False
        line.priority = SDEI_CRITICAL_PRIORITY if critical else SDEI_NORMAL_PRIORITY

    def give_back(self, intid: int, pe: int) -> None:
        line = self.line(intid, pe)
        self._set_pending(line, False, intid, pe)
        line.group, line.enabled, line.priority, line.route = 1, False, LOWEST_PRIORITY, None

    def set_enabled(self, intid: int, pe: int, enabled: bool) -> None:
        self.line(intid, pe).enabled = enabled

    def route(self, intid: int, mpidr: int | None) -> None:
        if is_spi(intid):
            self.line(intid, 0).route = mpidr

    # -- the OS side (Group 1)

    def _set_pending(self, line: Line, value: bool, intid: int, pe: int) -> None:
        if line.pending != value and line.group == 1:
            self.pending_count += 1 if value else -1
        line.pending = value
        key = (pe if intid < SPI_FIRST else -1, intid)
        if value:
            self._pending[key] = line
        else:
            self._pending.pop(key, None)

    def assert_line(self, intid: int, pe: int) -> None:
        self._set_pending(self.line(intid, pe), True, intid, pe)

    def enable(
        self, intid: int, pe: int = 0, *, route: int | None = None, priority: int = 0xA0
    ) -> None:
        """OS configuration of one of its own interrupts."""
        line = self.line(intid, pe)
        if line.group != 1:
            raise ValueError(f"interrupt {intid} is owned by firmware")
        line.enabled, line.priority = True, priority
        if is_spi(intid):
            line.route = route

    def disable(self, intid: int, pe: int = 0) -> None:
        self.line(intid, pe).enabled = False

    def deliverable(self, pe: int, mpidr: int) -> list[int]:
        """Non-secure interrupts that could be taken on `pe` now (enabled, pending, inactive),
        lowest INTID first. It looks at the pending lines only: its cost does not grow with the
        number of PEs or SPIs."""
        if not self.pending_count:
            return []
        found = []
        for (owner, intid), line in self._pending.items():
            if (
                (owner == pe or owner == -1)
                and line.enabled
                and not line.active
                and line.group == 1
                and (owner != -1 or line.route is None or line.route == mpidr)
            ):
                found.append(intid)
        found.sort()
        return found

    def pending_for(self, pe: int, mpidr: int) -> bool:
        """Would a pending interrupt wake this PE from WFI (enabled, any PSTATE.I)?"""
        return bool(self.deliverable(pe, mpidr))

    def acknowledge(self, intid: int, pe: int) -> None:
        line = self.line(intid, pe)
        self._set_pending(line, False, intid, pe)
        line.active = True

    def end_of_interrupt(self, intid: int, pe: int) -> None:
        self.line(intid, pe).active = False

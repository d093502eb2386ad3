"""A processing element: registers SDEI touches, power state, and its stack of contexts."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from sdei.abi import PSTATE_DAIF, PSTATE_I, mode_for, pstate_el
from sdei.machine.contexts import Context

if TYPE_CHECKING:
    from sdei.machine.machine import Machine


class Power(Enum):
    OFF = "off"
    ON = "on"
    STANDBY = "standby"
    POWERDOWN = "power-down"


class PE:
    """Architectural state the model needs (Arm ARM D1), plus the contexts running on it.

    Only the top context steps: a handler in `stack`, else one of `threads`. Per-EL system
    registers are lists indexed by EL (0..3).
    """

    def __init__(self, machine: Machine, index: int, mpidr: int, el: int) -> None:
        self.machine = machine
        self.index = index
        self.mpidr = mpidr
        self.power = Power.ON
        self.secure = False
        self.x = [0] * 31
        self.pc = 0
        self.pstate = mode_for(el)  # IRQs unmasked at boot for simplicity; code masks them
        self.sp_el0 = 0
        self.sp_elx = [0, 0, 0, 0]
        self.elr = [0, 0, 0, 0]
        self.spsr = [0, 0, 0, 0]
        self.vbar = [0, 0, 0, 0]
        self.tpidr_el1 = 0
        self.tpidr_el2 = 0
        self.hcr_e2h = el == 2
        self.hcr_tge = el == 2
        self.guest_loaded = False  # a guest's EL1 state is live (TPIDR_EL1, SP_EL0 are its)
        self.threads: list[Context] = []
        self.current: Context | None = None
        self.stack: list[Context] = []  # IRQ / SDEI / exception contexts, innermost last
        self.ipi_queue: list[Callable[..., Any]] = []
        self.parked = False  # stopped for good by smp_send_stop / crash stop
        self.suspended: Context | None = None  # the context waiting in CPU_SUSPEND
        self.local: dict[str, Any] = {}  # CPU-local data client code keeps (per-CPU areas)

    @property
    def el(self) -> int:
        return pstate_el(self.pstate)

    @property
    def irqs_masked(self) -> bool:
        return bool(self.pstate & PSTATE_I)

    def mask_irqs(self) -> bool:
        """local_irq_save: mask IRQs, return whether they were masked already."""
        was = self.irqs_masked
        self.pstate |= PSTATE_I
        return was

    def unmask_irqs(self) -> None:
        self.pstate &= ~PSTATE_I

    def mask_all(self) -> None:
        self.pstate |= PSTATE_DAIF

    @property
    def top(self) -> Context | None:
        if self.stack:
            return self.stack[-1]
        return self.current

    def in_handler(self) -> bool:
        return any(c.kind.is_sdei for c in self.stack)

    def __repr__(self) -> str:
        return f"PE{self.index}(mpidr={self.mpidr:#x}, {self.power.value})"

"""The main job (`sdei demo`): a 4-CPU board booted from the bundled device tree with the
latest driver. A shared RAS event and the private software event are raised while CPUs go
through hotplug and idle, the system hibernates and comes back through a boot kernel at
another KASLR offset, then kexecs into a new kernel. Every event raised must be handled."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdei.abi import Function
from sdei.kernel import Linux
from sdei.kernel.core import Gen
from sdei.machine import PE, Access, AssertInterrupt, Note, Smc, WaitUntil
from sdei.scenarios.board import BootedBoard, boot_board, discover_bundled
from sdei.scenarios.common import SHARED_RAS, SHARED_RAS_SPI, SOFTWARE_EVENT
from sdei.trace import Recorder

BOOT_KERNEL_BASE = 0x9000_0000
KEXEC_BASE = 0xA000_0000


@dataclass
class DemoStats:
    raised: Counter[int] = field(default_factory=Counter)
    handled: list[tuple[str, int, int]] = field(default_factory=list)  # (kernel, cpu, event)
    phases: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(self.raised.values()) - len(self.handled)


@dataclass
class DemoResult:
    board: BootedBoard
    recorder: Recorder
    stats: DemoStats

    @property
    def ok(self) -> bool:
        return self.board.result.violation is None and self.stats.lost == 0


class Demo:
    def __init__(self) -> None:
        self.stats = DemoStats()

    def callback(self, pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        yield Access(f"demo:{event:#x}")
        self.stats.handled.append((str(arg), pe.index, event))
        return 0

    def _raise(self, linux: Linux, pe: PE, event: int, target: int = 0) -> Gen:
        """Raise one event and wait until it was handled (nothing may be lost)."""
        want = len(self.stats.handled) + 1
        self.stats.raised[event] += 1
        if event == SOFTWARE_EVENT:
            yield Smc(Function.EVENT_SIGNAL, SOFTWARE_EVENT, linux.machine.pes[target].mpidr)
        else:
            yield AssertInterrupt(SHARED_RAS_SPI)
        yield WaitUntil(lambda: len(self.stats.handled) >= want, ("demo",), "event handled")

    def _phase(self, name: str) -> Gen:
        self.stats.phases.append(name)
        yield Note(f"demo: {name}")

    def _register(self, linux: Linux, pe: PE) -> Gen:
        for event in (SHARED_RAS, SOFTWARE_EVENT):
            err = yield from linux.driver.register(pe, event, self.callback, linux.k.name)
            assert err == 0, f"register {event:#x}: {err}"
            err = yield from linux.driver.enable(pe, event)
            assert err == 0, f"enable {event:#x}: {err}"

    def after_boot(self, linux: Linux, pe: PE) -> Gen:
        yield from self._phase("register a shared RAS event and the private event 0")
        yield from self._register(linux, pe)
        yield from self._phase("events on every CPU")
        for cpu in sorted(linux.k.online):
            yield from self._raise(linux, pe, SOFTWARE_EVENT, cpu)
            yield from self._raise(linux, pe, SHARED_RAS)
        yield from self._phase("CPU2 offline, events, CPU2 online")
        yield from linux.hotplug.cpu_down(pe, 2)
        yield from self._raise(linux, pe, SHARED_RAS)
        yield from self._raise(linux, pe, SOFTWARE_EVENT, 1)
        yield from linux.hotplug.cpu_up(pe, 2)
        yield from self._raise(linux, pe, SOFTWARE_EVENT, 2)
        yield from self._phase("CPU1 and CPU3 idle while events arrive")
        machine = linux.machine
        for cpu in (1, 3):
            machine.spawn(cpu, lambda p: linux.idle(p), name=f"idle CPU{cpu}")
        yield from self._raise(linux, pe, SOFTWARE_EVENT, 3)
        yield from self._raise(linux, pe, SHARED_RAS)
        yield from self._raise(linux, pe, SOFTWARE_EVENT, 1)
        yield from self._phase(f"hibernate; restore through a boot kernel at {BOOT_KERNEL_BASE:#x}")
        yield from linux.hibernate(pe, boot_kernel_base=BOOT_KERNEL_BASE, then=self.after_restore)

    def after_restore(self, linux: Linux, pe: PE) -> Gen:
        yield from self._phase("restored: events again")
        yield from self._raise(linux, pe, SHARED_RAS)
        yield from self._raise(linux, pe, SOFTWARE_EVENT, 2)
        yield from self._phase(f"kexec into a new kernel at {KEXEC_BASE:#x}")
        yield from linux.kexec(pe, KEXEC_BASE, self.after_kexec)

    def after_kexec(self, linux: Linux, pe: PE) -> Gen:
        yield from self._phase("new kernel: register and raise")
        yield from self._register(linux, pe)
        yield from self._raise(linux, pe, SHARED_RAS)
        yield from self._raise(linux, pe, SOFTWARE_EVENT, 3)
        yield from self._phase("done")


def run_demo(seed: int = 1) -> DemoResult:
    demo = Demo()
    with tempfile.TemporaryDirectory() as workdir:
        discovery = discover_bundled(Path(workdir))
    recorders: list[Recorder] = []
    board = boot_board(
        discovery,
        after_boot=demo.after_boot,
        seed=seed,
        prepare=lambda machine: recorders.append(Recorder(machine)),
    )
    return DemoResult(board, recorders[0], demo.stats)

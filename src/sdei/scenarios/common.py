"""Building blocks for Linux scenarios: a machine booted with a driver era, set-up run to
quiescence with the default chooser, then handed back for the racing part."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sdei.firmware import Platform
from sdei.kernel import BootConfig, Counter, Linux, invariants
from sdei.kernel.core import Gen
from sdei.kernel.driver import Callback
from sdei.machine import PE, Machine, MachineConfig

SHARED_RAS = 0x4000_0010  # reference platform: shared normal event on SPI 200
SHARED_RAS_SPI = 200
PRIVATE_CRITICAL = 0x4000_0001  # reference platform: private critical event raised by firmware
SOFTWARE_EVENT = 0  # the software-signalled event


class SetupError(RuntimeError):
    """A scenario's deterministic set-up did not reach a clean quiescent state."""


@dataclass
class Booted:
    machine: Machine
    linux: Linux

    def spawn(self, cpu: int, code: Callable[[PE], Gen], name: str) -> None:
        self.machine.spawn(cpu, code, name=name)


def registering(*events: int, callback: Callback | None = None) -> Callable[[Linux, PE], Gen]:
    """A set-up that registers and enables `events` with `callback` (a counter by default)."""
    chosen: Callback = callback or Counter()

    def setup(linux: Linux, pe: PE) -> Gen:
        for event in events:
            yield from linux.driver.register(pe, event, chosen)
            yield from linux.driver.enable(pe, event)

    return setup


def boot(
    *,
    era: str,
    profile: str = "spec",
    cpus: int = 2,
    online: tuple[int, ...] | None = None,
    client_el: int = 1,
    rt: bool = False,
    vhe: bool = False,
    probe: bool = True,
    setup: Callable[[Linux, PE], Gen] | None = None,
    max_steps: int = 20_000,
) -> Booted:
    """Boot Linux on CPU0 of a `cpus`-PE reference machine, bring up `online` (default all),
    run `setup` on CPU0, and stop at quiescence with the set-up's choices forgotten."""
    platform = Platform.reference(cpus, profile=profile, client_el=client_el)
    machine = Machine(MachineConfig(platform, powered_on=(0,)))
    secondaries = tuple(c for c in (online or range(cpus)) if c != 0)
    linux = Linux(
        machine,
        BootConfig(era=era, rt=rt, vhe=vhe, probe=probe, secondaries=secondaries),
        after_boot=setup,
    )
    invariants.install(machine, linux)
    machine.shared["linux"] = linux
    machine.spawn(0, linux.start_kernel, name="boot")
    result = machine.run(max_steps=max_steps)
    if result.status != "quiescent" or result.violation is not None:
        raise SetupError(f"set-up ended {result.status}: {result.violation}")
    machine.end_setup()
    return Booted(machine, linux)

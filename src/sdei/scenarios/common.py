"""Building blocks for Linux scenarios: a machine booted with a driver era, set-up run to
quiescence with the default chooser, then handed back for the racing part."""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sdei.firmware import EventDesc, Platform
from sdei.formats.discovery import GhesSource
from sdei.kernel import BootConfig, Counter, Linux, invariants
from sdei.kernel.core import ERRNO_NAMES, Gen
from sdei.kernel.driver import Callback
from sdei.machine import PE, AssertInterrupt, Machine, MachineConfig
from sdei.machine.errors import ScenarioCodeError
from sdei.ras.firmware import RasFirmware
from sdei.scenarios.api import Options

SHARED_RAS = 0x4000_0010  # reference platform: shared normal event on SPI 200
SHARED_RAS_SPI = 200
PRIVATE_CRITICAL = 0x4000_0001  # reference platform: private critical event raised by firmware
SOFTWARE_EVENT = 0  # the software-signalled event


class SetupError(ScenarioCodeError):
    """A scenario's deterministic set-up did not reach a clean quiescent state, or a step of
    it failed (an error in the scenario, exit 2, never explored)."""


@dataclass
class Booted:
    machine: Machine
    linux: Linux

    def spawn(self, cpu: int, code: Callable[[PE], Gen], name: str = "") -> None:
        """A thread on `cpu` running `code(pe)`, named `name` in timelines (by default its
        function's name)."""
        self.machine.spawn(cpu, code, name=name)


def registering(*events: int, callback: Callback | None = None) -> Callable[[Linux, PE], Gen]:
    """A set-up that registers and enables `events` with `callback` (a counter by default).
    A call that fails stops the set-up with an error naming the event and the errno."""
    chosen: Callback = callback or Counter()
    caller = sys._getframe(1)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"

    def setup(linux: Linux, pe: PE) -> Gen:
        for event in events:
            err = yield from linux.driver.register(pe, event, chosen)
            what = "sdei_event_register"
            if not err:
                err = yield from linux.driver.enable(pe, event)
                what = "sdei_event_enable"
            if err:
                raise SetupError(
                    f"registering({event:#x}): {what} returned {ERRNO_NAMES.get(err, err)}"
                    " - does the platform have this event?",
                    where,
                )

    return setup


def boot_for(options: Options, default_cpus: int, **kwargs: Any) -> Booted:
    """`boot` with what the command line chose (era, patches, profile, `--cpus`, else
    `default_cpus`); `kwargs` are the scenario's own (`setup`, `online`, `vhe`, ...)."""
    return boot(
        era=options.era,
        patches=options.patches,
        profile=options.profile,
        cpus=options.cpus or default_cpus,
        **kwargs,
    )


def ras_error(pe: PE) -> Gen:
    """A firmware-first RAS error: the device asserts the SPI bound to the shared RAS event."""
    yield AssertInterrupt(SHARED_RAS_SPI)


@functools.lru_cache(maxsize=64)
def _platform(cpus: int, profile: str, client_el: int, events: tuple[EventDesc, ...]) -> Platform:
    """The reference platform with the scenario's own `events` (a frozen description, built
    once for each shape: an explorer boots it for every execution)."""
    platform = Platform.reference(cpus, profile=profile, client_el=client_el)
    if events:
        platform = dataclasses.replace(platform, events=(*platform.events, *events))
    return platform


def boot(
    *,
    era: str,
    patches: tuple[str, ...] = (),
    profile: str = "spec",
    cpus: int = 2,
    online: tuple[int, ...] | None = None,
    client_el: int = 1,
    rt: bool = False,
    vhe: bool = False,
    probe: bool = True,
    setup: Callable[[Linux, PE], Gen] | None = None,
    max_steps: int = 20_000,
    ghes: tuple[GhesSource, ...] = (),
    kdump: bool = False,
    events: tuple[EventDesc, ...] = (),
) -> Booted:
    """Boot Linux on CPU0 of a `cpus`-PE reference machine, bring up `online` (default all),
    run `setup` on CPU0, and stop at quiescence with the set-up's choices forgotten."""
    platform = _platform(cpus, profile, client_el, events)
    machine = Machine(MachineConfig(platform, powered_on=(0,)))
    secondaries = tuple(c for c in (online or range(cpus)) if c != 0)
    linux = Linux(
        machine,
        BootConfig(
            era=era,
            patches=patches,
            rt=rt,
            vhe=vhe,
            probe=probe,
            secondaries=secondaries,
            ghes_events=tuple(g.event for g in ghes if g.event is not None),
            kdump=kdump,
        ),
        after_boot=setup,
    )
    if ghes:  # firmware reports errors in memory (sdei.ras): GHES probes these sources
        machine.shared["ras"] = RasFirmware.for_sources(ghes)
    invariants.install(machine, linux)
    machine.shared["linux"] = linux
    machine.spawn(0, linux.start_kernel, name="boot")
    result = machine.run(max_steps=max_steps)
    if result.status != "quiescent" or result.violation is not None:
        caller = sys._getframe(1)
        while caller.f_back is not None and caller.f_code.co_filename == __file__:
            caller = caller.f_back  # the scenario's line, not `boot_for`'s
        raise SetupError(
            f"the set-up (boot and `setup`) ended {result.status}"
            + (f": {result.violation}" if result.violation else ""),
            f"{caller.f_code.co_filename}:{caller.f_lineno}",
        )
    machine.end_setup()
    return Booted(machine, linux)

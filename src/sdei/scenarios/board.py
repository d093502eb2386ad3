"""A machine booted from what real firmware tables describe: a DTB or a directory of ACPI
tables (linux-client.md §3), with the Linux driver of an era on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import fdt

from sdei.firmware import EventDesc, Platform
from sdei.formats import Discovery, FormatError, check_bootable, discover_dtb
from sdei.kernel import BootConfig, Linux, invariants
from sdei.kernel.core import Gen
from sdei.machine import PE, Machine, MachineConfig, RunResult

GHES_SPI_BASE = 210  # secure SPIs for GHES sources the reference platform does not define


def bundled_dts() -> Path:
    """The bundled 4-CPU board's device-tree source (examples/dt/sdei-4cpu.dts)."""
    here = Path(__file__).resolve()
    for candidate in (
        here.parent.parent / "data" / "sdei-4cpu.dts",
        here.parents[3] / "examples" / "dt" / "sdei-4cpu.dts",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the bundled sdei-4cpu.dts is missing from this installation")


def compile_dts(source: Path, output: Path) -> Path:
    """Compile DTS to DTB with the `fdt` library (no dtc needed for the demo)."""
    try:
        tree = fdt.parse_dts(source.read_text())
        output.write_bytes(tree.to_dtb(version=17))
    except Exception as error:  # the fdt library raises many kinds on bad input
        raise FormatError(str(source), "source", f"cannot compile: {error}") from None
    return output


def platform_for(discovery: Discovery, *, profile: str = "spec") -> Platform:
    """The reference platform's events on the discovered CPUs, plus a shared event for each
    GHES source notified by an SDEI event the reference does not define."""
    check_bootable(discovery)
    mpidrs = tuple(cpu.mpidr for cpu in discovery.cpus if cpu.enabled)
    reference = Platform.reference(len(mpidrs), profile=profile)
    known = {e.number for e in reference.events}
    extra: list[EventDesc] = []
    for n, source in enumerate(s for s in discovery.ghes if s.event is not None):
        assert source.event is not None
        if source.event not in known:
            known.add(source.event)
            extra.append(
                EventDesc(
                    source.event,
                    shared=True,
                    interrupt=GHES_SPI_BASE + n,
                    name=f"GHES source {source.source_id}",
                )
            )
    return replace(reference, mpidrs=mpidrs, events=reference.events + tuple(extra))


@dataclass
class BootedBoard:
    machine: Machine
    linux: Linux
    result: RunResult
    discovery: Discovery


def boot_board(
    discovery: Discovery,
    *,
    era: str = "latest",
    profile: str = "spec",
    after_boot: Callable[[Linux, PE], Gen] | None = None,
    seed: int | None = None,
    max_steps: int = 200_000,
    prepare: Callable[[Machine], None] | None = None,
) -> BootedBoard:
    """Boot Linux on CPU0 of the described machine and run to quiescence. `prepare` sees the
    machine before its first step (to attach observers)."""
    platform = platform_for(discovery, profile=profile)
    conduit = discovery.conduit or "smc"
    machine = Machine(MachineConfig(platform, conduit=conduit, powered_on=(0,)))
    ghes = tuple(s.event for s in discovery.ghes if s.event is not None)
    config = BootConfig(
        era=era,
        conduit=discovery.conduit,
        psci_conduit=discovery.psci_conduit or conduit,
        ghes_events=ghes,
    )
    linux = Linux(machine, config, after_boot=after_boot)
    invariants.install(machine, linux)
    machine.shared["linux"] = linux
    machine.spawn(0, linux.start_kernel, name="boot")
    if prepare is not None:
        prepare(machine)
    result = machine.run(seed=seed, max_steps=max_steps)
    return BootedBoard(machine, linux, result, discovery)


def discover_bundled(workdir: Path) -> Discovery:
    return discover_dtb(compile_dts(bundled_dts(), workdir / "sdei-4cpu.dtb"))

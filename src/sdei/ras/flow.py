"""One error, end to end (`sdei ras inject`): a board booted from firmware tables, firmware
writing a CPER record into a GHES error status block and raising the SDEI event HEST binds to
it, and what each CPU and the kernel did with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdei.firmware import Entry, Exit
from sdei.formats import Discovery, cper
from sdei.machine import Machine
from sdei.machine.contexts import Context
from sdei.machine.observer import Observer
from sdei.ras.agent import InjectError, make_record, reporting
from sdei.ras.firmware import Injection, RasFirmware, RasSource
from sdei.scenarios.board import boot_board

SEVERITIES = ("recoverable", "fatal", "corrected")


@dataclass
class Step:
    cpu: int
    text: str


class FlowLog(Observer):
    """What each CPU did with the error: deliveries, completions, interrupts, notes."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        kind = "critical" if entry.critical else "normal"
        self.steps.append(
            Step(pe, f"SDEI event {entry.event:#x} ({kind}) enters the handler at {entry.pc:#x}")
        )

    def complete(self, step: int, pe: int, exit: Exit) -> None:
        how = {"complete": "COMPLETE", "resume": "COMPLETE_AND_RESUME"}.get(exit.kind, exit.kind)
        self.steps.append(Step(pe, f"{how} of event {exit.event:#x}: back to {exit.pc:#x}"))

    def interrupt(self, step: int, pe: int, intid: int) -> None:
        self.steps.append(Step(pe, f"IRQ {intid} taken"))

    def note(self, step: int, pe: int, text: str, data: dict[str, Any]) -> None:
        self.steps.append(Step(pe, text))


@dataclass
class InjectReport:
    source: RasSource
    injection: Injection
    record: cper.ErrorStatusBlock
    event: int
    steps: list[Step] = field(default_factory=list)
    log: list[tuple[int, str]] = field(default_factory=list)
    memory_failures: list[tuple[int, int]] = field(default_factory=list)
    panic: str | None = None
    violation: str | None = None
    lost: list[tuple[int, str]] = field(default_factory=list)
    registered: bool = True  # GHES registered the source's event (SDEI notification: v5.1+)


def inject(
    discovery: Discovery,
    kind: str,
    severity: str,
    address: int,
    *,
    era: str = "latest",
    cpu: int = 0,
    repeat: int = 1,
    perfetto: Path | None = None,
) -> InjectReport:
    """Boot the board, inject `repeat` identical errors from firmware running on `cpu`, run
    until everything is quiet, and report."""
    if severity not in SEVERITIES:
        raise InjectError(f"unknown severity {severity!r}: one of {', '.join(SEVERITIES)}")
    ras = RasFirmware.for_sources(discovery.ghes)
    if not ras.sources:
        raise InjectError(f"{discovery.path}: HEST describes no GHES source notified by SDEI")
    record = make_record(kind, severity, address, mpidr=cpu)
    source = ras.source_for(record.severity)
    assert source.event is not None
    log = FlowLog()

    def prepare(machine: Machine) -> None:
        machine.shared["ras"] = ras

    board = boot_board(discovery, era=era, prepare=prepare)
    if board.result.violation is not None:
        raise InjectError(f"the board did not boot: {board.result.violation}")
    machine = board.machine
    if cpu not in board.linux.k.online:
        raise InjectError(f"CPU{cpu} is not online on this board")
    desc = next(e for e in machine.platform.events if e.number == source.event)
    if desc.interrupt is None:
        raise InjectError(f"event {source.event:#x} has no interrupt to raise it with")
    intid = desc.interrupt
    injections: list[Injection] = []
    firmware = reporting(ras, source, record, intid, repeat=repeat, done=injections)

    machine.observe(log)
    spans = None
    if perfetto is not None:
        from sdei.explore.visual import Spans

        spans = Spans(machine)
        machine.observe(spans)
    machine.spawn(cpu, firmware, name="firmware RAS agent")
    result = machine.run(seed=0, max_steps=200_000)
    if spans is not None and perfetto is not None:
        from sdei.explore.visual import write_perfetto

        write_perfetto(spans, perfetto, title=f"sdei ras inject: {kind} {severity}")
    linux = board.linux
    return InjectReport(
        source,
        injections[0] if injections else Injection(source.desc.source_id, None, "not run"),
        record,
        source.event,
        log.steps,
        list(linux.k.printk.lines),
        list(linux.ghes.memory_failures),
        linux.ghes.panicked,
        str(result.violation) if result.violation is not None else None,
        list(ras.lost),
        source.event in linux.ghes_sources,
    )

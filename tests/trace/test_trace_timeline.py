"""The recorder and the terminal timeline on a real 4-PE run."""

from __future__ import annotations

import io

from rich.console import Console

from sdei.abi import Function
from sdei.firmware import Platform
from sdei.machine import (
    PE,
    AssertInterrupt,
    Image,
    Local,
    Machine,
    MachineConfig,
    Smc,
)
from sdei.machine.contexts import Code
from sdei.trace import Recorder, timeline

F = Function
RAS, RAS_SPI = 0x4000_0010, 200


def _ring(rounds: int) -> tuple[Machine, Recorder]:
    """4 PEs; each signals the next `rounds` times; PE0 also raises the shared RAS event."""
    m = Machine(MachineConfig(Platform.reference(4)))
    image = Image("kernel")

    def handler(pe: PE) -> Code:
        yield Smc(F.EVENT_CONTEXT, 0)
        yield Smc(F.EVENT_COMPLETE, 0)

    image.add("sdei_handler", 0x1000, handler)
    m.load(image, 0x8000_0000)
    ep = m.code.address_of("kernel", "sdei_handler")
    recorder = Recorder(m)

    def cpu(pe: PE, target: int) -> Code:
        assert (yield Smc(F.EVENT_REGISTER, 0, ep, 0, 0, 0)) == 0
        assert (yield Smc(F.EVENT_ENABLE, 0)) == 0
        if pe.index == 0:
            assert (yield Smc(F.EVENT_REGISTER, RAS, ep, 0, 0, 0)) == 0
            assert (yield Smc(F.EVENT_ENABLE, RAS)) == 0
        assert (yield Smc(F.PE_UNMASK)) == 0
        for n in range(rounds):
            yield Smc(F.EVENT_SIGNAL, 0, m.pes[target].mpidr)
            if pe.index == 0 and n % 4 == 0:
                yield AssertInterrupt(RAS_SPI)
            yield Local("work")

    for i in range(4):
        m.spawn(i, cpu, (i + 1) % 4)
    return m, recorder


def test_recorder_sees_every_delivery_and_completion() -> None:
    m, recorder = _ring(10)
    result = m.run(seed=2)
    assert result.status == "quiescent", result
    deliveries = [r for r in recorder.records if r.kind == "deliver"]
    completions = [r for r in recorder.records if r.kind == "complete"]
    assert deliveries and len(deliveries) == len(completions)
    assert all(r.depth == 1 for r in deliveries)  # nothing nests here: all normal events
    steps = [r.step for r in recorder.records]
    assert steps == sorted(steps)
    assert {r.pe for r in deliveries} == {0, 1, 2, 3}
    assert any("0x40000010" in r.text for r in deliveries)
    calls = [r for r in recorder.records if r.kind == "call"]
    assert any(r.text.startswith("REGISTER(") and r.text.endswith("= 0") for r in calls)


def test_timeline_renders_a_four_pe_run() -> None:
    m, recorder = _ring(25)
    result = m.run(seed=11)
    assert result.status == "quiescent", result
    assert result.steps >= 200
    console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
    console.print(timeline(recorder.records, 4, title=f"{result.status} {result.steps} steps"))
    text = console.export_text()
    deliveries = [r for r in recorder.records if r.kind == "deliver"]
    assert len(deliveries) > 20
    # Every delivery and completion is shown, as often as the recorder has it.
    for kind in ("deliver", "complete"):
        for shown in {r.text for r in recorder.records if r.kind == kind}:
            expected = sum(r.text.count(shown) for r in recorder.records)
            assert text.count(shown) == expected, (shown, expected)
    for pe in range(4):
        assert f"PE{pe}" in text
    assert "0x40000010" in text
    assert f"{result.steps} steps" in text


def test_timeline_filters_kinds_and_keeps_the_last_rows() -> None:
    m, recorder = _ring(5)
    m.run(seed=1)
    console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
    console.print(timeline(recorder.records, 4, kinds=frozenset({"deliver"}), last=3))
    text = console.export_text()
    shown = [r for r in recorder.records if r.kind == "deliver"][-3:]
    assert sum(text.count(t) for t in {r.text for r in shown}) >= 3
    assert not any(r.text in text for r in recorder.records if r.kind == "call")
    assert "rows not shown" in text

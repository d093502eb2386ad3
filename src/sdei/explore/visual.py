"""A run as a Perfetto trace (protobuf TrackEvent); the HTML report is `html_report`.

`Spans` is an observer that turns a run into per-CPU spans: handler runs (SDEI, IRQ) as
nested slices, each step as a short slice, power changes, masks, notes and faults as
instants, EVENT_SIGNAL / shared-event routing and IPIs as flows from the step that raised an
event or interrupt to the handler that took it, and counters: each lock's holder (its PE + 1,
0 when free) and each event's firmware state (registered 1, enabled 2, running 4). The
explorer has no physical time: one step is one microsecond.

The writer imports `perfetto` lazily: it costs a search that finds nothing no time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdei.abi import Function
from sdei.machine import IPI_SGI, Machine, Observer
from sdei.machine.ops import (
    SCHED_OPS,
    Access,
    Acquire,
    AssertInterrupt,
    Local,
    RaiseEvent,
    Release,
    SendIpi,
    WaitUntil,
    describe,
)
from sdei.trace.recorder import INJECTED, function_name, result_text

if TYPE_CHECKING:
    from sdei.firmware import Entry, Exit
    from sdei.machine import Context, Op

STEP_NS = 1000


@dataclass
class Span:
    pe: int
    name: str
    start: int  # ns
    end: int | None = None
    depth: int = 0
    category: str = "step"  # sdei | sdei-critical | irq | step | call
    args: dict[str, Any] = field(default_factory=dict)
    flow_in: list[int] = field(default_factory=list)
    flow_out: list[int] = field(default_factory=list)


@dataclass
class Instant:
    pe: int
    name: str
    at: int
    category: str  # power | mask | note | fault
    args: dict[str, Any] = field(default_factory=dict)


class Spans(Observer):
    __past__ = ("*",)  # a record of the run

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.pes = len(machine.pes)
        self.spans: list[Span] = []
        self.instants: list[Instant] = []
        self.open: list[list[Span]] = [[] for _ in range(self.pes)]
        self._last_step = -1
        self._sub = 0
        self._flows: dict[tuple[Any, int | None], list[int]] = {}
        # Counter tracks: name -> [(ts, value)], a sample only when the value changes.
        self.counters: dict[str, list[tuple[int, int]]] = {}
        self._counted: dict[str, int] = {}
        self._next_flow = 1
        self.end = 0
        machine.observe(self)
        self.stepped(machine.step_count)  # the counters' values when the run starts

    def _ts(self, step: int) -> int:
        if step != self._last_step:
            self._last_step, self._sub = step, 0
        self._sub += 1
        at = step * STEP_NS + min(self._sub, 90) * 10
        self.end = max(self.end, at + 10)
        return at

    def _short(
        self, step: int, pe: int, name: str, category: str, args: dict[str, Any] | None = None
    ) -> Span:
        at = self._ts(step)
        span = Span(pe, name, at, at + 6, len(self.open[pe]), category, args or {})
        self.spans.append(span)
        return span

    def _begin(self, step: int, pe: int, name: str, category: str, args: dict[str, Any]) -> Span:
        span = Span(pe, name, self._ts(step), None, len(self.open[pe]), category, args)
        self.spans.append(span)
        self.open[pe].append(span)
        return span

    def _close(self, step: int, pe: int, until: Span | None = None) -> None:
        """End open slices on `pe` innermost first, down to `until` (or all)."""
        stack = self.open[pe]
        at = self._ts(step)
        while stack:
            span = stack.pop()
            span.end = at
            if span is until:
                return

    def _instant(
        self, step: int, pe: int, name: str, category: str, args: dict[str, Any] | None = None
    ) -> None:
        self.instants.append(Instant(pe, name, self._ts(step), category, args or {}))

    def _flow(self, key: tuple[Any, int | None]) -> int:
        ident = self._next_flow
        self._next_flow += 1
        self._flows.setdefault(key, []).append(ident)
        return ident

    # ---------------------------------------------------------- hooks

    def step(self, step: int, pe: int, context: Context, op: Op, result: Any) -> None:
        if isinstance(op, Local):
            if not op.label or op.label == "start":
                return
            name = op.label
        elif isinstance(op, (Acquire, Release)):
            name = f"{'lock' if isinstance(op, Acquire) else 'unlock'} {op.lock.name}"
        elif isinstance(op, Access):
            name = op.label or f"{'write' if op.write else 'read'} {op.name}"
        elif isinstance(op, WaitUntil):
            name = f"waited {op.label}".strip()
        elif isinstance(op, SendIpi):
            name = f"IPI → PE{op.target}"
        elif isinstance(op, (RaiseEvent, AssertInterrupt, *SCHED_OPS)):
            name = describe(op)
        else:
            return  # firmware calls have their own hook
        span = self._short(step, pe, name, "step", {"context": context.name})
        if isinstance(op, SendIpi):
            span.flow_out.append(self._flow(("ipi", op.target)))
        elif isinstance(op, RaiseEvent):
            span.flow_out.append(self._flow((op.event, None)))
        elif isinstance(op, AssertInterrupt):
            event = self._event_of(op.intid)
            if event is not None:
                span.flow_out.append(self._flow((event, None)))

    def _event_of(self, intid: int) -> int | None:
        firmware = self.machine.firmware
        for number in firmware.event_numbers():
            if firmware.bound_interrupt(number) == intid:
                return number
        return None

    def firmware_call(
        self, step: int, pe: int, conduit: str, function: int, args: tuple[int, ...], result: int
    ) -> None:
        name = function_name(function).removeprefix("EVENT_")
        if function in (Function.EVENT_COMPLETE, Function.EVENT_COMPLETE_AND_RESUME) and (
            result == 0
        ):
            return
        if function in (Function.PE_MASK, Function.PE_UNMASK):
            injected = self.machine.last_injected
            shown_name = name + INJECTED if injected else name
            self._instant(step, pe, shown_name, "mask", {"result": result, "injected": injected})
            return
        shown = ", ".join(hex(a) for a in args)
        text = f"{name}({shown}) = {result_text(result)}"
        details: dict[str, Any] = {"conduit": conduit}
        if self.machine.last_injected:
            text += INJECTED
            details["injected"] = True
        span = self._short(step, pe, text, "call", details)
        if function == Function.EVENT_SIGNAL and len(args) >= 2 and result == 0:
            target = self.machine.platform.pe_of(args[1])
            if target is not None:
                span.flow_out.append(self._flow((args[0], target)))

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        critical = bool(entry.critical)
        span = self._begin(
            step,
            pe,
            f"SDEI {entry.event:#x} {context.symbol}",
            "sdei-critical" if critical else "sdei",
            {"event": entry.event, "critical": critical, "context": context.ident},
        )
        for key in ((entry.event, pe), (entry.event, None)):
            waiting = self._flows.get(key)
            if waiting:
                span.flow_in.append(waiting.pop(0))
                break

    def complete(self, step: int, pe: int, exit: Exit) -> None:
        stack = self.open[pe]
        handler = next(
            (
                s
                for s in reversed(stack)
                if s.category.startswith("sdei") and s.args.get("event") == exit.event
            ),
            None,
        )
        label = {"resume": "COMPLETE_AND_RESUME", "implicit": "implicit completion"}.get(
            exit.kind, "COMPLETE"
        )
        self._instant(step, pe, f"{label} {exit.event:#x}", "complete")
        if handler is not None:
            self._close(step, pe, handler)

    def interrupt(self, step: int, pe: int, intid: int) -> None:
        if intid in self.machine.irq_handlers or intid == IPI_SGI:
            span = self._begin(step, pe, f"IRQ {intid}", "irq", {"intid": intid})
            waiting = self._flows.get(("ipi", pe)) if intid == IPI_SGI else None
            if waiting:
                span.flow_in.append(waiting.pop(0))
        else:
            self._instant(step, pe, f"spurious IRQ {intid}", "irq")

    def context_end(self, step: int, pe: int, context: Context) -> None:
        if context.kind.value == "irq":
            stack = self.open[pe]
            irq = next((s for s in reversed(stack) if s.category == "irq"), None)
            if irq is not None:
                self._close(step, pe, irq)

    def power(self, step: int, pe: int, old: str, new: str) -> None:
        self._instant(step, pe, f"power {old} → {new}", "power")
        if new in ("off", "parked"):
            self._close(step, pe)

    def note(self, step: int, pe: int, text: str, data: dict[str, Any]) -> None:
        self._instant(step, pe, text, "note", {k: str(v) for k, v in data.items()})

    def fault(self, step: int, pe: int, message: str) -> None:
        self._instant(step, max(pe, 0), f"✗ {message}", "fault")

    def stepped(self, step: int) -> None:
        at = step * STEP_NS
        for name, lock in self.machine.locks.items():
            holder = lock.owner or (lock.readers[0] if lock.readers else None)
            self._count(f"lock {name}", at, 0 if holder is None else holder.pe + 1)
        firmware = self.machine.firmware
        for event in firmware.event_numbers():
            if firmware.is_private(event):
                for pe in range(self.pes):
                    self._count(f"event {event:#x} @PE{pe}", at, firmware.state_bits(event, pe))
            else:
                self._count(f"event {event:#x}", at, firmware.state_bits(event))

    def _count(self, name: str, at: int, value: int) -> None:
        if self._counted.get(name) == value:
            return  # unchanged
        self._counted[name] = value
        self.counters.setdefault(name, []).append((at, value))

    def finish(self) -> None:
        for pe in range(self.pes):
            stack = self.open[pe]
            while stack:
                stack.pop().end = self.end


# ------------------------------------------------------------------ Perfetto

MACHINE_TRACK = 1000
CPU_TRACK = 2000
COUNTER_TRACK = 100_000
SEQUENCE = 1


def write_perfetto(
    spans: Spans, path: Path, *, title: str = "sdei", annotations: dict[str, Any] | None = None
) -> Path:
    """Write `spans` as a Perfetto protobuf trace: a machine track, a child track per CPU."""
    spans.finish()
    pb = importlib.import_module("perfetto.protos.perfetto.trace.perfetto_trace_pb2")
    builder = importlib.import_module("perfetto.trace_builder.proto_builder")
    trace = builder.TraceProtoBuilder()
    te = pb.TrackEvent

    def packet(ts: int | None = None) -> Any:
        p = trace.add_packet()
        p.trusted_packet_sequence_id = SEQUENCE
        if ts is not None:
            p.timestamp = ts
        return p

    first = packet()
    first.track_descriptor.uuid = MACHINE_TRACK
    first.track_descriptor.name = title
    first.sequence_flags = pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED
    mpidrs = spans.machine.platform.mpidrs
    for n in range(spans.pes):
        p = packet()
        p.track_descriptor.uuid = CPU_TRACK + n
        p.track_descriptor.parent_uuid = MACHINE_TRACK
        p.track_descriptor.name = f"CPU{n} (MPIDR {mpidrs[n]:#x})"
    if annotations:
        p = packet(0)
        p.track_event.track_uuid = MACHINE_TRACK
        p.track_event.type = te.TYPE_INSTANT
        p.track_event.name = "run"
        _annotate(p.track_event, annotations)
    for n, (name, samples) in enumerate(sorted(spans.counters.items())):
        p = packet()
        p.track_descriptor.uuid = COUNTER_TRACK + n
        p.track_descriptor.parent_uuid = MACHINE_TRACK
        p.track_descriptor.name = name
        p.track_descriptor.counter.SetInParent()
        for ts, value in samples:
            c = packet(ts)
            c.track_event.track_uuid = COUNTER_TRACK + n
            c.track_event.type = te.TYPE_COUNTER
            c.track_event.counter_value = value
    events: list[tuple[int, int, int, Any]] = []  # (ts, order, kind, payload)
    for span in spans.spans:
        end = span.end if span.end is not None else spans.end
        events.append((span.start, 1, 0, span))
        events.append((end, 0, 1, span))
    for instant in spans.instants:
        events.append((instant.at, 2, 2, instant))
    events.sort(key=lambda e: (e[0], e[1], -getattr(e[3], "depth", 0) if e[2] == 1 else 0))
    for ts, _, kind, item in events:
        p = packet(ts)
        event = p.track_event
        event.track_uuid = CPU_TRACK + item.pe
        if kind == 0:
            event.type = te.TYPE_SLICE_BEGIN
            event.name = item.name
            event.categories.append(item.category)
            for ident in item.flow_out:
                event.flow_ids.append(ident)
            for ident in item.flow_in:
                event.terminating_flow_ids.append(ident)
            _annotate(event, item.args)
        elif kind == 1:
            event.type = te.TYPE_SLICE_END
        else:
            event.type = te.TYPE_INSTANT
            event.name = item.name
            event.categories.append(item.category)
            _annotate(event, item.args)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(trace.serialize())
    return path


def _annotate(event: Any, args: dict[str, Any]) -> None:
    for key, value in args.items():
        annotation = event.debug_annotations.add()
        annotation.name = str(key)
        if isinstance(value, bool):
            annotation.bool_value = value
        elif isinstance(value, int) and -(2**63) <= value < 2**63:
            annotation.int_value = value
        else:
            annotation.string_value = str(value)


def read_perfetto(path: Path) -> Any:
    """Parse a trace written here (for checks): the protobuf `Trace` message."""
    pb = importlib.import_module("perfetto.protos.perfetto.trace.perfetto_trace_pb2")
    trace = pb.Trace()
    trace.ParseFromString(path.read_bytes())
    return trace

"""The Perfetto trace parses back with a track per CPU, nested handler slices and flows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sdei.explore import explore, save
from sdei.explore.visual import read_perfetto

from .toys import HANDLER_LOCK


def _events(trace: Any) -> tuple[dict[int, str], list[Any]]:
    tracks = {
        p.track_descriptor.uuid: p.track_descriptor.name
        for p in trace.packet
        if p.HasField("track_descriptor")
    }
    events = [p for p in trace.packet if p.HasField("track_event")]
    return tracks, events


def test_perfetto_trace_structure(out: Path) -> None:
    report = explore(HANDLER_LOCK, strategy="dfs")
    written = save(report, out)
    trace = read_perfetto(written["perfetto"])
    tracks, events = _events(trace)
    cpu_tracks = {uuid: name for uuid, name in tracks.items() if name.startswith("CPU")}
    assert sorted(cpu_tracks.values()) == ["CPU0 (MPIDR 0x0)", "CPU1 (MPIDR 0x1)"]
    te = type(events[0].track_event)
    begins = [e for e in events if e.track_event.type == te.TYPE_SLICE_BEGIN]
    ends = [e for e in events if e.track_event.type == te.TYPE_SLICE_END]
    assert len(begins) == len(ends)
    handler = [e for e in begins if e.track_event.name.startswith("SDEI 0x0")]
    assert handler and tracks[handler[0].track_event.track_uuid].startswith("CPU0")
    signal = [e for e in begins if e.track_event.name.startswith("SIGNAL")]
    assert signal and tracks[signal[0].track_event.track_uuid].startswith("CPU1")
    flow = list(signal[0].track_event.flow_ids)
    assert flow and flow == list(handler[0].track_event.terminating_flow_ids)
    instants = [e.track_event.name for e in events if e.track_event.type == te.TYPE_INSTANT]
    assert any(name.startswith("✗ deadlock") for name in instants)
    # Slices nest perfectly on every track.
    depth: dict[int, int] = {}
    for e in sorted(events, key=lambda p: p.timestamp):
        uuid = e.track_event.track_uuid
        if e.track_event.type == te.TYPE_SLICE_BEGIN:
            depth[uuid] = depth.get(uuid, 0) + 1
        elif e.track_event.type == te.TYPE_SLICE_END:
            depth[uuid] -= 1
            assert depth[uuid] >= 0


def test_counters_and_ipi_flows(tmp_path: Path) -> None:
    """Lock holders and event states as counter tracks; an IPI flows to the IRQ it raised."""
    report = explore("register-hotplug", era="v4.16", strategy="dfs")
    trace = read_perfetto(save(report, tmp_path)["perfetto"])
    tracks, events = _events(trace)
    counter_tracks = {
        p.track_descriptor.uuid: p.track_descriptor.name
        for p in trace.packet
        if p.HasField("track_descriptor") and p.track_descriptor.HasField("counter")
    }
    samples: dict[str, list[int]] = {}
    for e in events:
        name = counter_tracks.get(e.track_event.track_uuid)
        if name is not None:
            samples.setdefault(name, []).append(int(e.track_event.counter_value))
    # The cross-call registers event 0 on CPU1 (1: registered); CPU2 came up before the event
    # was listed and never registers it.
    assert samples["event 0x0 @PE1"][:2] == [0, 1]
    assert set(samples["event 0x0 @PE2"]) == {0}
    # sdei_list_lock is taken by CPU0 (PE0 + 1) and by CPU2 (PE2 + 1), and let go between.
    assert {0, 1, 3} <= set(samples["lock linux:sdei_list_lock"])
    names = {uuid: tracks[uuid] for uuid in tracks}
    ipis = [e for e in events if e.track_event.name.startswith("IPI → PE1")]
    flow = list(ipis[0].track_event.flow_ids)
    taken = [e for e in events if flow and flow[0] in e.track_event.terminating_flow_ids]
    assert taken and taken[0].track_event.name == "IRQ 1"
    assert names[taken[0].track_event.track_uuid].startswith("CPU1")

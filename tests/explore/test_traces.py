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

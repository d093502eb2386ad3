"""`sdei ras inject`: one firmware-first error followed end to end on the board booted from
the project's own ACPI tables (built with iasl): the record firmware wrote, the SDEI event, the
CPU that took it, the kernel's log lines, and what came of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.cli import app
from sdei.formats import cper, discover_acpi
from sdei.ras.flow import inject
from sdei.testing import require_tool

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    iasl = require_tool("iasl", "acpica-tools")
    out = tmp_path_factory.mktemp("acpi")
    for source in sorted((REPO / "examples" / "acpi").glob("*.asl")):
        subprocess.run([iasl, "-p", str(out / source.stem), str(source)], check=True,
                       capture_output=True)  # fmt: skip
    return out


def test_a_recoverable_memory_error_is_logged_and_queued_for_memory_failure() -> None:
    require_tool("iasl", "acpica-tools")
    result = runner.invoke(app, ["ras", "inject", "--type", "memory", "--address", "0x80042000",
                                 "--severity", "recoverable"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Firmware wrote a 172-byte record to the error status block of GHES source 0" in out
    assert "SDEI event 0x40000010 (HEST source 0)" in out
    assert "SDEI event 0x40000010 (normal) enters the handler" in out
    assert "[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0" in out
    assert "{1}[Hardware Error]:   physical_address: 0x0000000080042000" in out
    assert "Outcome: memory_failure_queue(pfn 0x80042, flags 0x0)" in out


def test_a_fatal_error_goes_through_the_critical_source_and_panics(tables: Path) -> None:
    report = inject(discover_acpi(tables), "processor", "fatal", 0x8000_3000, cpu=2)
    assert report.source.v2 and report.event == 0x4000_0011
    assert report.panic == "GHES: Fatal hardware error"
    assert any("section_type: ARM processor error" in line for _, line in report.log)
    assert any("(critical) enters the handler" in s.text for s in report.steps)
    assert report.memory_failures == []  # __ghes_panic: no ghes_do_proc


def test_errors_faster_than_the_os_clears_them_are_dropped_visibly(tables: Path) -> None:
    report = inject(discover_acpi(tables), "memory", "recoverable", 0x8000_1000, repeat=3)
    printed = [line for _, line in report.log if "Hardware error from APEI" in line]
    handled = len(printed)
    assert handled + len(report.lost) == 3 and report.lost
    assert all("not cleared" in why for _, why in report.lost)


def test_a_corrected_error_is_logged_without_memory_failure(tables: Path) -> None:
    report = inject(discover_acpi(tables), "pcie", "corrected", 0x0310)
    lines = [line for _, line in report.log]
    assert any("It has been corrected by h/w and requires no further action" in x for x in lines)
    assert any("device_id: 0000:03:02.0" in x for x in lines)
    assert report.memory_failures == [] and report.panic is None


def test_the_record_firmware_wrote_decodes_to_what_was_injected(tables: Path) -> None:
    report = inject(discover_acpi(tables), "memory", "recoverable", 0x8000_5000)
    assert report.injection.record is not None
    assert cper.parse(report.injection.record) == report.record


def test_bad_requests_are_one_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ras", "inject", "--acpi", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = runner.invoke(app, ["ras", "inject", "--address", "lots"])
    assert result.exit_code == 2 and "not a number" in result.output


def test_the_perfetto_trace_shows_the_handler_on_the_cpu_that_took_it(tmp_path: Path) -> None:
    require_tool("iasl", "acpica-tools")
    from sdei.explore.visual import read_perfetto

    trace_file = tmp_path / "error.pftrace"
    result = runner.invoke(app, ["ras", "inject", "--perfetto", str(trace_file)])
    assert result.exit_code == 0, result.output
    trace = read_perfetto(trace_file)
    names = {p.track_descriptor.uuid: p.track_descriptor.name for p in trace.packet
             if p.HasField("track_descriptor")}  # fmt: skip
    begins = [p.track_event for p in trace.packet if p.HasField("track_event")
              and p.track_event.type == p.track_event.TYPE_SLICE_BEGIN]  # fmt: skip
    handler = [e for e in begins if e.name.startswith("SDEI 0x40000010")]
    assert handler, [e.name for e in begins]
    took = next(line for line in result.output.splitlines() if "enters the handler" in line)
    assert names[handler[0].track_uuid].startswith(took.split()[0])  # the same CPU


def test_a_kernel_without_the_sdei_notification_leaves_the_record_unread(tables: Path) -> None:
    report = inject(discover_acpi(tables), "memory", "recoverable", 0x8000_1000, era="v4.16")
    assert not report.registered and report.memory_failures == []
    assert any("Unknown notification type" in line for _, line in report.log)

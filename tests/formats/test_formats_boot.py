"""Booting the machine from real files: `sdei boot FILE.dtb` / `sdei boot --acpi DIR`, the
bundled board the demo uses, and `sdei demo` itself (issue 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.abi import Function
from sdei.cli import app
from sdei.formats import discover_acpi, discover_dtb
from sdei.kernel.core import Gen
from sdei.machine import PE, Hvc, Smc
from sdei.scenarios.board import boot_board, bundled_dts, compile_dts
from sdei.scenarios.demo import run_demo

RUNNER = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_boot_from_the_example_dtb(example_dtbs: dict[str, Path]) -> None:
    code, out = invoke("boot", str(example_dtbs["sdei-4cpu"]))
    assert code == 0, out
    assert "present, conduit smc" in out
    assert "0x0, 0x1, 0x100, 0x101" in out
    assert "SDEI version 1.1" in out
    assert "probe: probed; CPUs online [0, 1, 2, 3]; masked []" in out


def test_boot_a_hvc_guest(example_dtbs: dict[str, Path]) -> None:
    board = boot_board(discover_dtb(example_dtbs["sdei-hvc-guest"]))
    assert board.result.violation is None
    assert board.machine.conduit == "hvc" and board.linux.driver.conduit == "hvc"
    assert board.linux.driver.probed
    # the guest's SDEI goes through the hypervisor's instance: an smc gets NOT_SUPPORTED
    seen: dict[str, int] = {}

    def probe_both(pe: PE) -> Gen:
        seen["hvc"] = yield Hvc(Function.VERSION)
        seen["smc"] = yield Smc(Function.VERSION)

    board.machine.spawn(1, probe_both)
    board.machine.run()
    assert seen == {"hvc": 0x1_0001_0000_0000, "smc": -1}


def test_boot_from_acpi_registers_the_ghes_sources(acpi_dir: Path) -> None:
    code, out = invoke("boot", "--acpi", str(acpi_dir))
    assert code == 0, out
    assert "GHES source 0" in out and "SDEI event 0x40000010" in out
    assert "SDEI event 0x40000011" in out
    board = boot_board(discover_acpi(acpi_dir))
    events = board.linux.driver.events
    assert sorted(events) == [0x4000_0010, 0x4000_0011]  # registered and enabled by GHES
    for number in events:
        assert board.machine.firmware.call(0, Function.EVENT_STATUS, number) == 3


@pytest.mark.parametrize("name", ["bad-no-method", "bad-method"])
def test_boot_refuses_an_unusable_dtb_in_one_line(
    name: str, compile_dts: object, tmp_path: Path
) -> None:
    source = Path(__file__).parents[2] / "examples" / "dt" / f"{name}.dts"
    dtb = compile_dts(source)  # type: ignore[operator]
    code, out = invoke("boot", str(dtb))
    assert code == 2
    assert "Traceback" not in out
    assert str(dtb) in out and "/firmware/sdei" in out
    assert len(out.strip().splitlines()) == 1


def test_boot_refuses_a_truncated_table_directory(acpi_dir: Path, tmp_path: Path) -> None:
    for table in acpi_dir.glob("*.aml"):
        data = table.read_bytes()
        (tmp_path / table.name).write_bytes(data[:20] if "hest" in table.name else data)
    code, out = invoke("boot", "--acpi", str(tmp_path))
    assert code == 2 and "Traceback" not in out and "hest" in out.lower()


def test_boot_needs_exactly_one_source() -> None:
    assert invoke("boot")[0] == 2
    assert invoke("boot", "--era", "v9")[0] == 2


def test_the_bundled_board_compiles_the_same_with_fdt_and_dtc(
    example_dtbs: dict[str, Path], tmp_path: Path
) -> None:
    ours = discover_dtb(compile_dts(bundled_dts(), tmp_path / "fdt.dtb"))
    theirs = discover_dtb(example_dtbs["sdei-4cpu"])
    assert (ours.cpus, ours.conduit, ours.psci_conduit, ours.gic_version) == (
        theirs.cpus,
        theirs.conduit,
        theirs.psci_conduit,
        theirs.gic_version,
    )


def test_demo_handles_every_event_it_raises() -> None:
    result = run_demo(seed=1)
    assert result.board.result.violation is None
    assert result.board.result.status == "quiescent"
    stats = result.stats
    assert sum(stats.raised.values()) == len(stats.handled) == 18 and stats.lost == 0
    kernels = {kernel for kernel, _, _ in stats.handled}
    assert kernels == {"linux", "kexec"}  # before and after kexec (the restored image is linux)
    assert {cpu for _, cpu, _ in stats.handled} == {0, 1, 2, 3}
    assert stats.phases[-1] == "done"
    bases = [k.config.base for k in result.board.machine.shared["kernels"]]
    assert bases == [0x8008_0000, 0x9000_0000, 0xA000_0000]


def test_demo_is_deterministic_per_seed() -> None:
    first, again = run_demo(seed=3), run_demo(seed=3)
    assert first.board.result.choices == again.board.result.choices
    assert first.recorder.records == again.recorder.records
    other = run_demo(seed=4)
    assert other.board.result.choices != first.board.result.choices


def test_demo_command() -> None:
    code, out = invoke("demo")
    assert code == 0, out
    assert "Per-CPU timeline" in out and "Summary" in out
    assert "18 events raised, 18 handled, 0 lost; no invariant violated." in out

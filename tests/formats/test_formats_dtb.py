"""Device-tree discovery: the examples, fdtget cross-checks and malformed blobs."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import fdt
import pytest

from sdei.formats import FormatError, discover_dtb, parse_dtb, read_dtb

CompileDts = Callable[..., Path]  # the compile_dts fixture (conftest.py)


def _dts(
    *,
    sdei: str = 'compatible = "arm,sdei-1.0"; method = "smc";',
    sdei_parent: str = "firmware",
    psci: str | None = 'compatible = "arm,psci-1.0"; method = "smc";',
    cpus: str = 'cpu@0 { device_type = "cpu"; reg = <0x0>; enable-method = "psci"; };',
    cpus_cells: str = "#address-cells = <1>;",
    gic: str = "arm,gic-v3",
) -> str:
    """A small board; each argument replaces one part of it."""
    psci_node = f"psci {{ {psci} }};" if psci is not None else ""
    sdei_node = f"{sdei_parent} {{ sdei {{ {sdei} }}; }};" if sdei else ""
    return f"""/dts-v1/;
/ {{
    #address-cells = <2>;
    #size-cells = <2>;
    {psci_node}
    {sdei_node}
    cpus {{ {cpus_cells} #size-cells = <0>; {cpus} }};
    intc: interrupt-controller@8000000 {{
        compatible = "{gic}";
        #interrupt-cells = <3>;
        #address-cells = <0>;
        interrupt-controller;
        reg = <0x0 0x8000000 0x0 0x10000>;
    }};
}};
"""


def _compile(
    compile_dts: CompileDts, tmp_path: Path, text: str, *, allow_warnings: bool = False
) -> Path:
    source = tmp_path / "t.dts"
    source.write_text(text)
    return compile_dts(source, allow_warnings=allow_warnings)


# --- the bundled examples --------------------------------------------------------------


def test_4cpu_example(example_dtbs: dict[str, Path]) -> None:
    path = example_dtbs["sdei-4cpu"]
    info = read_dtb(path)
    assert info.version == 17
    assert info.sdei is not None and info.sdei.path == "/firmware/sdei"
    assert info.sdei.method == "smc"
    assert info.psci is not None and info.psci.method == "smc"
    assert info.psci.compatible == ("arm,psci-1.0", "arm,psci-0.2")
    assert [c.mpidr for c in info.cpus] == [0x0, 0x1, 0x100, 0x101]
    assert [c.path for c in info.cpus] == [
        "/cpus/cpu@0",
        "/cpus/cpu@1",
        "/cpus/cpu@100",
        "/cpus/cpu@101",
    ]
    assert all(c.enabled and c.enable_method == "psci" for c in info.cpus)
    assert info.gic is not None and info.gic.version == 3
    assert info.gic.path == "/interrupt-controller@8000000"

    d = discover_dtb(path)
    assert (d.source, d.path, d.conduit, d.sdei_present) == ("dt", str(path), "smc", True)
    assert d.psci_conduit == "smc"
    assert [(c.mpidr, c.enabled) for c in d.cpus] == [
        (0, True),
        (1, True),
        (0x100, True),
        (0x101, True),
    ]
    assert d.gic_version == 3
    assert d.ghes == ()


def test_hvc_guest_example(example_dtbs: dict[str, Path]) -> None:
    d = discover_dtb(example_dtbs["sdei-hvc-guest"])
    assert d.conduit == "hvc" and d.psci_conduit == "hvc" and d.sdei_present
    assert [c.mpidr for c in d.cpus] == [0x0, 0x1]  # two-cell reg
    assert d.gic_version == 2


@pytest.mark.parametrize("name", ["sdei-4cpu", "sdei-hvc-guest"])
def test_cpu_reg_matches_fdtget(example_dtbs: dict[str, Path], fdtget: str, name: str) -> None:
    path = example_dtbs[name]
    info = read_dtb(path)
    for cpu in info.cpus:
        out = subprocess.run(
            [fdtget, "-t", "x", str(path), cpu.path, "reg"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        value = 0
        for word in out:
            value = (value << 32) | int(word, 16)
        assert value == cpu.mpidr, cpu.path
    listed = subprocess.run(
        [fdtget, "-l", str(path), "/cpus"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [f"/cpus/{n}" for n in listed] == [c.path for c in info.cpus]
    method = subprocess.run(
        [fdtget, "-t", "s", str(path), "/firmware/sdei", "method"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert info.sdei is not None and info.sdei.method == method


@pytest.mark.parametrize(
    ("name", "text"),
    [("bad-no-method", 'no "method" property'), ("bad-method", "invalid method 'svc'")],
)
def test_bad_examples(example_dtbs: dict[str, Path], name: str, text: str) -> None:
    path = example_dtbs[name]
    with pytest.raises(FormatError) as err:
        discover_dtb(path)
    assert err.value.path == str(path)
    assert err.value.where == "/firmware/sdei"
    assert text in err.value.message
    assert str(err.value) == f"{path}: /firmware/sdei: {err.value.message}"
    assert "\n" not in str(err.value)


# --- variants ------------------------------------------------------------------------


def test_no_sdei_node(compile_dts: CompileDts, tmp_path: Path) -> None:
    d = discover_dtb(_compile(compile_dts, tmp_path, _dts(sdei="")))
    assert d.sdei_present is False and d.conduit is None
    assert d.psci_conduit == "smc" and [c.mpidr for c in d.cpus] == [0]


def test_sdei_found_by_compatible(compile_dts: CompileDts, tmp_path: Path) -> None:
    path = _compile(
        compile_dts,
        tmp_path,
        _dts(sdei_parent="soc", sdei='compatible = "arm,sdei-1.0"; method = "hvc";'),
    )
    info = read_dtb(path)
    assert info.sdei is not None and info.sdei.path == "/soc/sdei"
    assert info.sdei.method == "hvc"


def test_disabled_sdei_node_is_absent(compile_dts: CompileDts, tmp_path: Path) -> None:
    sdei = 'compatible = "arm,sdei-1.0"; method = "smc"; status = "disabled";'
    assert read_dtb(_compile(compile_dts, tmp_path, _dts(sdei=sdei))).sdei is None


def test_method_as_raw_bytes_is_still_a_string(compile_dts: CompileDts, tmp_path: Path) -> None:
    # A DTB has no types: [68 76 63 00] is exactly "hvc".
    sdei = 'compatible = "arm,sdei-1.0"; method = [68 76 63 00];'
    info = read_dtb(_compile(compile_dts, tmp_path, _dts(sdei=sdei)))
    assert info.sdei is not None and info.sdei.method == "hvc"


@pytest.mark.parametrize(
    ("sdei", "message"),
    [
        ('compatible = "arm,sdei-1.0"; method = <1>;', "invalid method <00000001>"),
        ('compatible = "arm,sdei-1.0"; method = "smc", "hvc";', "invalid method 'smc', 'hvc'"),
        ('compatible = "arm,sdei-1.0"; method;', "invalid method <>"),
        ('compatible = "arm,sdei-1.0"; method = "SMC";', "invalid method 'SMC'"),
    ],
)
def test_bad_sdei_method(compile_dts: CompileDts, tmp_path: Path, sdei: str, message: str) -> None:
    path = _compile(compile_dts, tmp_path, _dts(sdei=sdei))
    with pytest.raises(FormatError, match="/firmware/sdei") as err:
        read_dtb(path)
    assert err.value.path == str(path) and message in err.value.message


def test_psci_without_method(compile_dts: CompileDts, tmp_path: Path) -> None:
    path = _compile(compile_dts, tmp_path, _dts(psci='compatible = "arm,psci-1.0";'))
    with pytest.raises(FormatError) as err:
        read_dtb(path)
    assert err.value.where == "/psci"


def test_no_psci(compile_dts: CompileDts, tmp_path: Path) -> None:
    assert discover_dtb(_compile(compile_dts, tmp_path, _dts(psci=None))).psci_conduit is None


def test_gic_400(compile_dts: CompileDts, tmp_path: Path) -> None:
    assert discover_dtb(_compile(compile_dts, tmp_path, _dts(gic="arm,gic-400"))).gic_version == 2


def test_unknown_gic(compile_dts: CompileDts, tmp_path: Path) -> None:
    assert (
        discover_dtb(_compile(compile_dts, tmp_path, _dts(gic="vendor,intc"))).gic_version is None
    )


def test_disabled_cpu_and_cpu_map(compile_dts: CompileDts, tmp_path: Path) -> None:
    cpus = """
        cpu-map { cluster0 { core0 { cpu = <&c0>; }; core1 { cpu = <&c1>; }; }; };
        c0: cpu@0 { device_type = "cpu"; reg = <0x0>; enable-method = "psci"; };
        c1: cpu@1 { device_type = "cpu"; reg = <0x1>; status = "disabled"; };
    """
    d = discover_dtb(_compile(compile_dts, tmp_path, _dts(cpus=cpus)))
    assert [(c.mpidr, c.enabled) for c in d.cpus] == [(0, True), (1, False)]


def test_two_cell_aff3(compile_dts: CompileDts, tmp_path: Path) -> None:
    cpus = 'cpu@100000000 { device_type = "cpu"; reg = <0x1 0x0>; };'
    text = _dts(cpus=cpus, cpus_cells="#address-cells = <2>;")
    assert [c.mpidr for c in discover_dtb(_compile(compile_dts, tmp_path, text)).cpus] == [1 << 32]


def test_reg_that_fdt_guesses_as_a_string(compile_dts: CompileDts, tmp_path: Path) -> None:
    # tooling.md §2.3 pitfall 1: <0x61626300> comes back from fdt as the string "abc".
    path = _compile(
        compile_dts, tmp_path, _dts(cpus='cpu@0 { device_type = "cpu"; reg = <0x61626300>; };')
    )
    tree = fdt.parse_dtb(path.read_bytes())
    assert isinstance(tree.get_node("/cpus/cpu@0").get_property("reg"), fdt.PropStrings)
    with pytest.raises(FormatError) as err:
        read_dtb(path)
    assert err.value.where == "/cpus/cpu@0"
    assert "0x61626300" in err.value.message  # the cells, not the guessed string


_CPU = 'device_type = "cpu";'
_AC1 = "#address-cells = <1>;"


@pytest.mark.parametrize(
    ("cpus", "cells", "where", "message"),
    [
        (f"cpu@0 {{ {_CPU} reg = <0x0 0x0>; }};", _AC1, "/cpus/cpu@0", "exactly 1 cell"),
        (f"cpu@0 {{ {_CPU} }};", _AC1, "/cpus/cpu@0", "exactly 1 cell"),
        (f"cpu@0 {{ {_CPU} reg = <0x0>; }};", "", "/cpus", "#address-cells"),
        (f"cpu@0 {{ {_CPU} reg = <0 0 0>; }};", "#address-cells = <3>;", "/cpus", "<1> or <2>"),
        ("cpu@0 { reg = <0x0>; }; cpu@1 { reg = <0x0>; };", _AC1, "/cpus/cpu@1", "also used"),
        ("cpu@0 { reg = <0x1000000>; };", _AC1, "/cpus/cpu@0", "outside the MPIDR affinity"),
    ],
)
def test_bad_cpus(
    compile_dts: CompileDts, tmp_path: Path, cpus: str, cells: str, where: str, message: str
) -> None:
    # Broken on purpose: dtc warns about some of these.
    path = _compile(compile_dts, tmp_path, _dts(cpus=cpus, cpus_cells=cells), allow_warnings=True)
    with pytest.raises(FormatError) as err:
        read_dtb(path)
    assert (err.value.path, err.value.where) == (str(path), where)
    assert message in err.value.message


# --- not a DTB --------------------------------------------------------------------------


def _patch(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">I", value) + data[offset + 4 :]


@pytest.fixture
def blob(example_dtbs: dict[str, Path]) -> bytes:
    return example_dtbs["sdei-4cpu"].read_bytes()


def _rejects(data: bytes, where: str, text: str = "") -> FormatError:
    with pytest.raises(FormatError) as err:
        parse_dtb(data, "board.dtb")
    assert err.value.path == "board.dtb"
    assert err.value.where == where, err.value
    assert text in err.value.message
    assert str(err.value).startswith(f"board.dtb: {where}: ")
    return err.value


def test_not_a_dtb(blob: bytes) -> None:
    _rejects(b"", "offset 0x0", "truncated")
    _rejects(b"\xd0\x0d", "offset 0x2", "truncated")
    _rejects(b"DSDT" + blob[4:], "offset 0x0", "bad magic")
    _rejects(blob[:20], "offset 0x14", "truncated header")
    _rejects(blob[:39], "offset 0x27", "truncated header")


def test_bad_header_fields(blob: bytes) -> None:
    size = len(blob)
    _rejects(_patch(blob, 4, size + 1), "offset 0x4", "larger than the file")
    _rejects(blob[: size - 1], "offset 0x4", "larger than the file")
    _rejects(_patch(blob, 4, 12), "offset 0x4", "smaller than the header")
    _rejects(_patch(blob, 0x14, 15), "offset 0x14", "version 15")
    _rejects(_patch(blob, 0x14, 18), "offset 0x14", "version 18")
    _rejects(_patch(blob, 0x18, 17), "offset 0x18", "last_comp_version")
    _rejects(_patch(blob, 0x10, 0x31), "offset 0x10", "off_mem_rsvmap")
    _rejects(_patch(blob, 0x10, size + 8), "offset 0x10", "off_mem_rsvmap")
    _rejects(_patch(blob, 0x8, size + 4), "offset 0x8", "off_dt_struct")
    _rejects(_patch(blob, 0x8, 0x3A), "offset 0x8", "off_dt_struct")
    _rejects(_patch(blob, 0x24, size), "offset 0x24", "structure block")
    _rejects(_patch(blob, 0xC, size), "offset 0xc", "strings block")
    _rejects(_patch(blob, 0x20, size), "offset 0xc", "strings block")


def test_bad_structure_block(blob: bytes) -> None:
    off_struct = struct.unpack_from(">I", blob, 8)[0]
    # A memory reservation map that cannot reach its (0, 0) terminator.
    last = (len(blob) - 8) & ~7
    _rejects(_patch(blob, 0x10, last), f"offset {last:#x}", "not terminated")
    _rejects(_patch(blob, off_struct, 0x7), f"offset {off_struct:#x}", "unknown structure token")
    _rejects(_patch(blob, off_struct, 0x2), f"offset {off_struct:#x}", "without an open node")
    _rejects(_patch(blob, off_struct, 0x9), f"offset {off_struct:#x}", "before the root")
    size_struct = struct.unpack_from(">I", blob, 0x24)[0]
    _rejects(
        _patch(blob, 0x24, size_struct - 4),
        f"offset {off_struct + size_struct - 4:#x}",
        "without FDT_END",
    )


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.dtb"
    with pytest.raises(FormatError) as err:
        discover_dtb(missing)
    assert (err.value.path, err.value.where) == (str(missing), "file")


def test_version_16(dtc: str, tmp_path: Path) -> None:
    out = tmp_path / "v16.dtb"
    source = Path(__file__).resolve().parents[2] / "examples" / "dt" / "sdei-4cpu.dts"
    subprocess.run([dtc, "-V", "16", "-O", "dtb", "-o", str(out), str(source)], check=True)
    info = read_dtb(out)
    assert info.version == 16 and [c.mpidr for c in info.cpus] == [0x0, 0x1, 0x100, 0x101]


def test_fdt_exceptions_are_wrapped(blob: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes) -> None:
        raise AssertionError("The value must contain just printable chars !")

    monkeypatch.setattr(fdt, "parse_dtb", explode)
    off_struct = struct.unpack_from(">I", blob, 8)[0]
    error = _rejects(blob, f"offset {off_struct:#x}", "fdt rejected the structure block")
    assert isinstance(error.__cause__, AssertionError)


def test_fdt_shared_reservation_list_is_restored(compile_dts: CompileDts, tmp_path: Path) -> None:
    # fdt 0.3.3: FDT(entries=[]) is a shared default that parse_dtb appends to.
    text = _dts().replace("/dts-v1/;", "/dts-v1/;\n/memreserve/ 0x1000 0x2000;")
    path = _compile(compile_dts, tmp_path, text)
    shared = fdt.FDT().entries
    before = len(shared)
    try:
        assert fdt.parse_dtb(path.read_bytes()).entries is shared  # the pitfall itself ...
        leaked = len(shared)
        assert leaked > before
        read_dtb(path)
        read_dtb(path)
        assert len(shared) == leaked  # ... and our parse leaves no trace
    finally:
        del shared[before:]


def test_directory_is_not_a_dtb(tmp_path: Path) -> None:
    with pytest.raises(FormatError) as err:
        read_dtb(tmp_path)
    assert err.value.where == "file"

"""`sdei conform --target tfa`: TF-A's own dispatcher, built for this host from Debian's source
package, runs the suite and the fuzzer; what it gets wrong is reported as findings with the
rule each side follows, and a TF-A source that does not build is one clear message.

The source comes from `apt-get source arm-trusted-firmware` (a deb-src entry; `make test` adds
it as root) or $SDEI_TFA_SRC. Without it these tests fail under CI and skip elsewhere."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdei.abi import Function
from sdei.cli import app
from sdei.conform import fuzz
from sdei.conform.suite import EP, RESUME, cases, context, run_case
from sdei.conform.target import TargetError, TargetFailed
from sdei.conform.tfa import TfaTarget, find_source

runner = CliRunner(env={"COLUMNS": "200"})
SUCCESS, INVALID, DENIED = 0, -2, -3


@pytest.fixture(scope="module")
def source() -> Path:
    try:
        return find_source()
    except TargetError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"TF-A's source is required under CI: {error}")
        pytest.skip(f"no TF-A source ({error})")


@pytest.fixture(scope="module")
def debug(source: Path) -> TfaTarget:
    return TfaTarget(source, build_kind="debug")


@pytest.fixture(scope="module")
def release(source: Path) -> TfaTarget:
    return TfaTarget(source, build_kind="release")


def test_the_suite_runs_tfa_for_real_and_reports_what_it_breaks(debug: TfaTarget) -> None:
    results = {r.case.id: r for r in (run_case(c, debug) for c in cases())}
    failed = {k: r.message for k, r in results.items() if r.status == "fail"}
    passed = [k for k, r in results.items() if r.status == "pass"]
    # Real dispatches through TF-A's interrupt handler: entry registers, completion, resume,
    # nesting, routing and Table 14 cell by cell.
    real = ("entry/registers", "exit/complete", "exit/complete-and-resume",
            "priority/critical-over-normal", "routing/rm-pe", "dispatch/shared-once")  # fmt: skip
    for case in real:
        assert case in passed, failed.get(case)
    assert len(passed) > 250
    # The finding: event 0's SGI on a masked PE is acknowledged and never EOIed.
    assert failed["mask/pending"].startswith("the target failed: interrupt 8 was never EOIed")


def test_a_dispatch_goes_through_tfa_and_complete_resumes_it(debug: TfaTarget) -> None:
    debug.reset()
    assert debug.call(0, Function.EVENT_REGISTER, 0, EP, 0x1234, 0, 0) == SUCCESS
    assert debug.call(0, Function.EVENT_ENABLE, 0) == SUCCESS
    assert debug.call(0, Function.PE_UNMASK) == SUCCESS
    assert debug.call(0, Function.EVENT_SIGNAL, 0, 0) == SUCCESS
    assert debug.deliverable(0) == (0,)
    interrupted = context(1)
    entry = debug.dispatch(0, 0, interrupted)
    assert entry is not None
    assert (entry.pc, entry.x) == (EP, (0, 0x1234, interrupted.pc, interrupted.pstate))
    assert debug.deliverable(0) == ()  # the SGI is active: its priority is running
    assert debug.call(0, Function.EVENT_CONTEXT, 2) == interrupted.x[2]
    assert debug.call(0, Function.EVENT_COMPLETE_AND_RESUME, RESUME) == SUCCESS
    exit_ = debug.pop_exit(0)
    assert exit_ is not None and exit_.kind == "resume"
    assert (exit_.pc, exit_.x, exit_.elr, exit_.spsr) == (
        RESUME, interrupted.x, interrupted.pc, interrupted.pstate,
    )  # fmt: skip
    assert debug.call(0, Function.EVENT_COMPLETE, 0) == DENIED  # nothing runs any more


def test_debug_and_release_builds_differ_where_assertions_do(
    debug: TfaTarget, release: TfaTarget
) -> None:
    debug.reset()
    with pytest.raises(TargetFailed, match="GICv3 driver asserts on PE0: interrupt 1020"):
        debug.call(0, Function.INTERRUPT_BIND, 1020)
    release.reset()
    assert release.call(0, Function.INTERRUPT_BIND, 1020) == DENIED


def test_two_targets_do_not_share_tfas_state(source: Path) -> None:
    one, two = TfaTarget(source), TfaTarget(source)
    assert one.call(0, Function.EVENT_REGISTER, 0, EP, 0, 0, 0) == SUCCESS
    assert one.call(0, Function.EVENT_STATUS, 0) == 1
    assert two.call(0, Function.EVENT_STATUS, 0) == 0


def test_the_fuzzer_finds_explains_and_replays_tfas_differences(
    source: Path, tmp_path: Path
) -> None:
    out, report = tmp_path / "out", tmp_path / "r.json"
    args = ["conform", "--target", "tfa", "--tfa-src", str(source), "--diff", "--seed", "1",
            "--operations", "6000", "--out", str(out), "--json", str(report)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text())
    kinds = {d["kind"]: d for d in data["differences"]}
    never = kinds["target failed: interrupt <n> was never EOIed by TF-A on PE<n>"]
    assert "handle_masked_trigger" in never["why"]
    signal = kinds["EVENT_SIGNAL result"]
    assert (signal["target"], signal["model"]) == (0, INVALID) and "b142ede74" in signal["why"]
    assert "why: TF-A breaks the GIC protocol" in result.output
    again = runner.invoke(app, args)
    assert json.loads(report.read_text()) == data  # the same seed finds the same
    replayed = runner.invoke(app, ["conform", "--replay", never["replay"]])
    assert replayed.exit_code == 1, replayed.output
    assert "interrupt 8 was never EOIed" in replayed.output and again.exit_code == 1
    shrunk = json.loads(Path(never["replay"]).read_text())
    assert len(shrunk["ops"]) <= 3 and shrunk["source"] == str(source)


def test_every_difference_the_fuzzer_finds_is_one_worked_out_in_tfas_source(
    release: TfaTarget,
) -> None:
    result = fuzz.fuzz(release, operations=20_000, seed=3)
    assert result.operations >= 20_000
    # Every difference is one worked out in TF-A's source: nothing unexplained.
    from sdei.conform.tfa import explain

    for d in result.differences:
        assert explain(d.kind, d.target, d.model) is not None, (d.kind, d.target, d.model)


def test_a_source_that_is_not_tfa_or_does_not_build_is_one_message(
    source: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["conform", "--target", "tfa", "--tfa-src", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a TF-A source tree" in result.output and "Traceback" not in result.output
    broken = tmp_path / "tfa"
    (broken / "services/std_svc").mkdir(parents=True)
    shutil.copytree(source / "services/std_svc/sdei", broken / "services/std_svc/sdei")
    (broken / "include").symlink_to(source / "include")
    main = broken / "services/std_svc/sdei/sdei_main.c"
    main.write_text(
        main.read_text().replace("void sdei_init(void)\n{", "void sdei_init(void)\n{ oops")
    )
    result = runner.invoke(app, ["conform", "--target", "tfa", "--tfa-src", str(broken)])
    assert result.exit_code == 2, result.output
    assert "building sdei_main.c failed" in result.output and "oops" in result.output
    assert "Traceback" not in result.output
    assert runner.invoke(app, ["conform", "--target", "tfa:fast"]).exit_code == 2

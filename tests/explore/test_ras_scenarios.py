"""The firmware-first RAS scenarios (docs/ras.md): their per-era verdicts are checked with the
other built-ins (test_builtin_verdicts); here, what they show beyond a verdict."""

from __future__ import annotations

from sdei.explore import explore


def test_the_pre_rework_deadlock_is_on_the_shared_ghes_lock() -> None:
    report = explore("ghes-critical-over-normal", era="pre-apei-rework", jobs=1, shrink=False)
    assert report.counterexample is not None, report.status()
    text = report.counterexample.violation.message
    assert "ghes_ioremap_lock_nmi" in text and "which it interrupted" in text


def test_a_record_stranded_on_a_dying_cpu_names_where_the_irq_work_is() -> None:
    report = explore("ghes-error-during-offline", era="v6.1", jobs=1, shrink=False)
    assert report.counterexample is not None, report.status()
    assert "its irq_work is pending on CPU1" in report.counterexample.violation.message


def test_l7_the_crash_path_misses_an_unrecorded_normal_handler() -> None:
    """In `latest` the crash kernel starts with a normal handler still running in firmware: the
    critical event came before __sdei_asm_handler recorded the normal one."""
    report = explore("ghes-fatal-in-handler", era="latest", jobs=1)
    cx = report.counterexample
    assert cx is not None and cx.violation.invariant == "crash-kernel-interrupts"
    # Under the proposed patch a bounded dfs finds nothing (the complete proof, about 30,000
    # executions in 3 minutes, is in `make bench`, suite explore-latent).
    patched = explore(
        "ghes-fatal-in-handler",
        era="latest",
        patches=("crash-abort-until-denied",),
        strategy="dfs",
        jobs=1,
        executions=1500,
        shrink=False,
    )
    assert patched.counterexample is None, patched.status()


def test_sdei_scenarios_lists_the_ras_group() -> None:
    from typer.testing import CliRunner

    from sdei.cli import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    text = result.output[result.output.index("Firmware-first RAS") :]
    for name in ("ghes-critical-over-normal", "ghes-ack-race", "ghes-error-during-offline",
                 "ghes-fatal-in-handler"):  # fmt: skip
        assert name in text
    assert "none (a proof)" in text and "--patch crash-abort-until-denied" in text

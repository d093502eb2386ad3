"""SPIN side by side: B7 (private-event register vs CPU hotplug) from 3 CPUs up.

SPIN 6.5.2 checks the hand-written Promela model in `../shared/bench/spin/b7_register.pml`
(`SDEI_SPIN_MODELS` names another directory), timed from source as a user runs it: `spin -a`,
`gcc -O2`, `./pan`. `sdei explore register-hotplug --cpus N` runs at the same size in this
process: N CPUs, CPUs 2..N-1 offline at boot with a hotplug task each (the model's
`NCPU=N NHPT=N-2`, one register caller, one injected REGISTER failure); a second series has
three callers, each with its own private event (`--param callers=3`, the model's `NEV=3`),
at 3 and 4 CPUs, searched stateless too (`--no-states`: there a state met again saves no
executions). The fixed kernel (v5.7) is searched completely; the buggy one (v4.16) until the
first violation. A series stops after the first size that takes longer than `LIMIT` seconds;
the ratio rows are sdei's time over SPIN's, measured one after the other in the same run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import Row
from sdei.explore import explore
from sdei.text import counted

HERE = Path(__file__).resolve().parent
MODELS = Path(os.environ.get("SDEI_SPIN_MODELS", HERE.parent.parent / "shared" / "bench" / "spin"))
MODEL = "b7_register.pml"
SIZES = range(3, 9)
CORNER = (3, 4)  # sizes of the series with three callers (the 4-CPU corner)
LIMIT = 60.0  # seconds: a series stops after the first size that takes longer
RATIO_GOAL = 3.0  # sdei at most this many times SPIN's time, compile included
MEMORY_MB = 4096  # pan's memory limit (-DMEMLIM): it stops there instead of swapping


@dataclass(frozen=True)
class SpinRun:
    seconds: float  # spin -a, gcc and pan together
    states: int  # states stored
    errors: int
    finished: bool  # pan ran to its end (not out of memory)


def parse_pan(output: str) -> tuple[int, int]:
    """(states stored, errors) from pan's report."""
    states = re.search(r"^\s*([0-9.e+]+) states, stored", output, re.MULTILINE)
    errors = re.search(r"errors: (\d+)", output)
    if states is None or errors is None:
        raise ValueError("pan's report has no state count or error count")
    return int(float(states.group(1))), int(errors.group(1))


def run_spin(cpus: int, buggy: bool, workdir: Path, callers: int = 1) -> SpinRun:
    defines = [f"-DNCPU={cpus}", f"-DNHPT={cpus - 2}", f"-DNEV={callers}", "-DNFAULT=1"]
    if buggy:
        defines.append("-DBUGGY")
    shutil.copy(MODELS / MODEL, workdir / MODEL)
    start = time.perf_counter()
    subprocess.run(["spin", *defines, "-a", MODEL], cwd=workdir, check=True, capture_output=True)
    subprocess.run(
        ["gcc", "-O2", f"-DMEMLIM={MEMORY_MB}", "-o", "pan", "pan.c"],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    pan = subprocess.run(["./pan", "-m100000"], cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    states, errors = parse_pan(pan.stdout)
    return SpinRun(seconds, states, errors, "out of memory" not in pan.stdout)


def spin_available() -> str:
    """Why SPIN cannot be run here, or "" when it can."""
    if not (MODELS / MODEL).is_file():
        return f"no SPIN model at {MODELS / MODEL} (set SDEI_SPIN_MODELS)"
    if shutil.which("spin") is None:
        return "spin is not installed (apt-get install spin)"
    if shutil.which("gcc") is None:
        return "gcc is not installed"
    return ""


def _sdei(
    cpus: int, buggy: bool, callers: int = 1, *, states: bool = True
) -> tuple[float, int, int, str]:
    era = "v4.16" if buggy else "v5.7"
    strategy = "auto" if buggy else "dfs"
    report = explore(
        "register-hotplug",
        era=era,
        cpus=cpus,
        params={"callers": callers},
        strategy=strategy,
        jobs=1,
        budget=LIMIT,
        shrink=False,
        states=states,
    )
    return report.elapsed, report.executions, report.states, report.verdict


def rows(sizes: Sequence[int] = SIZES, corner: Sequence[int] = CORNER) -> list[Row]:
    missing = spin_available()
    out: list[Row] = []
    if missing:
        out.append(Row("spin: B7", "", 0.0, "s", detail=f"SPIN not run: {missing}"))
    for buggy in (False, True):
        out += _series(buggy, sizes, 1, missing)
    for buggy in (False, True):  # the corner with a caller per event (the model's NEV=3)
        out += _series(buggy, corner, 3, missing)
    return out


def _series(buggy: bool, sizes: Sequence[int], callers: int, missing: str) -> list[Row]:
    """SPIN and sdei side by side from the smallest size up, each until a size exceeds LIMIT."""
    out: list[Row] = []
    kind = "buggy v4.16" if buggy else "fixed v5.7"
    spin_on, sdei_on = not missing, True
    for cpus in sizes:
        if not (spin_on or sdei_on):
            break
        size = f"{cpus} CPUs, {counted(cpus - 2, 'hotplug task')}"
        if callers > 1:
            size += f", {callers} callers"
        spin_time = sdei_time = None
        if spin_on:
            with tempfile.TemporaryDirectory() as tmp:
                spin = run_spin(cpus, buggy, Path(tmp), callers)
            spin_time = spin.seconds
            found = (
                f"{spin.errors} error(s)"
                if buggy
                else ("complete" if spin.finished else "out of memory")
            )
            out.append(
                Row(
                    f"spin: B7 {kind}, {size}: SPIN",
                    "",
                    spin.seconds,
                    "s",
                    detail=f"{spin.states:,} states, {found}, spin -a + gcc + pan",
                )
            )
            spin_on = spin.seconds <= LIMIT and spin.finished
        if sdei_on:
            seconds, executions, states, verdict = _sdei(cpus, buggy, callers)
            sdei_time = seconds
            out.append(
                Row(
                    f"spin: B7 {kind}, {size}: sdei",
                    "spec",
                    seconds,
                    "s",
                    detail=f"{counted(executions, 'execution')} ({states:,} states kept), "
                    f"{verdict}, one process",
                )
            )
            sdei_on = verdict != "incomplete"
        if spin_time and sdei_time is not None:
            out.append(_ratio(f"spin: B7 {kind}, {size}: sdei / SPIN", sdei_time, spin_time))
        if callers > 1 and not buggy:  # where a state met again saves nothing: stateless too
            seconds, executions, _, verdict = _sdei(cpus, buggy, callers, states=False)
            out.append(
                Row(
                    f"spin: B7 {kind}, {size}: sdei --no-states",
                    "spec",
                    seconds,
                    "s",
                    detail=f"{counted(executions, 'execution')}, {verdict}, one process",
                )
            )
            if spin_time:
                label = f"spin: B7 {kind}, {size}: sdei --no-states / SPIN"
                out.append(_ratio(label, seconds, spin_time))
    return out


def _ratio(label: str, sdei_time: float, spin_time: float) -> Row:
    return Row(
        label,
        "",
        sdei_time / spin_time,
        "x",
        RATIO_GOAL,
        detail="time, side by side in one run (a cut search counts its budget)",
        lower=True,
    )


def run(duration: float, runs: int = 1) -> list[Row]:
    """The `make bench` suite (a few minutes: each series runs until a size exceeds LIMIT)."""
    return rows()

"""The compiled hot paths (`sdei.accel`): used only when built from the sources as they are,
and searching exactly as the sources do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdei import accel

PROBE = (
    "import sdei.accel as a, sdei.machine.machine as m, sdei.explore.dfs as d\n"
    "print(a.status()); print(m.__file__); print(d.__file__)"
)


def _run(code: str, **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout.splitlines()


def _manifest(directory: Path, tag: str, digests: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"tag": tag, "modules": list(accel.MODULES), "sources": digests}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _built_tag() -> str:
    """The interpreter tag of the real build, or of this interpreter when there is none."""
    try:
        found: str = json.loads((accel.DEFAULT_DIR / "manifest.json").read_text())["tag"]
    except (OSError, ValueError, KeyError):
        found = _run("import sdei.accel as a; print(a._tag())")[0]
    return found


def _require_build() -> None:
    """The tests that compare the compiled modules with the sources need them built: under CI
    (`make test` builds them) they fail without, elsewhere they skip."""
    if os.environ.get("SDEI_ACCEL") == "0":
        pytest.skip("this run checks the sources (SDEI_ACCEL=0)")
    if not accel.status().startswith("on"):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the compiled hot paths are required under CI: {accel.status()}")
        pytest.skip(f"compiled hot paths {accel.status()}")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("source", "source(s) changed since the build"),
        ("interpreter", "built for another interpreter"),
        ("files", "the build is incomplete"),
    ],
)
def test_a_build_that_does_not_match_the_sources_is_not_used(
    tmp_path: Path, change: str, reason: str
) -> None:
    digests, tag = accel._digests(), _built_tag()
    if change == "source":  # any source of the package, compiled or not
        digests["sdei/kernel/driver.py"] = "0" * 64
    elif change == "interpreter":
        tag = "cpython-0-" + tag
    _manifest(tmp_path, tag, digests)  # and no compiled files at all
    status, machine, dfs = _run(PROBE, SDEI_ACCEL_DIR=str(tmp_path), SDEI_ACCEL="1")
    assert status.startswith("off: ") and reason in status
    assert machine.endswith("machine.py") and dfs.endswith("dfs.py")


def test_sdei_accel_0_runs_the_sources() -> None:
    status, machine, dfs = _run(PROBE, SDEI_ACCEL="0")
    assert status == "off: SDEI_ACCEL=0"
    assert machine.endswith("machine.py") and dfs.endswith("dfs.py")


def test_the_compiled_modules_are_used_when_built() -> None:
    _require_build()
    status, machine, dfs = _run(PROBE)
    assert status.startswith("on: ")
    for path in (machine, dfs):
        assert Path(path).is_relative_to(accel.DEFAULT_DIR) and not path.endswith(".py")


# Each search's verdict and size, and its counterexample's steps: complete ones stateless and
# stateful, a buggy era (the first violation, so the order must match too), and a seeded one.
SEARCHES = (
    "import json\n"
    "from sdei.explore.budget import Budget\n"
    "from sdei.explore.dfs import search\n"
    "from sdei.explore.random_walk import search as walk\n"
    "from sdei.explore.target import Target\n"
    "out = []\n"
    "for era, cpus, states in (('v5.7', 4, False), ('v5.7', 5, True), ('v4.16', 4, True)):\n"
    "    r = search(Target.make('register-hotplug', era=era, cpus=cpus), Budget(seconds=600),"
    " states=states)\n"
    "    trace = r.found.choices if r.found is not None else None\n"
    "    out.append([r.executions, r.states, r.complete, r.pruned, trace])\n"
    "r = walk(Target.make('register-hotplug', era='v4.16'), Budget(executions=200), seed=3)\n"
    "out.append([r.executions, r.found.choices if r.found is not None else None])\n"
    "print(json.dumps(out))\n"
)


def test_the_compiled_modules_search_exactly_as_the_sources() -> None:
    _require_build()
    compiled = _run(SEARCHES)
    sources = _run(SEARCHES, SDEI_ACCEL="0")
    assert json.loads(compiled[-1]) == json.loads(sources[-1])
    assert json.loads(sources[-1])[0][2] is True  # a complete search: not a vacuous match

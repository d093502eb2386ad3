"""What is explored: a scenario, the options it is built with, and how it is named.

A `Target` crosses process boundaries by its spec (a built-in name or `file.py::name`), which
the worker resolves again; a scenario object without a spec is pickled as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sdei.kernel.eras import ERAS, FEATURES, missing
from sdei.machine import Machine
from sdei.scenarios.api import Options, Scenario, check_params, check_patches
from sdei.scenarios.registry import ScenarioError, resolve


@dataclass(frozen=True)
class Target:
    scenario: Scenario
    spec: str  # how to find the scenario again ("" when it was handed over as an object)
    options: Options
    max_steps: int

    def __post_init__(self) -> None:
        check_needs(self.scenario, self.options.era, self.options.patches)
        if self.options.params:  # a replay file's, say: the scenario must take them
            try:
                check_params(self.scenario, self.options.params)
            except ValueError as error:
                raise ScenarioError(str(error)) from None

    @classmethod
    def make(
        cls,
        scenario: Scenario | str,
        *,
        era: str = "latest",
        profile: str = "spec",
        cpus: int | None = None,
        patches: tuple[str, ...] = (),
        max_steps: int | None = None,
        params: Iterable[tuple[str, int]] = (),
    ) -> Target:
        if isinstance(scenario, str):
            spec, found = scenario, resolve(scenario)
        else:
            spec, found = "", scenario
        chosen = check_patches((*found.patches, *patches))
        values = check_params(found, params)
        options = Options(era=era, profile=profile, cpus=cpus, patches=chosen, params=values)
        return cls(found, spec, options, max_steps or found.max_steps)

    @property
    def name(self) -> str:
        return self.spec or self.scenario.name

    def with_options(self, **changes: Any) -> Target:
        return dataclasses.replace(self, options=dataclasses.replace(self.options, **changes))

    def build(self, options: Options | None = None) -> Machine:
        machine = self.scenario.build(options or self.options)
        if not isinstance(machine, Machine):
            raise ScenarioError(
                f"{self.name}: build() returned {type(machine).__name__}, not a Machine"
            )
        unchecked = self.scenario.unchecked
        if unchecked:
            machine.invariants = [i for i in machine.invariants if i.name not in unchecked]
        return machine

    def __reduce__(self) -> tuple[Any, ...]:
        scenario = None if self.spec else self.scenario
        return (_restore, (self.spec, scenario, self.options, self.max_steps))


def check_needs(scenario: Scenario, era: str, patches: tuple[str, ...]) -> None:
    """Refuse an era without a kernel feature the scenario drives (`Scenario.needs`): a search
    there would report no violation of code that era does not have."""
    needs = scenario.needs
    if not needs:
        return
    unknown = (
        [repr(needs)] if isinstance(needs, str) else [repr(f) for f in needs if f not in FEATURES]
    )
    if unknown:
        raise ScenarioError(
            f"{scenario.name}: needs names {', '.join(unknown)}, not a kernel feature "
            f"(a tuple of: {', '.join(FEATURES)})"
        )
    if era not in ERAS:
        return  # the command line's own check names the eras
    lacking = missing(needs, era, patches)
    if lacking:
        having = [e for e in ERAS if not missing(needs, e, patches)]
        raise ScenarioError(
            f"{scenario.name} needs {' and '.join(FEATURES[f] for f in lacking)}, which era "
            f"{era} does not have: use one of {', '.join(having)}"
        )


def _restore(spec: str, scenario: Scenario | None, options: Options, max_steps: int) -> Target:
    found = scenario if scenario is not None else resolve(spec)
    return Target(found, spec, options, max_steps)


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from `parts`, the same in every process (never Python's salted hash)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


def fingerprint(*parts: object) -> str:
    """A stable short hex digest (for de-duplicating counterexamples across workers)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.blake2b(text, digest_size=12).hexdigest()

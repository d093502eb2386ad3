"""The scenario API: what the explorer runs, and what a user writes.

A scenario builds a machine in two parts: a deterministic set-up (boot, probe, register: run
with the default chooser, no recorded choices) and the racing part (threads and hardware
triggers whose interleavings matter, with their faults and extra invariants). `build` returns
the machine after `end_setup()`, ready to `run`. Building must be deterministic: the same
options give the same machine, so that a list of choices replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sdei.kernel.eras import ERA_NAMES, patch
from sdei.machine import Machine

ERAS = ERA_NAMES


def check_params(
    scenario: Scenario, values: Iterable[tuple[str, int]]
) -> tuple[tuple[str, int], ...]:
    """The parameters set, sorted by name; ValueError (one line) for a name the scenario does
    not take or a value out of its range."""
    known = {p.name: p for p in scenario.parameters}
    chosen = dict(values)
    for name, value in chosen.items():
        parameter = known.get(name)
        if parameter is None:
            takes = ", ".join(known) if known else "none"
            raise ValueError(
                f"{scenario.name} has no parameter {name!r} (the parameters it takes: {takes})"
            )
        if not parameter.low <= value <= parameter.high:
            raise ValueError(
                f"{scenario.name}: {name}={value} is out of range "
                f"({parameter.low}..{parameter.high}: {parameter.help})"
            )
    return tuple(sorted(chosen.items()))


def check_patches(names: Iterable[str]) -> tuple[str, ...]:
    """The patch names, once each, in order; ValueError (one line) for an unknown one."""
    chosen = tuple(dict.fromkeys(names))
    for name in chosen:
        patch(name)
    return chosen


@dataclass(frozen=True)
class Parameter:
    """A whole number a scenario is built with (`--param NAME=VALUE`), such as how many
    callers race: `Options.value` gives the one a run uses."""

    name: str
    default: int
    help: str
    low: int = 1
    high: int = 8


@dataclass(frozen=True)
class Options:
    """What a run of a scenario is parameterised by (all of it lands in a replay file)."""

    era: str = "latest"
    profile: str = "spec"
    cpus: int | None = None  # None: the scenario's default
    disabled_actions: frozenset[str] = frozenset()  # swarm testing switches these off
    patches: tuple[str, ...] = ()  # driver patches on top of the era (sdei.kernel.eras)
    params: tuple[tuple[str, int], ...] = ()  # the scenario's parameters set, by name

    def value(self, parameter: Parameter) -> int:
        """The value of one of the scenario's parameters in this run."""
        for name, value in self.params:
            if name == parameter.name:
                return value
        return parameter.default


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    build: Callable[[Options], Machine]
    buggy_eras: tuple[str, ...] = ()  # where the explorer must find a violation
    fixed_eras: tuple[str, ...] = ()  # where a complete search must find none
    expected_invariant: str | None = None  # what the bug violates
    also_violates: tuple[str, ...] = ()  # other invariants the same race can break first
    default_cpus: int = 2
    preemption_bound: int | None = None
    max_steps: int = 5_000
    actions: tuple[str, ...] = ()  # environment actions swarm testing may disable
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Patches the scenario's kernel always carries (an older tree with one fix applied).
    patches: tuple[str, ...] = ()
    # Why the race it stages cannot happen in a real kernel, for a review-era race that the
    # kernel's rules (linux-client.md §11) rule out: it then has no buggy era.
    unreachable: str = ""
    # The driver patches that clear it (a latent issue's proposed fix): a complete dfs in
    # `latest` under them finds nothing.
    fix: tuple[str, ...] = ()
    # Built-in oracles this scenario does not check: another scenario stages that bug, and
    # here it is only the trigger of the one this scenario is about.
    unchecked: tuple[str, ...] = ()
    # Kernel features (`sdei.kernel.eras.FEATURES`) the scenario drives: an era without one
    # is refused, not searched (it would report "no violation" of code it does not have).
    needs: tuple[str, ...] = ()
    # Whole numbers the scenario is built with beyond `--cpus` (`--param NAME=VALUE`).
    parameters: tuple[Parameter, ...] = ()

    @property
    def group(self) -> str:
        """historic, review-era, latent or ras (how `sdei scenarios` lists it)."""
        if "latent" in self.tags:
            return "latent"
        if "ras" in self.tags:
            return "ras"
        return "review-era" if self.unreachable else "historic"

    def accepts(self, invariant: str) -> bool:
        """Is `invariant` one this scenario's bug is expected to break?"""
        return invariant == self.expected_invariant or invariant in self.also_violates

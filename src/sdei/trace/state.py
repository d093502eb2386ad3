"""The state at every step: what a person needs to see *why* a run went where it did.

A state is grouped text: per PE (power, PSTATE.I, SDEI mask, the handler stack, the running
thread), the firmware's events (registered, enabled, running, pending, routing), the locks and
who holds them, each kernel's view (the online mask, hotplug under way, the driver's flags, the
CPUs it masked, API calls in flight, heap objects handed to firmware) and what client code
shares between CPUs. Each layer says what it shows (`Dispatcher.describe_state`,
`Linux.describe_state`); this module puts them together, records one state per step
(`StateLog`) and says what changed from one step to the next (`changes`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdei.abi import PSTATE_I
from sdei.machine.observer import Observer

if TYPE_CHECKING:
    from sdei.machine.machine import Machine

State = dict[str, dict[str, str]]  # group -> item -> value
VALUE_WIDTH = 120  # longer values of client code's shared data are cut


def snapshot(machine: Machine) -> State:
    """The state of `machine` now, as text a person reads."""
    firmware = machine.firmware.describe_state()
    state: State = {}
    for pe in machine.pes:
        group = {
            "power": pe.power.value + (", parked" if pe.parked else ""),
            "IRQs": "masked" if pe.pstate & PSTATE_I else "unmasked",
            "SDEI": firmware.pop(f"PE{pe.index}", ""),
        }
        if pe.stack:
            group["handlers"] = " > ".join(c.name for c in pe.stack)
        if pe.current is not None and not pe.current.done:
            group["thread"] = pe.current.name
        waiting = [c.name for c in pe.threads if c is not pe.current and not c.done]
        if waiting:
            group["runnable"] = ", ".join(waiting)
        if pe.suspended is not None:
            group["suspended"] = pe.suspended.name
        state[f"PE{pe.index}"] = group
    state["firmware"] = firmware
    locks: dict[str, str] = {}
    for name, lock in sorted(machine.locks.items()):
        if lock.owner is not None:
            locks[name] = f"held by {lock.owner.name} (PE{lock.owner.pe})"
        elif lock.readers:
            held = ", ".join(f"{c.name} (PE{c.pe})" for c in lock.readers)
            locks[name] = f"read-held by {held}"
    state["locks"] = locks
    shared: dict[str, str] = {}
    for key, value in machine.shared.items():
        if key == "kernels":
            for kernel in value:
                state[f"kernel {kernel.k.name}"] = kernel.describe_state()
            continue
        text = repr(value)
        if text.startswith("<"):  # an object with no readable value of its own
            continue
        shared[key] = text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
    if shared:
        state["shared"] = shared
    return state


@dataclass(frozen=True, slots=True)
class Change:
    group: str
    item: str
    old: str | None  # None: not there before
    new: str | None  # None: gone

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.group} {self.item}: {self.new}"
        if self.new is None:
            return f"{self.group} {self.item}: {self.old} → (gone)"
        return f"{self.group} {self.item}: {self.old} → {self.new}"


def changes(before: State, after: State) -> list[Change]:
    """What differs from `before` to `after`, group by group, in `after`'s order."""
    found: list[Change] = []
    for group in [*after, *(g for g in before if g not in after)]:
        old, new = before.get(group, {}), after.get(group, {})
        for item in [*new, *(i for i in old if i not in new)]:
            a, b = old.get(item), new.get(item)
            if a != b:
                found.append(Change(group, item, a, b))
    return found


class StateLog(Observer):
    """Attach with `StateLog(machine)`: `states[n]` is the state after step n, from the step
    it was attached at (after set-up, in a replay); the step that stops a run with a
    violation is recorded as it stopped."""

    __past__ = ("*",)  # a record of the run

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.first = machine.step_count
        self.states: dict[int, State] = {self.first: snapshot(machine)}
        machine.observe(self)

    def stepped(self, step: int) -> None:
        self.states[step] = snapshot(self.machine)

    def fault(self, step: int, pe: int, message: str) -> None:
        self.states[step] = snapshot(self.machine)

    def steps(self) -> list[int]:
        return sorted(self.states)

    def to_json(self) -> dict[str, Any]:
        """The first state whole, then each step's changes: {"initial": ..., "changes": {}}."""
        order = self.steps()
        out: dict[str, Any] = {"initial": self.states[order[0]], "changes": {}}
        for prev, step in itertools.pairwise(order):
            diff = changes(self.states[prev], self.states[step])
            out["changes"][str(step)] = [[c.group, c.item, c.old, c.new] for c in diff]
        return out

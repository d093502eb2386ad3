"""Counterexamples: what a search found, as a replay file, a timeline, and a re-run.

A replay file is JSON (format `sdei-replay`, version 1): the scenario spec, era, profile, CPUs,
disabled actions, the seed and strategy that found it, the choice list (with the option each
choice took, so that a re-run can say exactly where it diverged) and the violation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
)

from sdei import __version__
from sdei.explore.execution import Execution, ExplorerChooser, execute
from sdei.explore.target import Target
from sdei.kernel.eras import PATCHES
from sdei.machine import Machine, Observer, Violation
from sdei.scenarios.api import ERAS, Options
from sdei.scenarios.registry import ScenarioError, is_user_spec, resolve
from sdei.text import counted
from sdei.trace import Recorder
from sdei.trace.recorder import function_name, result_text

FORMAT = "sdei-replay"
VERSION = 1

WHY = {
    "deadlock": "no context can make progress: each waits for something only a blocked "
    "context can give",
    "firmware-promise": "the dispatcher broke a DEN0054 rule the client relies on",
    "stale-entry": "code was entered at an address whose image moved or is gone",
    "handler-falls-off": "an SDEI handler returned without EVENT_COMPLETE",
    "complete-context": "a completion did not restore the context the event interrupted",
    "lock-misuse": "a lock was released by a context that does not hold it",
    "assertion": "an assertion in the scenario's code failed",
    "exception": "the scenario's code raised an exception",
    # The kernel layer's own oracles (`sdei.kernel.invariants`, `sdei.kernel.entry`).
    "live-driver-memory": "firmware holds an address of driver memory that was freed: it will "
    "enter a handler with a dangling argument",
    "stale-callback-arg": "a client callback's argument (a struct ghes, or a heap object of "
    "the scenario's) was freed while its event stays registered",
    "unexpected-api-error": "a driver API call on a valid, idle event returned an error no "
    "caller expects",
    "zombie-event": "an event is left in sdei_list that no call can ever remove",
    "flags-agree": "the driver's view of an event and the firmware's disagree",
    "online-unmasked": "an online CPU is left masked: its events can never be delivered",
    "crash-kernel-interrupts": "the crash kernel was left with interrupts it cannot take",
    "masked-cpu-event": "an event entered a CPU the driver had masked on purpose",
    "kernel-assertion": "the kernel hit a BUG() or WARN() condition",
    "vhe-tge": "a VHE host returned from an event with the guest's state and the wrong HCR_EL2.TGE",
    "sdei-stack": "two events ran on one per-CPU SDEI stack at once",
}


def explain(violation: Violation) -> str:
    """One line: the invariant, what happened, and what it means."""
    why = WHY.get(violation.invariant, f"the invariant {violation.invariant!r} does not hold")
    return f"{violation.invariant}: {violation.message} ({why})"


class ReplayFileError(Exception):
    """A replay file that cannot be read (one line for the user)."""


class _Violation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invariant: str = Field(min_length=1)
    message: str
    step: NonNegativeInt
    pe: NonNegativeInt | None = None


class ReplayFile(BaseModel):
    """The replay file's schema: what `sdei replay` accepts, each field checked (pydantic)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal["sdei-replay"]
    version: Literal[1]
    sdei_version: str | None = None
    scenario: str = Field(min_length=1)
    scenario_file: str | None = None
    era: str
    patches: list[str] = []
    profile: Literal["spec", "tfa"]
    cpus: PositiveInt | None = None
    params: dict[str, int] = {}
    disabled_actions: list[str] = []
    strategy: str = "?"
    seed: int = 0
    run_seed: int | None = None
    max_steps: PositiveInt
    choices: list[NonNegativeInt]
    chosen: list[list[str | int] | str | int] = []
    violation: _Violation
    explanation: str | None = None
    found_choices: NonNegativeInt | None = None
    preemptions: NonNegativeInt = 0
    notes: list[str] = []
    injected: list[dict[str, str | int]] = []

    @field_validator("era")
    @classmethod
    def _known_era(cls, era: str) -> str:
        if era not in ERAS:
            raise ValueError(f"unknown era {era!r}: expected one of {', '.join(ERAS)}")
        return era

    @field_validator("patches")
    @classmethod
    def _known_patches(cls, patches: list[str]) -> list[str]:
        for patch in patches:
            if patch not in PATCHES:
                raise ValueError(f"unknown patch {patch!r}: see `sdei scenarios`")
        return patches


def _schema_message(error: ValidationError) -> str:
    """pydantic's errors as `field.path: what is wrong`, first three."""
    parts = []
    for e in error.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "file"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            message = "missing"
        elif e["type"] == "extra_forbidden":
            message = "not a replay file field"
        parts.append(f"{where}: {message}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def readable_json(data: dict[str, Any]) -> str:
    """One field per line, each list on one line - except `chosen`, one option per line, to
    read beside the timeline."""
    lines = []
    for key, value in data.items():
        if key == "chosen" and value:
            inner = ",\n".join(f"    {json.dumps(o)}" for o in value)
            lines.append(f'  "{key}": [\n{inner}\n  ]')
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


@dataclass
class Counterexample:
    scenario: str
    era: str
    profile: str
    cpus: int | None
    disabled_actions: tuple[str, ...]
    strategy: str
    seed: int  # the search's seed
    run_seed: int | None  # the seed of the execution that found it (randomized strategies)
    max_steps: int
    choices: tuple[int, ...]
    chosen: tuple[Any, ...]  # the option each choice took
    violation: Violation
    found_choices: int = 0  # length of the choice list before shrinking
    preemptions: int = 0
    scenario_file: str | None = None  # absolute path of a user scenario file
    notes: list[str] = field(default_factory=list)
    patches: tuple[str, ...] = ()
    # The injected firmware faults that fired: {"step", "pe", "function", "status"}.
    injected: list[dict[str, Any]] = field(default_factory=list)
    params: tuple[tuple[str, int], ...] = ()  # the scenario's parameters set

    @property
    def explanation(self) -> str:
        return explain(self.violation)

    @property
    def options(self) -> Options:
        return Options(
            self.era,
            self.profile,
            self.cpus,
            frozenset(self.disabled_actions),
            self.patches,
            self.params,
        )

    # ------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        v = self.violation
        return {
            "format": FORMAT,
            "version": VERSION,
            "sdei_version": __version__,
            "scenario": self.scenario,
            "scenario_file": self.scenario_file,
            "era": self.era,
            "patches": list(self.patches),
            "profile": self.profile,
            "cpus": self.cpus,
            "params": dict(self.params),
            "disabled_actions": list(self.disabled_actions),
            "strategy": self.strategy,
            "seed": self.seed,
            "run_seed": self.run_seed,
            "max_steps": self.max_steps,
            "choices": list(self.choices),
            "chosen": [list(o) if isinstance(o, tuple) else o for o in self.chosen],
            "violation": {
                "invariant": v.invariant,
                "message": v.message,
                "step": v.step,
                "pe": v.pe,
            },
            "explanation": self.explanation,
            "found_choices": self.found_choices,
            "preemptions": self.preemptions,
            "notes": self.notes,
            "injected": self.injected,
        }

    @classmethod
    def from_json(cls, data: Any) -> Counterexample:
        """From a replay file's JSON, validated field by field (`ReplayFile`)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ReplayFileError(f"not an {FORMAT} file")
        if data.get("version") != VERSION:
            raise ReplayFileError(f"unsupported replay version {data.get('version')!r}")
        try:
            f = ReplayFile.model_validate(data)
        except ValidationError as error:
            raise ReplayFileError(_schema_message(error)) from None
        choices = tuple(f.choices)
        v = f.violation
        return cls(
            scenario=f.scenario,
            era=f.era,
            profile=f.profile,
            cpus=f.cpus,
            disabled_actions=tuple(f.disabled_actions),
            strategy=f.strategy,
            seed=f.seed,
            run_seed=f.run_seed,
            max_steps=f.max_steps,
            choices=choices,
            chosen=tuple(tuple(o) if isinstance(o, list) else o for o in f.chosen),
            violation=Violation(v.invariant, v.message, v.step, choices, v.pe),
            found_choices=len(choices) if f.found_choices is None else f.found_choices,
            preemptions=f.preemptions,
            scenario_file=f.scenario_file,
            notes=list(f.notes),
            patches=tuple(f.patches),
            injected=[dict(i) for i in f.injected],
            params=tuple(sorted(f.params.items())),
        )

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(readable_json(self.to_json()))
        return path

    @classmethod
    def load(cls, path: Path) -> Counterexample:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ReplayFileError(f"{path}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise ReplayFileError(
                f"{path}: offset {error.start}: binary content, not a replay file (JSON text)"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ReplayFileError(f"{path}:{error.lineno}: not JSON: {error.msg}") from None
        try:
            return cls.from_json(data)
        except ReplayFileError as error:
            raise ReplayFileError(f"{path}: {error}") from None

    # ------------------------------------------------------------- re-running

    def target(self, scenario: Any = None) -> Target:
        """The target to replay on (`scenario` overrides finding it by its spec)."""
        if scenario is None:
            spec = self.scenario
            try:
                scenario = resolve(spec)
            except ScenarioError:
                if not (self.scenario_file and is_user_spec(spec)):
                    raise
                name = spec.partition("::")[2]
                spec = f"{self.scenario_file}::{name}" if name else self.scenario_file
                scenario = resolve(spec)
        return Target(scenario, self.scenario, self.options, self.max_steps)


class _Chosen(Observer):
    __past__ = ("*",)  # a record of the run

    def __init__(self, machine: Machine) -> None:
        self.chosen: list[Any] = []
        machine.observe(self)

    def choice(self, step: int, kind: str, options: tuple[Any, ...], index: int) -> None:
        self.chosen.append(options[index])


class ReplayDiverged(Exception):
    def __init__(self, position: int, step: int, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.step = step


class StrictChooser(ExplorerChooser):
    """Replays `choices`; checks that each took the same option as when it was recorded."""

    def __init__(self, choices: Sequence[int], chosen: Sequence[Any] = ()) -> None:
        super().__init__()
        self.choices = choices
        self.chosen = chosen
        self.position = 0

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        k = self.position
        step = self.machine.step_count + 1 if self.machine is not None else -1
        shown = ", ".join(_option_text(o) for o in options)
        if k >= len(self.choices):
            raise ReplayDiverged(
                k,
                step,
                f"diverged at choice {k} (step {step}, {kind}): the "
                f"replay has no choice left; options were [{shown}]",
            )
        wanted = self.choices[k]
        if not 0 <= wanted < len(options):
            raise ReplayDiverged(
                k,
                step,
                f"diverged at choice {k} (step {step}, {kind}): the "
                f"replay chose option {wanted}, but only {len(options)} were "
                f"offered: [{shown}]",
            )
        if k < len(self.chosen):
            expected = self.chosen[k]
            got = options[wanted]
            if _norm(expected) != _norm(got):
                raise ReplayDiverged(
                    k,
                    step,
                    f"diverged at choice {k} (step {step}, {kind}): "
                    f"recorded {_option_text(expected)}, but option {wanted} "
                    f"is now {_option_text(got)}; options were [{shown}]",
                )
        self.position += 1
        self.count(kind, options, wanted)
        return wanted


def _norm(option: Any) -> Any:
    return tuple(option) if isinstance(option, (tuple, list)) else option


def _option_text(option: Any) -> str:
    if isinstance(option, (tuple, list)) and len(option) == 3:
        what, pe, arg = option
        if what == "run":
            return f"run PE{pe} ctx{arg}"
        if what == "sdei":
            return f"SDEI event {arg:#x} on PE{pe}"
        if what == "irq":
            return f"IRQ {arg} on PE{pe}"
        return f"{what} PE{pe}"
    return str(option)


@dataclass
class ReplayOutcome:
    status: str  # reproduced | diverged | different
    message: str
    execution: Execution | None
    records: list[Any]
    pes: int
    observers: list[Any] = field(default_factory=list)
    setup_steps: int = 0  # steps of deterministic set-up before the recorded run

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"


def replay(
    cx: Counterexample,
    target: Target | None = None,
    *,
    observers: Sequence[Callable[[Machine], Any]] = (),
) -> ReplayOutcome:
    """Re-run a counterexample step for step, with a recorder (and `observers`) attached."""
    target = target or cx.target()
    machine = target.build(cx.options)
    outcome = _replay(cx, target, machine, observers)
    outcome.setup_steps = machine.setup_steps
    return outcome


def _replay(
    cx: Counterexample,
    target: Target,
    machine: Machine,
    observers: Sequence[Callable[[Machine], Any]],
) -> ReplayOutcome:
    recorder = Recorder(machine)
    attached = [make_observer(machine) for make_observer in observers]
    chooser = StrictChooser(cx.choices, cx.chosen)
    try:
        _, execution = execute(target, chooser, options=cx.options, machine=machine)
    except ReplayDiverged as diverged:
        return ReplayOutcome(
            "diverged", str(diverged), None, recorder.records, len(machine.pes), attached
        )
    if chooser.position < len(cx.choices):
        return ReplayOutcome(
            "diverged",
            f"diverged at choice {chooser.position} (step {machine.step_count}): the run "
            f"ended ({execution.status}) with "
            f"{counted(len(cx.choices) - chooser.position, 'recorded choice')} unused",
            execution,
            recorder.records,
            len(machine.pes),
            attached,
        )
    got, want = execution.violation, cx.violation
    if got is None:
        return ReplayOutcome(
            "different",
            f"the run ended {execution.status} at step "
            f"{execution.steps} without the violation "
            f"[{want.invariant}] {want.message}",
            execution,
            recorder.records,
            len(machine.pes),
            attached,
        )
    if (got.invariant, got.message, got.step) != (want.invariant, want.message, want.step):
        return ReplayOutcome(
            "different",
            f"expected {want}, got {got}",
            execution,
            recorder.records,
            len(machine.pes),
            attached,
        )
    return ReplayOutcome(
        "reproduced", str(got), execution, recorder.records, len(machine.pes), attached
    )


def make(
    target: Target,
    execution: Execution,
    *,
    strategy: str,
    seed: int,
    found_choices: int | None = None,
    notes: Sequence[str] = (),
) -> Counterexample:
    """A counterexample from an execution (re-run once to record the option of each choice)."""
    assert execution.violation is not None
    machine = target.build(execution.options)
    observer = _Chosen(machine)
    chooser = StrictChooser(execution.choices)
    _, rerun = execute(target, chooser, options=execution.options, machine=machine)
    violation = rerun.violation or execution.violation
    scenario_file = None
    if is_user_spec(target.spec):
        scenario_file = str(Path(target.spec.partition("::")[0]).expanduser().resolve())
    return Counterexample(
        scenario=target.spec or target.scenario.name,
        era=execution.options.era,
        profile=execution.options.profile,
        cpus=execution.options.cpus,
        disabled_actions=tuple(sorted(execution.options.disabled_actions)),
        strategy=strategy,
        seed=seed,
        run_seed=execution.seed,
        max_steps=target.max_steps,
        choices=tuple(execution.choices),
        chosen=tuple(observer.chosen),
        violation=violation,
        found_choices=found_choices if found_choices is not None else len(execution.choices),
        preemptions=rerun.preemptions,
        scenario_file=scenario_file,
        notes=list(notes),
        patches=execution.options.patches,
        params=execution.options.params,
        injected=[
            {"step": step, "pe": pe, "function": function_name(fid), "status": result_text(status)}
            for step, pe, fid, status in machine.injected
        ],
    )


def as_dict(violation: Violation) -> dict[str, Any]:
    return {k: v for k, v in asdict(violation).items() if k != "choices"}

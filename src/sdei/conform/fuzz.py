"""Differential fuzzing: random calls and hardware events driven through a target and through
our model (the builtin dispatcher in the target's profile) in lockstep.

Every result is compared - return codes, the events offered on each PE, handler entries,
exits. The first disagreement of a sequence ends it; the sequence is shrunk (delta debugging
over its operations) to the fewest operations that still disagree the same way, grouped by
kind with the others, and written as a replay file that `sdei conform --replay FILE` re-runs
on both sides.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdei.abi import Function
from sdei.conform.protocol import entry_json, exit_json
from sdei.conform.suite import ARG, EP, RESUME, context
from sdei.conform.target import BuiltinTarget, Target, TargetFailed
from sdei.firmware import Platform

FORMAT = "sdei-conform-replay"
Op = list[Any]  # ["call", pe, function, args] | ["interrupt", intid, pe] | ["raise", event, pe]
# | ["dispatch", pe, seed] | ["power_off", pe] | ["power_on", pe]

_EVENTS = (0, 0x4000_0001, 0x4000_0010, 0x4000_0011, 0x4000_0002, 0x7FFF_FFFF, 1 << 31)
_RAISABLE = _EVENTS[:3]
_INTIDS = (8, 7, 20, 21, 29, 40, 41, 200, 201, 1020)
_ADDRESSES = (EP, RESUME, EP + 2, 0x1000, 0)
# Every function, and those that lead to a dispatch and back three times over: otherwise a
# sequence seldom registers, enables and unmasks the same event before it is triggered.
_LEADING = (
    Function.EVENT_REGISTER, Function.EVENT_ENABLE, Function.PE_UNMASK, Function.EVENT_COMPLETE,
    Function.EVENT_COMPLETE_AND_RESUME, Function.EVENT_CONTEXT,
)  # fmt: skip
_CALLS = tuple(f for f in Function) + _LEADING * 2


@dataclass
class Difference:
    kind: str  # what disagreed, e.g. "EVENT_SIGNAL result" - disagreements are grouped by it
    op: Op
    target: Any
    model: Any
    ops: list[Op]  # the (shrunk) sequence that shows it, ending with `op`
    replay: Path | None = None


@dataclass
class FuzzResult:
    operations: int = 0
    sequences: int = 0
    differences: list[Difference] = field(default_factory=list)

    def groups(self) -> dict[str, list[Difference]]:
        found: dict[str, list[Difference]] = {}
        for d in self.differences:
            found.setdefault(d.kind, []).append(d)
        return found


def random_op(rng: random.Random, pes: int, mpidrs: list[int]) -> Op:
    pe = rng.randrange(pes)
    roll = rng.random()
    if roll < 0.55:
        function = int(rng.choice(_CALLS))
        args = [
            rng.choice(_EVENTS),
            rng.choice((*_ADDRESSES, rng.choice(mpidrs), 3, 1, 0)),
            rng.choice((ARG, 0, 1, rng.choice(mpidrs))),
            rng.choice((0, 1, 2)),
            rng.choice(mpidrs),
        ]
        if function == Function.EVENT_REGISTER and rng.random() < 0.6:
            args[1] = EP  # an entry point the platform accepts
        if function == Function.INTERRUPT_BIND:
            args[0] = rng.choice(_INTIDS)
        elif function in (Function.EVENT_CONTEXT, Function.FEATURES):
            args[0] = rng.randrange(20)
        elif function == Function.EVENT_COMPLETE_AND_RESUME:
            args[0] = rng.choice(_ADDRESSES)
        elif function == Function.EVENT_SIGNAL:
            args[0], args[1] = rng.choice((0, 0, 0, 1)), rng.choice(mpidrs)
        return ["call", pe, function, args]
    if roll < 0.75:
        return ["interrupt", rng.choice(_INTIDS), pe]
    if roll < 0.80:
        return ["raise", rng.choice(_RAISABLE), pe]
    if roll < 0.97:
        return ["dispatch", pe, rng.randrange(4)]
    return [rng.choice(("power_off", "power_on")), pe]


def step(t: Target, op: Op, powered: set[int]) -> tuple[str, Any]:
    """Apply one operation; (what it is, what the target answered)."""
    kind = op[0]
    if kind == "call":
        _, pe, function, args = op
        if pe not in powered:
            return "skipped", None
        name = Function(function).name
        result = t.call(pe, function, *args)
        answer: Any = result
        if function in (Function.EVENT_COMPLETE, Function.EVENT_COMPLETE_AND_RESUME):
            answer = (result, exit_json(t.pop_exit(pe)))
        return f"{name} result", answer
    if kind == "interrupt":
        return "interrupt taken", t.interrupt_asserted(op[1], op[2])
    if kind == "raise":
        return "raise taken", t.raise_event(op[1], op[2])
    if kind == "dispatch":
        pe, seed = op[1], op[2]
        # Which of several offered events goes first is IMPLEMENTATION DEFINED (DEN0054C
        # 5.2.1.2): compare the set, take one by the operation's own seed.
        offered = tuple(sorted(t.deliverable(pe))) if pe in powered else ()
        if not offered:
            return "events offered", ()
        event = offered[seed % len(offered)]
        return "dispatch", (offered, entry_json(t.dispatch(pe, event, context(seed))))
    if kind == "power_off":
        if op[1] not in powered or len(powered) == 1:
            return "skipped", None
        powered.discard(op[1])
        return "power_off exits", [exit_json(e) for e in t.power_off(op[1])]
    if op[1] in powered:
        return "skipped", None
    powered.add(op[1])
    t.power_on(op[1])
    return "power_on", None


def first_difference(
    target: Target, model: Target, ops: list[Op]
) -> tuple[int, str, Any, Any] | None:
    """Run `ops` on both from their boot state: (index, kind, target's, model's) of the first
    disagreement, or None."""
    target.reset()
    model.reset()
    pt, pm = set(range(target.pes)), set(range(model.pes))
    for i, op in enumerate(ops):
        try:
            kind, got = step(target, op, pt)
        except TargetFailed as failure:  # a finding: the target cannot go on from here
            _, want = step(model, op, pm)
            return i, failure_kind(str(failure)), f"failed: {failure}", want
        _, want = step(model, op, pm)
        if got != want:
            return i, kind, got, want
    return None


def failure_kind(message: str) -> str:
    """Failures group by what broke, not by the PE or interrupt it broke on."""
    return "target failed: " + re.sub(r"(PE|interrupt |priority )(0x)?[0-9a-f]+", r"\1<n>", message)


def shrink(target: Target, model: Target, ops: list[Op], kind: str) -> list[Op]:
    """The fewest operations (delta debugging) whose first disagreement is still of `kind`."""

    def same(candidate: list[Op]) -> bool:
        found = first_difference(target, model, candidate)
        return found is not None and found[1] == kind

    chunk = max(1, len(ops) // 2)
    while chunk >= 1:
        i = 0
        while i < len(ops):
            candidate = ops[:i] + ops[i + chunk :]
            if candidate and same(candidate):
                ops = candidate
            else:
                i += chunk
        chunk //= 2
    found = first_difference(target, model, ops)
    return ops[: found[0] + 1] if found is not None else ops


def fuzz(
    target: Target,
    *,
    operations: int = 10_000,
    length: int = 60,
    seed: int = 0,
    out: Path | None = None,
    per_kind: int = 1,
    progress: Callable[[int], None] | None = None,
) -> FuzzResult:
    """`operations` random operations in sequences of `length` from the boot state."""
    model = BuiltinTarget(target.profile, target.pes)
    rng = random.Random(seed)
    mpidrs = list(Platform.reference(pes=target.pes).mpidrs)
    result = FuzzResult()
    seen: dict[str, int] = {}
    while result.operations < operations:
        ops = [random_op(rng, target.pes, mpidrs) for _ in range(length)]
        result.sequences += 1
        found = first_difference(target, model, ops)
        result.operations += length if found is None else found[0] + 1
        if progress is not None:
            progress(result.operations)
        if found is None:
            continue
        kind = found[1]
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] > per_kind:
            continue  # this kind is shown already: count it, do not shrink it again
        small = shrink(target, model, ops[: found[0] + 1], kind)
        again = first_difference(target, model, small)
        assert again is not None
        d = Difference(kind, small[-1], again[2], again[3], small)
        if out is not None:
            d.replay = save(d, target, out / f"difference-{len(result.differences) + 1}.json")
        result.differences.append(d)
    return result


def clear_replays(out: Path) -> None:
    """Remove the replay files an earlier run left in `out` (only those)."""
    if out.is_dir():
        for old in out.glob("difference-*.json"):
            if re.fullmatch(r"difference-\d+\.json", old.name):
                old.unlink()


def save(d: Difference, target: Target, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "version": 1,
        "target": target.name,
        "source": str(Path(source).resolve())
        if (source := getattr(target, "source", None))
        else None,
        "profile": target.profile,
        "pes": target.pes,
        "kind": d.kind,
        "ops": d.ops,
        "target_said": d.target,
        "model_said": d.model,
    }
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


class ReplayError(Exception):
    pass


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ReplayError(f"{path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReplayError(f"{path}: not a conform replay file (JSON): {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReplayError(f"{path}: not an {FORMAT} file")
    if data.get("version") != 1:
        raise ReplayError(f"{path}: version: {data.get('version')!r}, this sdei reads 1")
    for key, kind in (("target", str), ("profile", str), ("pes", int), ("ops", list)):
        value = data.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ReplayError(f"{path}: {key}: missing or not a {kind.__name__}")
    if data["profile"] not in ("spec", "tfa"):
        raise ReplayError(f"{path}: profile: {data['profile']!r} is not spec or tfa")
    if not 2 <= data["pes"] <= 64:
        raise ReplayError(f"{path}: pes: {data['pes']} is not between 2 and 64")
    if data.get("source") is not None and not isinstance(data["source"], str):
        raise ReplayError(f"{path}: source: not a path")
    if not data["ops"]:
        raise ReplayError(f"{path}: ops: no operations to replay")
    for n, op in enumerate(data["ops"]):
        problem = _op_problem(op, data["pes"])
        if problem:
            raise ReplayError(f"{path}: ops[{n}]: {problem}")
    return data


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _op_problem(op: Any, pes: int) -> str:
    """What is wrong with a replayed operation ("" when nothing is)."""
    shapes = {"call": 4, "interrupt": 3, "raise": 3, "dispatch": 3, "power_off": 2,
              "power_on": 2}  # fmt: skip
    if not isinstance(op, list) or not op or op[0] not in shapes:
        return f"{op!r} is not an operation ({', '.join(shapes)})"
    if len(op) != shapes[op[0]]:
        return f"{op[0]} takes {shapes[op[0]] - 1} values, got {len(op) - 1}"
    pe = op[2] if op[0] in ("interrupt", "raise") else op[1]
    if not _is_int(pe) or not 0 <= pe < pes:
        return f"PE {pe!r} is not one of 0-{pes - 1}"
    if op[0] == "call":
        if not _is_int(op[2]) or op[2] not in {int(f) for f in Function}:
            return f"{op[2]!r} is not an SDEI function id"
        if not isinstance(op[3], list) or not all(_is_int(a) for a in op[3]):
            return "the call's arguments are not a list of integers"
    elif op[0] == "raise" and op[1] not in _RAISABLE:
        return f"event {op[1]!r} is not one firmware raises here"
    elif not all(_is_int(v) for v in op[1:]):
        return f"{op[0]} takes integers"
    return ""

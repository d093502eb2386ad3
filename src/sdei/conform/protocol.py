"""The line protocol between `sdei conform` and a `process:COMMAND` target.

One JSON object per line each way; the harness asks, the target answers, in order. Numbers
are JSON integers (x0 as a signed 64-bit value). A target that cannot do something answers
`{"error": "what"}`; `sdei conform` stops with that message (exit 2).

| asks | answers |
|---|---|
| `{"op": "reset", "pes": 3, "profile": "spec"}` | `{}`: the reference platform's boot state |
| `{"op": "call", "pe": 0, "function": 3288334369, "args": [0, ...]}` | `{"x0": 0}` |
| `{"op": "interrupt", "intid": 200, "pe": 0}` | `{"sdei": true}`: SDEI owns it |
| `{"op": "raise", "event": 1073741825, "pe": 0}` | `{"taken": true}` |
| `{"op": "deliverable", "pe": 0}` | `{"events": [0]}` |
| `{"op": "dispatch", "pe": 0, "event": 0, "interrupted": CONTEXT}` | `{"entry": ENTRY}` or null |
| `{"op": "pop_exit", "pe": 0}` | `{"exit": EXIT}` or `{"exit": null}` |
| `{"op": "power_on", "pe": 1}` | `{}` |
| `{"op": "power_off", "pe": 1}` | `{"exits": [EXIT, ...]}`: handlers completed implicitly |

CONTEXT is `{"pc", "pstate", "x": [x0..x17]}`; ENTRY `{"event", "pc", "x": [x0..x3],
"pstate", "el", "critical"}`; EXIT `{"kind": "complete" | "resume" | "implicit", "event",
"pc", "pstate", "x", "elr", "spsr", "status"}` (`elr`/`spsr` null for a plain COMPLETE).

`serve(make)` runs an adapter's side of it over a dispatcher object with the methods of
`sdei.firmware.Dispatcher` (`examples/conform/adapter.py` is one).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from sdei.firmware import Entry, Exit, Interrupted


def interrupted_json(c: Interrupted) -> dict[str, Any]:
    return {"pc": c.pc, "pstate": c.pstate, "x": list(c.x)}


def interrupted_from(data: dict[str, Any]) -> Interrupted:
    return Interrupted(int(data["pc"]), int(data["pstate"]), tuple(int(v) for v in data["x"]))


def entry_json(e: Entry | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "event": e.event,
        "pc": e.pc,
        "x": list(e.x),
        "pstate": e.pstate,
        "el": e.el,
        "critical": e.critical,
    }


def entry_from(data: dict[str, Any] | None) -> Entry | None:
    if data is None:
        return None
    x = tuple(int(v) for v in data["x"])
    return Entry(
        int(data["event"]),
        int(data["pc"]),
        (x[0], x[1], x[2], x[3]),
        int(data["pstate"]),
        int(data["el"]),
        bool(data["critical"]),
    )


def exit_json(e: Exit | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "kind": e.kind,
        "event": e.event,
        "pc": e.pc,
        "pstate": e.pstate,
        "x": list(e.x),
        "elr": e.elr,
        "spsr": e.spsr,
        "status": e.status,
    }


def exit_from(data: dict[str, Any] | None) -> Exit | None:
    if data is None:
        return None
    kind = data["kind"]
    if kind not in ("complete", "resume", "implicit"):
        raise ValueError(f"unknown exit kind {kind!r}")
    return Exit(
        kind,
        int(data["event"]),
        int(data["pc"]),
        int(data["pstate"]),
        tuple(int(v) for v in data["x"]),
        None if data["elr"] is None else int(data["elr"]),
        None if data["spsr"] is None else int(data["spsr"]),
        int(data["status"]),
    )


def answer(d: Any, message: dict[str, Any]) -> dict[str, Any]:
    """One request against a dispatcher `d` (the adapter's side)."""
    op = message["op"]
    pe = int(message.get("pe", 0))
    if op == "call":
        return {"x0": d.call(pe, int(message["function"]), *(int(a) for a in message["args"]))}
    if op == "interrupt":
        return {"sdei": bool(d.interrupt_asserted(int(message["intid"]), pe))}
    if op == "raise":
        return {"taken": bool(d.raise_event(int(message["event"]), pe))}
    if op == "deliverable":
        return {"events": list(d.deliverable(pe))}
    if op == "dispatch":
        context = interrupted_from(message["interrupted"])
        return {"entry": entry_json(d.dispatch(pe, int(message["event"]), context))}
    if op == "pop_exit":
        return {"exit": exit_json(d.pop_exit(pe))}
    if op == "power_on":
        d.power_on(pe)
        return {}
    if op == "power_off":
        return {"exits": [exit_json(e) for e in d.power_off(pe)]}
    return {"error": f"unknown op {op!r}"}


def serve(
    make: Callable[[int, str], Any], stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    """Answer the protocol on `stdin`/`stdout` until it closes; `make(pes, profile)` builds the
    dispatcher at each `reset`."""
    d: Any = None
    for line in stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("op") == "reset":
            d = make(int(message["pes"]), str(message["profile"]))
            reply: dict[str, Any] = {}
        elif d is None:
            reply = {"error": "reset first"}
        else:
            try:
                reply = answer(d, message)
            except Exception as error:  # the adapter reports, the harness decides
                reply = {"error": f"{type(error).__name__}: {error}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()

"""The per-event state machine (DEN0054C 6.1, Table 13 and Table 14), as one table.

The state is the 3-bit EVENT_STATUS value (bit0 registered, bit1 enabled, bit2 running), as in
TF-A's sdei_state.c. TRANSITIONS[action][state] is the next state, SAME (permitted, no change)
or INVALID. States 2 and 6 never occur. Everything else - the permitted-call table in the docs,
the diagram, the dispatcher's checks - is derived from this table.
"""

from __future__ import annotations

from enum import IntEnum

from sdei.abi import Function

INVALID = -1
SAME = -2

UNREGISTERED, REGISTERED, ENABLED_ONLY, ENABLED = 0, 1, 2, 3
UNREGISTER_PENDING, REGISTERED_RUNNING, _ENABLED_ONLY_RUNNING, ENABLED_RUNNING = 4, 5, 6, 7

STATE_NAMES: dict[int, str] = {
    0: "handler-unregistered",
    4: "handler-unregister-pending",
    1: "handler-registered",
    5: "handler-registered+running",
    3: "handler-enabled",
    7: "handler-enabled+running",
}
LIVE_STATES: tuple[int, ...] = (0, 4, 1, 5, 3, 7)


class Action(IntEnum):
    REGISTER = 0
    RELEASE = 1
    ENABLE = 2
    DISABLE = 3
    UNREGISTER = 4
    ROUTING = 5
    CONTEXT = 6
    COMPLETE = 7
    COMPLETE_RESUME = 8
    DISPATCH = 9  # not a call: the event starts on a PE


_X, _S = INVALID, SAME
#                          state: 0    1    2   3    4    5    6   7
TRANSITIONS: dict[Action, tuple[int, ...]] = {
    Action.REGISTER:        (1,   _X,  _X, _X,  _X,  _X,  _X, _X),
    Action.RELEASE:         (_S,  _X,  _X, _X,  _X,  _X,  _X, _X),
    Action.ENABLE:          (_X,  3,   _X, _S,  _X,  7,   _X, _S),
    Action.DISABLE:         (_X,  _S,  _X, 1,   _X,  _S,  _X, 5),
    Action.UNREGISTER:      (_X,  0,   _X, 0,   _X,  4,   _X, 4),
    Action.ROUTING:         (_X,  _S,  _X, _X,  _X,  _X,  _X, _X),
    Action.CONTEXT:         (_X,  _X,  _X, _X,  _S,  _S,  _X, _S),
    Action.COMPLETE:        (_X,  _X,  _X, _X,  0,   1,   _X, 3),
    Action.COMPLETE_RESUME: (_X,  _X,  _X, _X,  0,   1,   _X, 3),
    Action.DISPATCH:        (_X,  _X,  _X, 7,   _X,  _X,  _X, _X),
}  # fmt: skip

# Which action each call applies to the event it names (Table 14's columns).
CALL_ACTIONS: dict[Function, Action] = {
    Function.EVENT_REGISTER: Action.REGISTER,
    Function.INTERRUPT_RELEASE: Action.RELEASE,
    Function.EVENT_ENABLE: Action.ENABLE,
    Function.EVENT_DISABLE: Action.DISABLE,
    Function.EVENT_UNREGISTER: Action.UNREGISTER,
    Function.EVENT_ROUTING_SET: Action.ROUTING,
    Function.EVENT_CONTEXT: Action.CONTEXT,
    Function.EVENT_COMPLETE: Action.COMPLETE,
    Function.EVENT_COMPLETE_AND_RESUME: Action.COMPLETE_RESUME,
}


def next_state(state: int, action: Action) -> int:
    """The state after `action`, or INVALID. SAME resolves to `state`."""
    result = TRANSITIONS[action][state]
    return state if result == SAME else result


def permitted(state: int, action: Action) -> bool:
    return TRANSITIONS[action][state] != INVALID


def permitted_calls(state: int) -> tuple[Function, ...]:
    """Table 14's row for a state."""
    return tuple(f for f, a in CALL_ACTIONS.items() if permitted(state, a))


def permitted_call_table() -> str:
    """Table 14 as Markdown, generated from TRANSITIONS."""
    calls = list(CALL_ACTIONS)
    head = "| state | " + " | ".join(f.name for f in calls) + " |"
    rule = "|---" * (len(calls) + 1) + "|"
    rows = []
    for state in LIVE_STATES:
        cells = []
        for function in calls:
            result = TRANSITIONS[CALL_ACTIONS[function]][state]
            if result == INVALID:
                pending = function is Function.EVENT_UNREGISTER and state == UNREGISTER_PENDING
                cells.append("PENDING" if pending else "")
            elif result == SAME:
                cells.append("✓")
            else:
                cells.append(f"✓ → {result}")
        rows.append(f"| {state} {STATE_NAMES[state]} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def mermaid_diagram() -> str:
    """The state diagram (Mermaid), generated from TRANSITIONS."""
    lines = ["stateDiagram-v2", "    [*] --> s0"]
    for state in LIVE_STATES:
        lines.append(f"    s{state} : {state} {STATE_NAMES[state]}")
    for action, row in TRANSITIONS.items():
        for state in LIVE_STATES:
            target = row[state]
            if target >= 0 and target != state:
                lines.append(f"    s{state} --> s{target} : {action.name}")
    return "\n".join(lines)

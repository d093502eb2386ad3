"""Every cell of the permitted-call table (sdei-spec.md §3.2 / §3.3, DEN0054C Table 13/14).

The expected table is written out literally below from the reference text; it is NOT imported
from sdei.firmware.states. It is checked twice: against the code's TRANSITIONS table, and
against the dispatcher itself, by driving a real event into each live state with real calls and
dispatches and then issuing every call.
"""

from __future__ import annotations

import re

import pytest

from sdei.conform import suite
from sdei.firmware import states

from .helpers import (
    DENIED,
    ENABLED_RUNNING,
    INVALID_PARAMETERS,
    KINDS,
    LIVE_STATES,
    PENDING,
    PRIVATE_KINDS,
    PROFILES,
    RESUME,
    SUCCESS,
    Kind,
    Profile,
    context,
    make_rig,
)

# §3.3, row by row, as the conformance suite writes it out (literally, from the reference text;
# not from sdei.firmware.states): a cell is the next state, "ok" (permitted, unchanged) or "X"
# (refused). UNREGISTER in state 4 is refused with PENDING rather than DENIED (§3.2 note).
CALLS = (*suite.CALLS, "DISPATCH")
Cell = int | str
SPEC_TABLE: dict[int, tuple[Cell, ...]] = suite.TABLE

# The code's action names for the table's columns.
ACTION_NAMES = {
    "REGISTER": "REGISTER",
    "RELEASE": "RELEASE",
    "ENABLE": "ENABLE",
    "DISABLE": "DISABLE",
    "UNREGISTER": "UNREGISTER",
    "ROUTING_SET": "ROUTING",
    "CONTEXT": "CONTEXT",
    "COMPLETE": "COMPLETE",
    "COMPLETE_AND_RESUME": "COMPLETE_RESUME",
    "DISPATCH": "DISPATCH",
}
FUNCTIONS = suite.FUNCTIONS
STATUS_NAMES = {
    0: "handler-unregistered",
    4: "handler-unregister-pending",
    1: "handler-registered",
    5: "handler-registered+running",
    3: "handler-enabled",
    7: "handler-enabled+running",
}


def cell(state: int, call: str) -> Cell:
    return SPEC_TABLE[state][CALLS.index(call)]


# ---------------------------------------------------------------- the code's table


@pytest.mark.parametrize("state", range(8))
@pytest.mark.parametrize("call", CALLS)
def test_transitions_table_matches_the_spec(state: int, call: str) -> None:
    action = states.Action[ACTION_NAMES[call]]
    got = states.TRANSITIONS[action][state]
    expected = cell(state, call)
    if expected == "X":
        assert got == states.INVALID
        assert not states.permitted(state, action)
        assert states.next_state(state, action) == states.INVALID
    elif expected == "ok":
        assert got == states.SAME
        assert states.permitted(state, action)
        assert states.next_state(state, action) == state
    else:
        assert got == expected
        assert states.next_state(state, action) == expected


def test_the_code_has_no_extra_actions() -> None:
    assert {a.name for a in states.Action} == set(ACTION_NAMES.values())
    assert all(len(row) == 8 for row in states.TRANSITIONS.values())
    assert set(states.LIVE_STATES) == set(SPEC_TABLE) - {2, 6}


@pytest.mark.parametrize("state", LIVE_STATES)
def test_permitted_calls_row(state: int) -> None:
    expected = {FUNCTIONS[c] for c in FUNCTIONS if cell(state, c) != "X"}
    assert set(states.permitted_calls(state)) == expected


# ---------------------------------------------------------------- the generated docs


def _parse_markdown_table(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        assert line.startswith("|") and line.endswith("|"), line
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_permitted_call_table_rows() -> None:
    head, rule, *rows = _parse_markdown_table(states.permitted_call_table())
    assert head[0] == "state"
    assert head[1:] == [FUNCTIONS[c].name for c in CALLS if c in FUNCTIONS]
    assert all(set(r) <= {"-"} and r for r in rule)
    assert len(rule) == len(head)
    assert [r[0] for r in rows] == [f"{s} {STATUS_NAMES[s]}" for s in LIVE_STATES]
    for state, row in zip(LIVE_STATES, rows, strict=True):
        assert len(row) == len(head)
        for name, text in zip(head[1:], row[1:], strict=True):
            call = next(c for c, f in FUNCTIONS.items() if f.name == name)
            expected = cell(state, call)
            if expected == "X":
                pending = call == "UNREGISTER" and state == 4
                assert text == ("PENDING" if pending else ""), (state, call)
            elif expected == "ok":
                assert text == "✓", (state, call)
            else:
                assert text == f"✓ → {expected}", (state, call)


def test_mermaid_diagram() -> None:
    lines = states.mermaid_diagram().splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> s0" in lines
    for state, name in STATUS_NAMES.items():
        assert f"    s{state} : {state} {name}" in lines
    edges = {line.strip() for line in lines if re.fullmatch(r"\s*s\d --> s\d : \w+", line)}
    expected = {
        f"s{state} --> s{target} : {ACTION_NAMES[call]}"
        for state in LIVE_STATES
        for call in CALLS
        if isinstance(target := cell(state, call), int) and target != state
    }
    assert edges == expected
    # Nothing else: header, start arrow, one label per state, the edges.
    assert len(lines) == 2 + len(STATUS_NAMES) + len(expected)


# ---------------------------------------------------------------- the dispatcher, cell by cell

SAVED_X3 = 0x1003  # helpers.context(): x[i] = 0x1000 + i
LIVE_CALLS = [c for c in CALLS if c != "DISPATCH"]


def expected_result(kind: Kind, state: int, call: str) -> tuple[int, int]:
    """(return code, EVENT_STATUS afterwards) from the literal table plus the argument checks
    that come before the state check (§2: RELEASE of a static event and ROUTING_SET of a
    private event are INVALID_PARAMETERS whatever the state)."""
    if call == "RELEASE" and kind in ("event0", "shared-static"):
        return INVALID_PARAMETERS, state
    if call == "ROUTING_SET" and kind in PRIVATE_KINDS:
        return INVALID_PARAMETERS, state
    c = cell(state, call)
    if c == "X":
        return (PENDING if call == "UNREGISTER" and state == 4 else DENIED), state
    after = state if c == "ok" else int(c)
    if call == "UNREGISTER" and after == 4:
        return PENDING, after
    if call == "CONTEXT":
        return SAVED_X3, after
    return SUCCESS, after


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("call", LIVE_CALLS)
@pytest.mark.parametrize("state", LIVE_STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_call_in_every_state(profile: Profile, kind: Kind, state: int, call: str) -> None:
    rig = make_rig(profile)
    event = rig.drive(kind, state, pe=0)
    args = {
        "REGISTER": (event, 0x8000_4000, 7, 0, 0),
        "RELEASE": (event,),
        "ENABLE": (event,),
        "DISABLE": (event,),
        "UNREGISTER": (event,),
        "ROUTING_SET": (event, 1, rig.mpidr(1)),
        "CONTEXT": (3,),
        "COMPLETE": (0,),
        "COMPLETE_AND_RESUME": (RESUME,),
    }[call]
    code, after = expected_result(kind, state, call)

    assert rig.call(0, FUNCTIONS[call], *args) == code
    assert rig.status(event, 0) == after
    for pe in (1, 2):  # another PE sees its own copy of a private event, the same shared one
        assert rig.status(event, pe) == (0 if kind in PRIVATE_KINDS else after)
    if call in ("COMPLETE", "COMPLETE_AND_RESUME"):
        assert (rig.d.pop_exit(0) is not None) == (code == SUCCESS)
        assert rig.d.running(0) == ((event,) if state & 4 and code != SUCCESS else ())
    if call == "RELEASE" and code == SUCCESS:
        assert rig.d.bound_interrupt(event) is None
    if call == "ROUTING_SET" and code == SUCCESS:
        assert rig.get_info(event, 3) == 1
        assert rig.get_info(event, 4) == rig.mpidr(1)
    if call == "REGISTER" and code == SUCCESS:
        assert rig.d.registration(event, 0)[:2] == (0x8000_4000, 7)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("state", LIVE_STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_dispatch_column(profile: Profile, kind: Kind, state: int) -> None:
    """Only an enabled, not running event can start; anything else stays undelivered."""
    rig = make_rig(profile)
    event = rig.drive(kind, state, pe=0)
    rig.unmask(0)
    rig.trigger(event, 0)
    deliverable = event in rig.d.deliverable(0)
    assert deliverable == (cell(state, "DISPATCH") == 7)
    if deliverable:
        assert rig.d.dispatch(0, event, context()) is not None
        assert rig.status(event, 0) == ENABLED_RUNNING
        assert rig.d.running(0) == (event,)
    else:
        assert rig.status(event, 0) == state

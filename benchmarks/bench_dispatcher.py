"""Dispatcher throughput: SDEI calls per second through `Dispatcher.call`, and complete
signal → dispatch → context → complete cycles per second, in both profiles."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchlib import Row, best_rate
from sdei.abi import Function, Info, RoutingMode, Status
from sdei.firmware import PROFILE_NAMES, Dispatcher, Interrupted, Platform

GOAL_CALLS_PER_SECOND = 1_000_000
PES = 4
ENTRY = 0x8008_1000
ARG = 0x1000
UNKNOWN_EVENT = 0x123
SPI_BASE = 100

CYCLE = "a cycle: EVENT_SIGNAL, deliverable, dispatch, EVENT_CONTEXT, EVENT_COMPLETE, pop_exit"

# (pe, function, arguments)
Call = tuple[int, int, tuple[int, ...]]


def mixed_sequence(platform: Platform) -> tuple[list[Call], list[bool]]:
    """A client's life on every PE in turn, with its mistakes: register, enable, query, mask,
    disable, unregister event 0; bind an SPI and run its shared event through RM_PE routing,
    then release it. Returns the calls and, for each, whether it is expected to fail.

    The sequence leaves the dispatcher as it found it, so it can be repeated forever.
    """
    shared_slot = min(e.number for e in platform.events if e.dynamic and e.shared)
    calls: list[Call] = []
    fails: list[bool] = []

    def add(pe: int, function: Function, *args: int, fail: bool = False) -> None:
        calls.append((pe, int(function), args))
        fails.append(fail)

    F = Function
    for pe, mpidr in enumerate(platform.mpidrs):
        add(pe, F.VERSION)
        add(pe, F.EVENT_REGISTER, 0, ENTRY, ARG, 0, 0)
        add(pe, F.EVENT_ENABLE, 0)
        add(pe, F.EVENT_STATUS, 0)
        add(pe, F.EVENT_GET_INFO, 0, Info.EV_TYPE)
        add(pe, F.EVENT_GET_INFO, 0, Info.EV_PRIORITY)
        add(pe, F.PE_UNMASK)
        add(pe, F.EVENT_CONTEXT, 0, fail=True)  # no handler is running
        add(pe, F.PE_MASK)
        add(pe, F.EVENT_DISABLE, 0)
        add(pe, F.EVENT_UNREGISTER, 0)
        add(pe, F.EVENT_ENABLE, 0, fail=True)  # denied: not registered
        add(pe, F.INTERRUPT_BIND, SPI_BASE + pe)
        add(pe, F.EVENT_REGISTER, shared_slot, ENTRY, ARG, RoutingMode.RM_PE, mpidr)
        add(pe, F.EVENT_GET_INFO, shared_slot, Info.EV_ROUTING_AFF)
        add(pe, F.EVENT_ENABLE, shared_slot)
        add(pe, F.EVENT_ROUTING_SET, shared_slot, RoutingMode.RM_ANY, 0, fail=True)  # enabled
        add(pe, F.EVENT_DISABLE, shared_slot)
        add(pe, F.EVENT_ROUTING_SET, shared_slot, RoutingMode.RM_ANY, 0)
        add(pe, F.EVENT_STATUS, shared_slot)
        add(pe, F.EVENT_UNREGISTER, shared_slot)
        add(pe, F.INTERRUPT_RELEASE, shared_slot)
        add(pe, F.EVENT_STATUS, UNKNOWN_EVENT, fail=True)  # no such event
        add(pe, F.FEATURES, 0)
    return calls, fails


def check_sequence(sdei: Dispatcher, calls: Sequence[Call], fails: Sequence[bool]) -> float:
    """Run the sequence twice and check each result is an error exactly where expected and the
    same both times (the sequence is a cycle). Returns the fraction of calls that fail."""
    first = [sdei.call(pe, function, *args) for pe, function, args in calls]
    second = [sdei.call(pe, function, *args) for pe, function, args in calls]
    if first != second:
        raise AssertionError("the mixed sequence does not return the dispatcher to its start")
    for (pe, function, args), result, fail in zip(calls, first, fails, strict=True):
        if (result < 0) != fail:
            name = Status(result).name if result < 0 else hex(result)
            raise AssertionError(
                f"PE{pe} {Function(function).name}{args} returned {name}, "
                f"expected {'an error' if fail else 'success'}"
            )
    return sum(fails) / len(fails)


def _mixed_batch(sdei: Dispatcher, calls: Sequence[Call], repeat: int) -> Callable[[], int]:
    call = sdei.call
    work = list(calls) * repeat
    count = len(work)

    def batch() -> int:
        for pe, function, args in work:
            call(pe, function, *args)
        return count

    return batch


def _cycle_batch(sdei: Dispatcher, platform: Platform, repeat: int) -> Callable[[], int]:
    """signal → deliverable → dispatch → EVENT_CONTEXT → EVENT_COMPLETE → pop_exit, per PE."""
    call = sdei.call
    for pe in range(platform.pes):
        call(pe, Function.EVENT_REGISTER, 0, ENTRY, ARG, 0, 0)
        call(pe, Function.EVENT_ENABLE, 0)
        call(pe, Function.PE_UNMASK)
    interrupted = Interrupted(0xFFFF_8000_8012_3450, 0x6000_0005, tuple(range(18)))
    targets = [(pe, platform.mpidrs[pe]) for pe in range(platform.pes)] * repeat
    signal, context = Function.EVENT_SIGNAL, Function.EVENT_CONTEXT
    complete = Function.EVENT_COMPLETE
    deliverable, dispatch, pop_exit = sdei.deliverable, sdei.dispatch, sdei.pop_exit
    count = len(targets)

    def batch() -> int:
        for pe, mpidr in targets:
            call(pe, signal, 0, mpidr)
            (event,) = deliverable(pe)
            dispatch(pe, event, interrupted)
            call(pe, context, 0)
            call(pe, complete, 0)
            pop_exit(pe)
        return count

    batch()  # raises if any step misbehaves
    return batch


def run(duration: float = 0.5, runs: int = 5) -> list[Row]:
    rows: list[Row] = []
    for profile in PROFILE_NAMES:
        platform = Platform.reference(PES, profile=profile)
        sdei = Dispatcher(platform)
        calls, fails = mixed_sequence(platform)
        error_share = check_sequence(sdei, calls, fails)
        rate = best_rate(_mixed_batch(sdei, calls, repeat=20), duration, runs)
        detail = f"{len(calls)} calls over {PES} PEs, {error_share:.0%} errors"
        rows.append(
            Row("dispatcher: mixed calls", profile, rate, "calls/s", GOAL_CALLS_PER_SECOND, detail)
        )
        sdei = Dispatcher(platform)
        rate = best_rate(_cycle_batch(sdei, platform, repeat=50), duration, runs)
        rows.append(Row("dispatcher: event cycles", profile, rate, "cycles/s", None, CYCLE))
    return rows

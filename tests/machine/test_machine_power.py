"""Power management and SDEI (DEN0054C 6.5; tftf test_sdei.c power tests): suspend to
power-down or standby, CPU_OFF / CPU_ON, and PSCI calls made inside a handler."""

from __future__ import annotations

import pytest
from helpers import (
    EVENT_0,
    POWERDOWN,
    RAS,
    RAS_SPI,
    HandlerLog,
    Kernel,
    SleepyChooser,
    make_machine,
    run_ok,
)

from sdei.abi import PSTATE_DAIF, Function
from sdei.firmware import Entry
from sdei.machine import (
    PE,
    AssertInterrupt,
    Context,
    Local,
    Machine,
    Observer,
    Park,
    Power,
    Psci,
    PsciStatus,
    Smc,
    WaitUntil,
)
from sdei.machine.contexts import Code

F = Function


@pytest.mark.parametrize(("power_state", "masked_after"), [(POWERDOWN, True), (0, False)])
def test_suspend_woken_by_event(power_state: int, masked_after: bool) -> None:
    """A PE suspended to power-down and woken by an event comes back masked: PE_MASK returns 0
    and the event waits for PE_UNMASK. A standby keeps the mask state: the event runs at once
    and PE_MASK then returns 1 (DEN0054C 6.5.2.2, 6.5.3, 5.1.12.3)."""
    m = make_machine(2)
    k = Kernel(m).load()
    log = HandlerLog(m)
    seen: dict[str, object] = {}

    def sleeper(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        yield from k.unmask()
        seen["suspend"] = yield Smc(Psci.CPU_SUSPEND, power_state, k.address(), 0)
        seen["pending at wake"] = m.firmware.pending(EVENT_0, pe.index)
        if masked_after:
            yield Local("woken")
            assert k.handled == [], "delivered to a PE that woke from power-down masked"
            seen["mask"] = yield Smc(F.PE_MASK)
            seen["unmask at"] = m.step_count
            yield from k.unmask()
            yield WaitUntil(lambda: bool(k.handled))
        else:
            yield WaitUntil(lambda: bool(k.handled))
            seen["mask"] = yield Smc(F.PE_MASK)

    def waker(pe: PE) -> Code:
        yield WaitUntil(lambda: m.pes[1].power is not Power.ON, label="PE1 asleep")
        seen["asleep"] = m.pes[1].power
        assert (yield Smc(Psci.AFFINITY_INFO, m.pes[1].mpidr, 0)) == 0  # ON (not OFF)
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0

    m.spawn(1, sleeper)
    m.spawn(0, waker)
    run_ok(m, chooser=SleepyChooser())
    assert seen["asleep"] is (Power.POWERDOWN if power_state == POWERDOWN else Power.STANDBY)
    assert seen["suspend"] == PsciStatus.SUCCESS
    assert seen["pending at wake"] is True  # the event woke it
    assert seen["mask"] == (0 if masked_after else 1)
    [entry] = log.entries
    assert entry.pe == 1
    if masked_after:
        assert isinstance(seen["unmask at"], int) and entry.step > seen["unmask at"]
    # Registrations survive both kinds of suspend.
    assert m.firmware.registration(EVENT_0, 1)[0] == k.address()


class _MaskTrail(Observer):
    """Per PE: is it masked because it woke from power-down (and has not unmasked since)?"""

    def __init__(self, machine: Machine) -> None:
        self.woke_masked = [False] * len(machine.pes)
        self.bad: list[int] = []
        self.powerdown_wakes = 0
        self.mask_results: list[int] = []
        machine.observe(self)

    def power(self, step: int, pe: int, old: str, new: str) -> None:
        if old == "power-down" and new == "on":
            self.woke_masked[pe] = True
            self.powerdown_wakes += 1

    def firmware_call(
        self, step: int, pe: int, conduit: str, function: int, args: tuple[int, ...], result: int
    ) -> None:
        if function == F.PE_UNMASK and result == 0:
            self.woke_masked[pe] = False
        if function == F.PE_MASK:
            self.mask_results.append(result)

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        if self.woke_masked[pe]:
            self.bad.append(step)


@pytest.mark.parametrize(("power_state", "mask_result"), [(POWERDOWN, 0), (0, 1)])
def test_suspend_mask_state_across_random_wakes(power_state: int, mask_result: int) -> None:
    """With wakes at any time (the timer) and the signal at any time, over many seeds: after a
    power-down wake PE_MASK returns 0 and nothing is delivered until PE_UNMASK; after a standby
    wake PE_MASK returns 1 (the PE stayed unmasked)."""
    powerdown_wakes = 0
    for seed in range(25):
        m = make_machine(2)
        k = Kernel(m).load()
        trail = _MaskTrail(m)
        signalled: list[bool] = []

        def sleeper(pe: PE, k: Kernel = k, signalled: list[bool] = signalled) -> Code:
            yield from k.register(EVENT_0)
            while not signalled:
                yield from k.unmask()
                yield Smc(Psci.CPU_SUSPEND, power_state, k.address(), 0)
                yield Smc(F.PE_MASK)
            yield from k.unmask()
            yield WaitUntil(lambda: bool(k.handled))

        def waker(pe: PE, m: Machine = m, signalled: list[bool] = signalled) -> Code:
            yield WaitUntil(lambda: m.pes[1].power is not Power.ON, label="PE1 asleep")
            assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0
            signalled.append(True)

        m.spawn(1, sleeper)
        m.spawn(0, waker)
        run_ok(m, seed=seed)
        assert trail.bad == [], f"seed {seed}: delivered after a power-down wake while masked"
        assert set(trail.mask_results) == {mask_result}, seed
        assert len(k.handled) == 1
        powerdown_wakes += trail.powerdown_wakes
    assert (powerdown_wakes > 0) == (power_state == POWERDOWN)


def test_suspend_to_powerdown_keeps_registrations_and_shared_events_go_elsewhere() -> None:
    """While PE1 sleeps in power-down, an RM_ANY shared event wakes it (any enabled event may),
    but PE1 wakes masked, so an unmasked PE takes it; PE1 keeps its registration (6.5.2.2)."""
    m = make_machine(3)
    k = Kernel(m).load()
    log = HandlerLog(m)
    set_up: list[int] = []
    seen: dict[str, int] = {}

    def sleeper(pe: PE) -> Code:
        yield from k.register(RAS)
        yield from k.unmask()
        set_up.append(pe.index)
        assert (yield Smc(Psci.CPU_SUSPEND, POWERDOWN, k.address(), 0)) == 0
        seen["mask"] = yield Smc(F.PE_MASK)
        seen["status"] = yield Smc(F.EVENT_STATUS, RAS)

    def other(pe: PE) -> Code:
        yield WaitUntil(lambda: m.pes[1].power is Power.POWERDOWN, label="PE1 asleep")
        yield from k.unmask()
        set_up.append(pe.index)

    def trigger(pe: PE) -> Code:
        yield WaitUntil(lambda: len(set_up) == 2)
        assert (yield AssertInterrupt(RAS_SPI)) is True

    m.spawn(1, sleeper)
    m.spawn(2, other)
    m.spawn(0, trigger)
    run_ok(m, chooser=SleepyChooser())
    assert [e.pe for e in log.entries] == [2]
    assert seen == {"mask": 0, "status": 3}
    assert m.pes[1].power is Power.ON


def test_cpu_off_then_cpu_on_comes_back_masked_without_private_registrations() -> None:
    """CPU_OFF then CPU_ON from another PE: the PE starts at the entry point with the context id
    in x0, masked, DAIF set, with no private registration; shared ones are kept (DEN0054C 6.5.1;
    TF-A sdei_cpu_on_init)."""
    m = make_machine(2)
    k = Kernel(m)
    seen: dict[str, int] = {}

    def secondary_entry(pe: PE) -> Code:
        seen["x0"] = pe.x[0]
        seen["daif"] = pe.pstate & PSTATE_DAIF
        seen["mask"] = yield Smc(F.PE_MASK)
        seen["private status"] = yield Smc(F.EVENT_STATUS, EVENT_0)
        seen["shared status"] = yield Smc(F.EVENT_STATUS, RAS)
        seen["enable"] = yield Smc(F.EVENT_ENABLE, EVENT_0)

    k.add("secondary_entry", 0x4000, secondary_entry)
    k.load()

    def victim(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        yield from k.register(RAS)
        yield from k.unmask()
        yield Smc(Psci.CPU_OFF)
        raise AssertionError("CPU_OFF returned")

    def boss(pe: PE) -> Code:
        yield WaitUntil(lambda: m.pes[1].power is Power.OFF, label="PE1 off")
        assert (yield Smc(Psci.AFFINITY_INFO, m.pes[1].mpidr, 0)) == 1  # OFF
        seen["on"] = yield Smc(Psci.CPU_ON, m.pes[1].mpidr, k.address("secondary_entry"), 0x1234)
        seen["again"] = yield Smc(Psci.CPU_ON, m.pes[1].mpidr, k.address("secondary_entry"), 0)

    m.spawn(1, victim)
    m.spawn(0, boss)
    run_ok(m)
    assert seen == {
        "on": PsciStatus.SUCCESS,
        "again": PsciStatus.ALREADY_ON,
        "x0": 0x1234,
        "daif": PSTATE_DAIF,
        "mask": 0,  # already masked
        "private status": 0,
        "shared status": 3,
        "enable": -3,  # not registered: DENIED
    }
    assert m.firmware.registration(EVENT_0, 1) == (0, 0, 0, 0)


def test_cpu_on_with_bad_entry_point_and_unknown_pe() -> None:
    m = make_machine(2, powered_on=(0,))
    k = Kernel(m).load()
    seen: list[int] = []

    def boss(pe: PE) -> Code:
        seen.append((yield Smc(Psci.CPU_ON, m.pes[1].mpidr, 0x9000_0000, 0)))
        seen.append((yield Smc(Psci.CPU_ON, 0xFF_0000, k.address(), 0)))
        seen.append((yield Smc(Psci.AFFINITY_INFO, m.pes[1].mpidr, 0)))

    m.spawn(0, boss)
    run_ok(m)
    assert seen == [PsciStatus.INVALID_ADDRESS, PsciStatus.INVALID_PARAMETERS, 1]
    assert m.pes[1].power is Power.OFF


@pytest.mark.parametrize("profile", ["spec", "tfa"])
def test_cpu_off_inside_handler(profile: str) -> None:
    """CPU_OFF called in a handler: spec completes the handler implicitly (DEN0054C 6.5.4), so
    the shared event is free to run again elsewhere; TF-A has no such hook, so the event stays
    'running' on the dead PE and is never delivered again (stale, sdei-spec.md §5.8)."""
    m = make_machine(3, profile=profile)
    k = Kernel(m)
    log = HandlerLog(m)
    seen: dict[str, object] = {}

    def offing_handler(pe: PE) -> Code:
        yield Smc(Psci.CPU_OFF)
        raise AssertionError("CPU_OFF returned")

    k.add("offing_handler", 0x2000, offing_handler)
    k.load()

    def victim(pe: PE) -> Code:
        yield from k.unmask()

    def boss(pe: PE) -> Code:
        yield from k.register(RAS, symbol="offing_handler")
        yield WaitUntil(lambda: not m.firmware.is_masked(1), label="PE1 unmasked")
        assert (yield AssertInterrupt(RAS_SPI)) is True
        yield WaitUntil(lambda: m.pes[1].power is Power.OFF, label="PE1 off")
        seen["status"] = yield Smc(F.EVENT_STATUS, RAS)
        seen["running"] = m.firmware.running(1)
        seen["unregister"] = yield Smc(F.EVENT_UNREGISTER, RAS)
        if seen["unregister"] == 0:
            yield from k.register(RAS)
        seen["spi"] = yield AssertInterrupt(RAS_SPI)  # PE2 could take it now
        for _ in range(10):
            yield Local("wait")

    def bystander(pe: PE) -> Code:
        yield WaitUntil(lambda: m.pes[1].power is Power.OFF)
        yield from k.unmask()
        for _ in range(10):
            yield Local("idle")

    m.spawn(1, victim)
    m.spawn(0, boss)
    m.spawn(2, bystander)
    run_ok(m)
    assert log.entries[0].pe == 1
    if profile == "spec":
        assert seen["status"] == 3  # enabled, not running
        assert seen["running"] == ()
        assert seen["unregister"] == 0
        assert [(c.pe, c.kind) for c in log.completions] == [(1, "implicit"), (2, "complete")]
        assert [e.pe for e in log.entries] == [1, 2]
    else:
        assert seen["status"] == 7  # still running on a PE that is off
        assert seen["running"] == (RAS,)
        assert seen["unregister"] == -5  # PENDING forever
        assert log.completions == []
        assert [e.pe for e in log.entries] == [1]


def test_event_delivered_to_a_parked_pe_runs_its_handler() -> None:
    m = make_machine(2)
    k = Kernel(m).load()

    def victim(pe: PE) -> Code:
        yield from k.register(EVENT_0)
        yield from k.unmask()
        yield Park()

    def signaller(pe: PE) -> Code:
        yield WaitUntil(lambda: m.pes[1].parked, label="PE1 parked")
        assert (yield Smc(F.EVENT_SIGNAL, EVENT_0, m.pes[1].mpidr)) == 0

    m.spawn(1, victim)
    m.spawn(0, signaller)
    run_ok(m)
    assert [h.pe for h in k.handled] == [1]

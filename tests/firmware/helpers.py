"""Shared set-up for the dispatcher tests: a rig around one Dispatcher and its interrupt port.

Everything here is driven through the public contract only: `call`, the hardware-side methods
(`interrupt_asserted`, `raise_event`, `dispatch`, ...) and the views. Facts cited as §n refer to
/work/shared/reference/sdei-spec.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sdei.abi import Function
from sdei.firmware import Dispatcher, Entry, Exit, FirmwareInterrupts, Interrupted, Platform

Profile = Literal["spec", "tfa"]
PROFILES: tuple[Profile, ...] = ("spec", "tfa")

# Return codes written out from §1 Table 6 (not imported, so a wrong constant cannot hide).
SUCCESS = 0
NOT_SUPPORTED = -1
INVALID_PARAMETERS = -2
DENIED = -3
PENDING = -5
OUT_OF_RESOURCE = -10

# Addresses: the reference platform's non-secure memory is [0x8000_0000, 0x1_0000_0000).
EP = 0x8000_0000
EP2 = 0x8000_1000
RESUME = 0x8000_2000
MISALIGNED = 0x8000_0002
SECURE_ADDRESS = 0x0000_1000
ARG = 0xA5A5_0000_1234

# The reference platform (platform.py `Platform.reference`).
EVENT0 = 0
WATCHDOG = 0x4000_0001  # private, critical, raised by firmware (no interrupt)
RAS = 0x4000_0010  # shared, normal, static SPI 200
CRITICAL_SHARED = 0x4000_0011  # shared, critical, static SPI 201
RAS_SPI, CRITICAL_SPI, EVENT0_SGI = 200, 201, 8
SECURE_PPI = 29
PPIS = (20, 21, 22, 23)
SPIS = (40, 41, 42, 43)

# The six live states of §3.1 by EVENT_STATUS value.
UNREGISTERED, REGISTERED, ENABLED = 0, 1, 3
UNREGISTER_PENDING, REGISTERED_RUNNING, ENABLED_RUNNING = 4, 5, 7
LIVE_STATES = (
    UNREGISTERED,
    UNREGISTER_PENDING,
    REGISTERED,
    REGISTERED_RUNNING,
    ENABLED,
    ENABLED_RUNNING,
)

# Kinds of event a test can drive through the state machine.
Kind = Literal["event0", "private-bound", "shared-static", "shared-bound"]
KINDS: tuple[Kind, ...] = ("event0", "private-bound", "shared-static", "shared-bound")
PRIVATE_KINDS: frozenset[Kind] = frozenset({"event0", "private-bound"})


def context(
    pc: int = 0xFFFF_0000_0040_1000, pstate: int = 0x6000_0005, seed: int = 0
) -> Interrupted:
    """An interrupted client context with recognisable x0-x17."""
    return Interrupted(pc, pstate, tuple(0x1000 * (seed + 1) + i for i in range(18)))


@dataclass
class Rig:
    """A dispatcher on the reference platform plus the interrupt port the test owns."""

    profile: Profile
    platform: Platform
    port: FirmwareInterrupts
    d: Dispatcher

    # ---- calls

    def call(self, pe: int, function: int, *args: int) -> int:
        return self.d.call(pe, function, *args)

    def status(self, event: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.EVENT_STATUS, event)

    def register(
        self,
        event: int,
        pe: int = 0,
        *,
        ep: int = EP,
        arg: int = ARG,
        flags: int = 0,
        affinity: int = 0,
    ) -> int:
        return self.d.call(pe, Function.EVENT_REGISTER, event, ep, arg, flags, affinity)

    def enable(self, event: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.EVENT_ENABLE, event)

    def disable(self, event: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.EVENT_DISABLE, event)

    def unregister(self, event: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.EVENT_UNREGISTER, event)

    def unmask(self, pe: int = 0) -> int:
        return self.d.call(pe, Function.PE_UNMASK)

    def mask(self, pe: int = 0) -> int:
        return self.d.call(pe, Function.PE_MASK)

    def bind(self, intid: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.INTERRUPT_BIND, intid)

    def release(self, event: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.INTERRUPT_RELEASE, event)

    def complete(self, pe: int = 0, status: int = 0) -> int:
        return self.d.call(pe, Function.EVENT_COMPLETE, status)

    def complete_and_resume(self, pe: int = 0, address: int = RESUME) -> int:
        return self.d.call(pe, Function.EVENT_COMPLETE_AND_RESUME, address)

    def get_info(self, event: int, info: int, pe: int = 0) -> int:
        return self.d.call(pe, Function.EVENT_GET_INFO, event, info)

    def mpidr(self, pe: int) -> int:
        return self.platform.mpidrs[pe]

    # ---- the hardware side

    def enable_and_unmask(self, event: int, pe: int = 0, **kw: int) -> None:
        assert self.register(event, pe, **kw) == SUCCESS
        assert self.enable(event, pe) == SUCCESS
        self.unmask(pe)

    def trigger(self, event: int, pe: int = 0) -> None:
        """Assert the event's source: its interrupt, or a firmware raise for explicit events."""
        intid = EVENT0_SGI if event == EVENT0 else self.d.bound_interrupt(event)
        if intid is None:
            self.d.raise_event(event, pe)
        else:
            self.d.interrupt_asserted(intid, pe)

    def run(self, event: int, pe: int = 0, interrupted: Interrupted | None = None) -> Entry:
        """Trigger `event` and start its handler on `pe` (it must be deliverable there)."""
        self.trigger(event, pe)
        assert event in self.d.deliverable(pe), (hex(event), self.d.deliverable(pe))
        entry = self.d.dispatch(pe, event, interrupted or context())
        assert entry is not None
        return entry

    def finish(self, pe: int = 0, status: int = 0) -> Exit:
        assert self.complete(pe, status) == SUCCESS
        exit_ = self.d.pop_exit(pe)
        assert exit_ is not None
        return exit_

    # ---- driving an event of a given kind into a state

    def event_of(self, kind: Kind) -> int:
        """The event number used for `kind`, binding an interrupt if needed."""
        if kind == "event0":
            return EVENT0
        if kind == "shared-static":
            return RAS
        number = self.bind(PPIS[0] if kind == "private-bound" else SPIS[0])
        assert number >= 0, number
        return number

    def drive(self, kind: Kind, state: int, pe: int = 0) -> int:
        """Bring an event of `kind` into `state` (as seen from `pe`) with real calls and a real
        dispatch; return its number. Running states run the handler on `pe`."""
        event = self.event_of(kind)
        if state == UNREGISTERED:
            return event
        assert self.register(event, pe) == SUCCESS
        if state == REGISTERED:
            return event
        assert self.enable(event, pe) == SUCCESS
        if state == ENABLED:
            return event
        self.unmask(pe)
        self.run(event, pe)
        if state == REGISTERED_RUNNING:
            assert self.disable(event, pe) == SUCCESS
        elif state == UNREGISTER_PENDING:
            assert self.unregister(event, pe) == PENDING
        assert self.status(event, pe) == state
        return event


def make_rig(profile: Profile = "spec", pes: int = 3, client_el: int = 1) -> Rig:
    platform = Platform.reference(pes=pes, profile=profile, client_el=client_el)
    port = FirmwareInterrupts(platform.secure_interrupts)
    return Rig(profile, platform, port, Dispatcher(platform, port))


def by_profile(profile: Profile, spec: int, tfa: int) -> int:
    return spec if profile == "spec" else tfa

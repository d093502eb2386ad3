"""The static description of an SDEI platform: PEs, events, bind slots, memory, version, profile."""

from __future__ import annotations

from dataclasses import dataclass, field

from sdei.abi import (
    EVENT_SIGNALED,
    MPIDR_AFFINITY_MASK,
    SGI_LAST,
    Version,
    encode_affinity,
    is_ppi,
    is_spi,
    is_valid_event_number,
    is_vendor_event,
)
from sdei.firmware.profile import PROFILE_NAMES, rules_for


class PlatformError(ValueError):
    """An invalid platform description; the message names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True, slots=True)
class EventDesc:
    """One event the platform defines.

    `interrupt` is the static interrupt behind a platform event (an SGI for event 0, a PPI for a
    private event, an SPI for a shared one), or None for an event firmware raises itself. A
    `dynamic` event is a bind slot: it has no interrupt until INTERRUPT_BIND gives it one.
    """

    number: int
    shared: bool = False
    critical: bool = False
    signalable: bool = False
    interrupt: int | None = None
    dynamic: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class MemoryRange:
    base: int
    size: int

    def __contains__(self, address: int) -> bool:
        return self.base <= address < self.base + self.size


@dataclass(frozen=True, slots=True)
class Platform:
    mpidrs: tuple[int, ...]
    events: tuple[EventDesc, ...]
    nonsecure_memory: tuple[MemoryRange, ...]
    client_el: int = 1
    version: Version = field(default_factory=lambda: Version(1, 1))
    profile: str = "spec"
    relative_mode: bool = False
    feat_pan: bool = True
    spi_count: int = 256  # SPIs 32 .. 32+spi_count-1 exist
    secure_interrupts: frozenset[int] = frozenset()  # owned by firmware, not bound to events

    def __post_init__(self) -> None:
        validate(self)

    @property
    def pes(self) -> int:
        return len(self.mpidrs)

    def pe_of(self, mpidr: int) -> int | None:
        """The PE index with this MPIDR affinity, or None."""
        try:
            return self.mpidrs.index(mpidr)
        except ValueError:
            return None

    def interrupt_exists(self, intid: int) -> bool:
        return 0 <= intid < 32 + self.spi_count

    def is_nonsecure_address(self, address: int) -> bool:
        return any(address in r for r in self.nonsecure_memory)

    @property
    def private_slots(self) -> int:
        return sum(1 for e in self.events if e.dynamic and not e.shared)

    @property
    def shared_slots(self) -> int:
        return sum(1 for e in self.events if e.dynamic and e.shared)

    @classmethod
    def reference(cls, pes: int = 4, *, profile: str = "spec", client_el: int = 1) -> Platform:
        """Modelled on Arm's reference platform (TF-A plat/arm arm_sdei.c, arm_def.h).

        Event 0 on SGI 8; three private and three shared bind slots (FEATURES 0x00030003); a
        static private critical event raised by firmware (a watchdog-like event); a static
        shared normal event on a secure SPI (a firmware-first RAS event); and a static shared
        critical event on another secure SPI. Bind-slot numbers follow the profile: vendor
        space for `spec` (DEN0054C 4.4), TF-A's 1000+/2000+ for `tfa`.
        """
        if pes < 1 or pes > 256 * 256:
            raise PlatformError("pes", f"{pes} is not a usable PE count")
        mpidrs = tuple(
            encode_affinity(aff2=i // 65536, aff1=(i // 256) % 256, aff0=i % 256)
            for i in range(pes)
        )
        tfa = profile == "tfa"
        private_base, shared_base = (1000, 2000) if tfa else (0x4000_0100, 0x4000_0200)
        events = (
            EventDesc(EVENT_SIGNALED, signalable=True, interrupt=8, name="software signalled"),
            *(EventDesc(private_base + i, dynamic=True, name="private bind slot")
              for i in range(3)),
            *(EventDesc(shared_base + i, shared=True, dynamic=True, name="shared bind slot")
              for i in range(3)),
            EventDesc(0x4000_0001, critical=True, name="firmware watchdog"),
            EventDesc(0x4000_0010, shared=True, interrupt=200, name="firmware-first RAS"),
            EventDesc(0x4000_0011, shared=True, critical=True, interrupt=201,
                      name="platform critical error"),
        )  # fmt: skip
        return cls(
            mpidrs=mpidrs,
            events=events,
            nonsecure_memory=(MemoryRange(0x8000_0000, 0x8000_0000),),
            client_el=client_el,
            version=Version(1, 0) if tfa else Version(1, 1),
            profile=profile,
            secure_interrupts=frozenset({29}),  # the secure physical timer PPI
        )


def validate(p: Platform) -> None:
    """Refuse an invalid description with a message naming the field."""
    if p.profile not in PROFILE_NAMES:
        raise PlatformError("profile", f"{p.profile!r} is not one of {', '.join(PROFILE_NAMES)}")
    rules = rules_for(p.profile)
    if not p.mpidrs:
        raise PlatformError("mpidrs", "a platform needs at least one PE")
    if len(set(p.mpidrs)) != len(p.mpidrs):
        raise PlatformError("mpidrs", "duplicate MPIDR")
    for mpidr in p.mpidrs:
        if mpidr < 0 or mpidr & ~MPIDR_AFFINITY_MASK:
            raise PlatformError("mpidrs", f"{mpidr:#x} has bits outside the affinity fields")
    if p.client_el not in (1, 2):
        raise PlatformError("client_el", f"{p.client_el} is not EL1 or EL2")
    if p.version.major != 1 or p.version.minor not in (0, 1):
        raise PlatformError("version", f"SDEI {p.version.major}.{p.version.minor} is not 1.0/1.1")
    if p.profile == "tfa" and p.version.minor != 0:
        raise PlatformError("version", "TF-A implements SDEI v1.0")
    if p.relative_mode and (p.version.minor < 1 or not rules.relative_mode_flag):
        raise PlatformError("relative_mode", "relative mode needs SDEI v1.1 and the spec profile")
    if not 0 <= p.spi_count <= 988:
        raise PlatformError("spi_count", f"{p.spi_count} SPIs do not fit GICv3 ids 32-1019")
    if not p.nonsecure_memory:
        raise PlatformError("nonsecure_memory", "no memory is valid for entry points")
    for r in p.nonsecure_memory:
        if r.base < 0 or r.size <= 0:
            raise PlatformError("nonsecure_memory", f"bad range {r.base:#x}+{r.size:#x}")
    numbers = [e.number for e in p.events]
    if EVENT_SIGNALED not in numbers:
        raise PlatformError("events", "event 0 is mandatory (DEN0054C 4.4)")
    seen: set[int] = set()
    interrupts: set[int] = set()
    for e in p.events:
        where = f"events[{e.number:#x}]"
        if e.number in seen:
            raise PlatformError(where, "duplicate event number")
        seen.add(e.number)
        if not is_valid_event_number(e.number):
            raise PlatformError(where, "bit31 or reserved bits[29:24] set (DEN0054C 4.4)")
        if e.number == EVENT_SIGNALED:
            if e.shared or e.critical or not e.signalable or e.dynamic:
                raise PlatformError(where, "event 0 must be private, normal and signalable")
            if e.interrupt is None or not 0 <= e.interrupt <= SGI_LAST:
                raise PlatformError(where, "event 0 needs a secure SGI")
        elif e.signalable:
            raise PlatformError(where, "only event 0 may be signalled (DEN0054C 5.1.16)")
        if e.dynamic:
            if e.critical:
                raise PlatformError(where, "a bound event is always normal (DEN0054C 4.3.2.1)")
            if e.interrupt is not None:
                raise PlatformError(where, "a bind slot has no static interrupt")
            if rules.bound_events_in_vendor_space and not is_vendor_event(e.number):
                raise PlatformError(where, "bound events belong in the vendor space 0x40000000+")
        elif e.interrupt is not None and e.number != EVENT_SIGNALED:
            if e.shared and not is_spi(e.interrupt):
                raise PlatformError(where, f"a shared event needs an SPI, not {e.interrupt}")
            if not e.shared and not is_ppi(e.interrupt):
                raise PlatformError(where, f"a private event needs a PPI, not {e.interrupt}")
            if not p.interrupt_exists(e.interrupt):
                raise PlatformError(where, f"interrupt {e.interrupt} does not exist")
        elif e.number != EVENT_SIGNALED and e.shared and not rules.shared_explicit_allowed:
            raise PlatformError(where, "TF-A allows no shared event without an interrupt")
        if e.interrupt is not None:
            if e.interrupt in interrupts:
                raise PlatformError(where, f"interrupt {e.interrupt} is used twice")
            interrupts.add(e.interrupt)
    if interrupts & p.secure_interrupts:
        raise PlatformError("secure_interrupts", "an event's interrupt is listed again")

"""Built-in invariants: the dispatcher's promises, checked from outside it.

`FirmwarePromises` keeps its own shadow of what the client was told (mask state, registration,
enable, running handlers) from the results of the calls it sees, and checks every delivery
against it: no delivery to a masked PE, to a disabled or unregistered event, or against the
priority rules; EVENT_CONTEXT returns the interrupted x0-x17 (DEN0054C 5.1.5, 5.2, 4.3.2).
Stale or unmapped entry points and handlers that fall off their end are caught by the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sdei.abi import Function, to_signed64
from sdei.machine.observer import Observer

if TYPE_CHECKING:
    from sdei.firmware import Entry, Exit
    from sdei.machine.contexts import Context
    from sdei.machine.machine import Machine

_REG, _ENA = 1, 2
# The calls whose results say what firmware promised, as plain ints: every call is tested
# against them, and compiled code compares ints fastest (sdei.accel).
_FOLLOWED: Final = frozenset(
    int(f)
    for f in (
        Function.PE_MASK,
        Function.PE_UNMASK,
        Function.EVENT_REGISTER,
        Function.EVENT_ROUTING_SET,
        Function.EVENT_ENABLE,
        Function.EVENT_DISABLE,
        Function.EVENT_UNREGISTER,
        Function.PRIVATE_RESET,
        Function.SHARED_RESET,
        Function.EVENT_CONTEXT,
    )
)


class FirmwarePromises(Observer):
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        platform = machine.platform
        self._private = {e.number for e in platform.events if not e.shared}
        self._shared = {e.number for e in platform.events if e.shared}
        self._masked = [True] * platform.pes
        self._flags: dict[tuple[int, int], int] = {}
        self._running: list[list[tuple[int, bool, tuple[int, ...]]]] = [
            [] for _ in range(platform.pes)
        ]
        self._routing: dict[int, int | None] = {}  # shared event -> RM_PE affinity, or None
        self._shared_running: dict[int, int] = {}  # shared event -> the PE running it
        machine.observe(self)

    def _key(self, event: int, pe: int) -> tuple[int, int]:
        return (event, pe if event in self._private else -1)

    def _fail(self, pe: int, message: str) -> None:
        self.machine.violate("firmware-promise", message, pe)

    def firmware_call(
        self, step: int, pe: int, conduit: str, function: int, args: tuple[int, ...], result: int
    ) -> None:
        if function not in _FOLLOWED or self.machine.last_injected:
            return  # nothing it follows, or an injected fault (firmware never saw the call)
        a = (*args, 0, 0, 0, 0, 0)
        event = a[0] & 0xFFFF_FFFF
        key = self._key(event, pe)
        if function == Function.PE_MASK and result >= 0:
            self._masked[pe] = True
        elif function == Function.PE_UNMASK and result == 0:
            self._masked[pe] = False
        elif function == Function.EVENT_REGISTER and result == 0:
            self._flags[key] = _REG
            if event in self._shared:
                self._routing[event] = a[4] if a[3] & 1 else None
        elif function == Function.EVENT_ROUTING_SET and result == 0:
            self._routing[event] = a[2] if a[1] & 1 else None
        elif function == Function.EVENT_ENABLE and result == 0:
            self._flags[key] = self._flags.get(key, 0) | _ENA
        elif function == Function.EVENT_DISABLE and result == 0:
            self._flags[key] = self._flags.get(key, 0) & ~_ENA
        elif function == Function.EVENT_UNREGISTER and result in (0, -5):
            self._flags.pop(key, None)
        elif function == Function.PRIVATE_RESET and result in (0, -3):
            for number in self._private:
                self._flags.pop((number, pe), None)
        elif function == Function.SHARED_RESET and result in (0, -3):
            for number in self._shared:
                self._flags.pop((number, -1), None)
        elif function == Function.EVENT_CONTEXT and self._running[pe]:
            param = a[0] & 0xFFFF_FFFF
            if param < 18:
                expected = to_signed64(self._running[pe][-1][2][param])
                if result != expected:
                    self._fail(
                        pe,
                        f"EVENT_CONTEXT({param}) returned {result:#x}, the "
                        f"interrupted x{param} was {expected:#x}",
                    )

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        event = entry.event
        if self._masked[pe]:
            self._fail(pe, f"event {event:#x} delivered to a masked PE")
        flags = self._flags.get(self._key(event, pe), 0)
        if flags != _REG | _ENA:
            state = "enabled" if flags & _ENA else ("registered" if flags else "unregistered")
            self._fail(pe, f"event {event:#x} delivered while {state}, not enabled")
        if event in self._shared:
            target = self._routing.get(event)
            mpidr = self.machine.pes[pe].mpidr
            if target is not None and target != mpidr:
                self._fail(
                    pe,
                    f"RM_PE event {event:#x} routed to {target:#x} delivered to MPIDR {mpidr:#x}",
                )
            other = self._shared_running.get(event)
            if other is not None:
                self._fail(pe, f"shared event {event:#x} delivered while it runs on PE{other}")
            self._shared_running[event] = pe
        running = self._running[pe]
        if entry.critical and any(critical for _, critical, _ in running):
            self._fail(pe, f"critical event {event:#x} nested in a critical handler")
        if not entry.critical and running:
            self._fail(pe, f"normal event {event:#x} delivered inside a running handler")
        saved = context.saved
        running.append((event, entry.critical, tuple(saved.x) if saved is not None else ()))

    def complete(self, step: int, pe: int, exit: Exit) -> None:
        running = self._running[pe]
        if running and running[-1][0] == exit.event:
            running.pop()
        if self._shared_running.get(exit.event) == pe:
            del self._shared_running[exit.event]

    def power(self, step: int, pe: int, old: str, new: str) -> None:
        if new == "on" and old in ("off", "power-down"):
            self._masked[pe] = True  # DEN0054C 6.5.1, 6.5.2.2
        if new == "on" and old == "off":
            for number in self._private:
                self._flags.pop((number, pe), None)
            self._running[pe].clear()
        if new == "off":
            self._running[pe].clear()

    def note(self, step: int, pe: int, text: str, data: dict[str, Any]) -> None:
        if text == "system-reset":  # a cold boot: firmware back to its boot state
            self._flags.clear()
            self._routing.clear()
            self._shared_running.clear()
            self._masked = [True] * len(self._masked)
            for running in self._running:
                running.clear()


def install_builtin(machine: Machine) -> FirmwarePromises:
    """Attach the built-in invariants to a machine."""
    return FirmwarePromises(machine)

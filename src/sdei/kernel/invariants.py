"""Client-level invariants (linux-client.md §8 "Oracles", §12), checked at quiescence.

- live-driver-memory: every firmware registration's argument points at live driver memory.
- flags-agree: the driver's reregister/reenable flags agree with firmware on every online CPU.
- online-unmasked: every online CPU is unmasked.
- crash-kernel-interrupts: a crash kernel gets its interrupts.
- unexpected-api-error: no API call on a valid, idle event returned an error its caller does
  not expect: -EPERM (firmware DENIED) without an injected fault, or -EBUSY from registering a
  number the caller had unregistered.
- zombie-event: no event stays in sdei_list with its flags cleared - unregister failed after
  clearing them, and every later unregister is DENIED and every register -EBUSY.
- stale-callback-arg: no event that is still registered has a callback argument (a struct
  ghes) that its owner has freed.
- masked-cpu-event: no event was delivered to a CPU the driver had masked for suspend,
  freeze, reboot or a broken interface (CPU_PM_EXIT unmasks whoever masked: L6).
- ghes-record-handled: every error record firmware wrote into a GHES block was read by the
  OS, the block cleared and (GHESv2) acknowledged, and the copy processed (docs/ras.md).
Stale entry points, per-CPU data, deadlocks and kernel assertions are caught where they
happen (engine, entry path, primitives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.abi import Function
from sdei.kernel import ghes
from sdei.kernel.core import EBUSY, EPERM, HeapRef
from sdei.machine import Invariant, Machine, Observer

if TYPE_CHECKING:
    from sdei.firmware import Entry
    from sdei.kernel.system import Linux
    from sdei.machine import Context

_REGISTERED, _ENABLED = 1, 2


def current(root: Linux) -> Linux:
    """The kernel running now (each kernel marks itself when it starts or is restored)."""
    running = root.machine.shared.get("current")
    return running if running is not None else root


def _all(root: Linux) -> list[Linux]:
    kernels: list[Linux] = root.machine.shared.get("kernels", [root])
    return kernels


def _status(machine: Machine, pe: int, event: int) -> int:
    return machine.firmware.call(pe, Function.EVENT_STATUS, event)


def check_live_memory(machine: Machine, root: Linux) -> str | None:
    firmware = machine.firmware
    kernels = _all(root)
    for event in firmware.event_numbers():
        shared = event in {e.number for e in machine.platform.events if e.shared}
        for pe in range(1) if shared else range(machine.platform.pes):
            status = _status(machine, pe, event)
            if status < 0 or not status & _REGISTERED:
                continue
            _, argument, _, _ = firmware.registration(event, pe)
            where = "" if shared else f" on CPU{pe}"
            for linux in kernels:
                heap = linux.k.heap
                if not heap.owns(argument):
                    continue
                block = heap.blocks[argument]
                if not linux.k.live:
                    return (
                        f"firmware has event {event:#x} registered{where} with argument "
                        f"{argument:#x}: {block.what} of {linux.k.image_name}, whose "
                        f"memory is gone"
                    )
                if not block.live:
                    return (
                        f"firmware has event {event:#x} registered{where} with argument "
                        f"{argument:#x}: {block.what}, freed by {linux.k.image_name}"
                    )
    return None


def steady(linux: Linux) -> bool:
    k = linux.k
    return (
        linux.booted
        and k.live
        and not k.stopped
        and not k.shutting_down
        and linux.driver.probed
        and linux.driver.conduit is not None
    )


def check_flags_agree(machine: Machine, root: Linux) -> str | None:
    linux = current(root)
    if not steady(linux):
        return None
    for event in linux.driver.events.values():
        cpus = [0] if event.shared else sorted(linux.k.online)
        for cpu in cpus:
            status = _status(machine, cpu, event.number)
            registered = bool(status & _REGISTERED)
            enabled = bool(status & _ENABLED)
            where = "" if event.shared else f" on CPU{cpu}"
            if registered != event.reregister:
                return (
                    f"event {event.number:#x}{where}: driver says "
                    f"{'registered' if event.reregister else 'not registered'}, firmware "
                    f"{'registered' if registered else 'not registered'}"
                )
            if event.reregister and enabled != event.reenable:
                return (
                    f"event {event.number:#x}{where}: driver says "
                    f"{'enabled' if event.reenable else 'disabled'}, firmware "
                    f"{'enabled' if enabled else 'disabled'}"
                )
    return None


def check_online_unmasked(machine: Machine, root: Linux) -> str | None:
    linux = current(root)
    if not steady(linux):
        return None
    masked = [cpu for cpu in sorted(linux.k.online) if machine.firmware.is_masked(cpu)]
    if masked:
        return f"online CPU{'s' if len(masked) > 1 else ''} {masked} still masked"
    return None


def check_crash_kernel(machine: Machine, root: Linux) -> str | None:
    linux = current(root)
    seen = linux.notes.get("crash_irq")
    if seen is not None and not seen["irq"]:
        running = [
            cpu for cpu in range(machine.platform.pes) if machine.firmware.handler_running(cpu)
        ]
        why = f": firmware still has a handler running on CPU{running}" if running else ""
        return f"the crash kernel never received its device interrupt{why}"
    return None


REMOVERS = frozenset(
    {"sdei_event_unregister", "sdei_unregister_ghes", "ghes_remove", "agdi_remove"}
)
REGISTERERS = frozenset({"sdei_event_register", "sdei_register_ghes", "ghes_probe", "agdi_probe"})
DRIVER_API = REMOVERS | REGISTERERS | {"sdei_event_enable", "sdei_event_disable"}


def check_api_errors(machine: Machine, root: Linux) -> str | None:
    for linux in _all(root):
        unregistered: dict[int, str] = {}  # number -> the call that removed it
        for call in linux.k.api_calls:
            if call.name not in DRIVER_API or not call.args:
                continue
            number = call.args[0]
            if call.result == EPERM and not call.injected:
                return (
                    f"{call} on CPU{call.cpu}: firmware DENIED a call on a valid, idle event "
                    "(no fault was injected)"
                )
            if call.name in REMOVERS:
                unregistered[number] = str(call)
            elif call.name in REGISTERERS:
                if call.result == EBUSY and number in unregistered:
                    return (
                        f"{call} on CPU{call.cpu}: the number is still taken after "
                        f"{unregistered[number]}"
                    )
                if call.result == 0:
                    unregistered.pop(number, None)
    return None


def check_zombies(machine: Machine, root: Linux) -> str | None:
    linux = current(root)
    if not steady(linux):
        return None
    for event in linux.driver.newest_first():
        if not event.reregister and not event.reenable:
            cpus = "everywhere" if event.shared else f"on CPUs {sorted(linux.k.online)}"
            state = [
                _status(machine, cpu, event.number) & _REGISTERED
                for cpu in ([0] if event.shared else sorted(linux.k.online))
            ]
            firmware = "unregistered" if not any(state) else "still registered on some CPU"
            return (
                f"event {event.number:#x} stays in sdei_list with both flags cleared "
                f"(firmware: {firmware} {cpus}): no unregister can remove it, and "
                "registering it again gives -EBUSY"
            )
    return None


def check_callback_args(machine: Machine, root: Linux) -> str | None:
    linux = current(root)
    if not linux.k.live:
        return None
    heap = linux.k.heap
    for event in linux.driver.events.values():
        for cpu, address in event.records.items():
            block = heap.blocks.get(address)
            arg = block.obj.arg if block is not None and block.live else None
            if not isinstance(arg, HeapRef) or heap.is_live(arg.address):
                continue
            where = [c for c in ([0] if event.shared else [cpu]) if c >= 0]
            if any(_status(machine, c, event.number) & _REGISTERED for c in where):
                freed = heap.blocks[arg.address].what
                return (
                    f"event {event.number:#x} is registered with callback argument {freed} "
                    f"at {arg.address:#x}, which has been freed: any delivery of it passes "
                    "freed memory to the callback"
                )
    return None


class MaskedDeliveries(Observer):
    """Records an event delivered to a CPU that the driver of the running kernel had masked
    for suspend, freeze, reboot or a broken interface."""

    def __init__(self, machine: Machine, root: Linux) -> None:
        self.root = root
        self.seen: list[str] = []
        machine.observe(self)

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        linux = current(self.root)
        reason = linux.driver.masked_for.get(pe)
        if reason and linux.k.live and not linux.k.stopped and not self.seen:
            self.seen.append(
                f"CPU{pe}, which the driver masked for {reason}, took event {entry.event:#x} "
                f"at step {step}: something unmasked it behind the driver's back"
            )

    def check(self, machine: Machine) -> str | None:
        return self.seen[0] if self.seen else None


def install(machine: Machine, root: Linux) -> None:
    """Attach the client invariants (checked at quiescence)."""
    checks = (
        ("live-driver-memory", check_live_memory),
        ("stale-callback-arg", check_callback_args),
        ("unexpected-api-error", check_api_errors),
        ("zombie-event", check_zombies),
        ("flags-agree", check_flags_agree),
        ("online-unmasked", check_online_unmasked),
        ("crash-kernel-interrupts", check_crash_kernel),
        ("ghes-record-handled", lambda m, r: ghes.unhandled(current(r))),
    )
    for name, check in checks:
        machine.add_invariant(
            Invariant(
                name,
                lambda m, c=check: c(m, root),  # type: ignore[misc]
                at_quiescence_only=True,
            )
        )
    deliveries = MaskedDeliveries(machine, root)
    machine.add_invariant(Invariant("masked-cpu-event", deliveries.check, at_quiescence_only=True))

"""Client-level invariants (issue 4; linux-client.md §8 "Oracles").

- live-driver-memory: every firmware registration's argument points at live driver memory.
- flags-agree: after quiescence, the driver's reregister/reenable flags agree with firmware on
  every online CPU.
- online-unmasked: after quiescence every online CPU is unmasked.
- crash-kernel-interrupts: a crash kernel gets its interrupts.
Stale entry points, per-CPU data, deadlocks and kernel assertions are caught where they
happen (engine, entry path, primitives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdei.abi import Function
from sdei.machine import Invariant, Machine

if TYPE_CHECKING:
    from sdei.kernel.system import Linux

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


def install(machine: Machine, root: Linux) -> None:
    """Attach the client invariants (checked at quiescence)."""
    checks = (
        ("live-driver-memory", check_live_memory),
        ("flags-agree", check_flags_agree),
        ("online-unmasked", check_online_unmasked),
        ("crash-kernel-interrupts", check_crash_kernel),
    )
    for name, check in checks:
        machine.add_invariant(
            Invariant(
                name,
                lambda m, c=check: c(m, root),  # type: ignore[misc]
                at_quiescence_only=True,
            )
        )

"""The SDEI driver (drivers/firmware/arm_sdei.c) as behaviour, era by era (linux-client.md §2-4).

One driver; `Era` switches select each release's behaviour, bugs included. Every method is
generator code run by a thread or handler on the simulated machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdei.abi import Function, Info
from sdei.kernel.core import (
    EBUSY,
    EINPROGRESS,
    EINVAL,
    EIO,
    ENOENT,
    ENOMEM,
    EOPNOTSUPP,
    EPERM,
    Gen,
    Kernel,
    linux_api,
)
from sdei.kernel.hotplug import CPUHP_AP_ARM_SDEI_STARTING, DYN, Hotplug
from sdei.machine import Access, Hvc, Note, Smc, WaitUntil
from sdei.machine.ops import NOT_MADE

if TYPE_CHECKING:
    from sdei.machine import PE

# SDEI status -> errno (linux-client.md §2.3)
_ERRNO = {-1: EOPNOTSUPP, -2: EINVAL, -3: EPERM, -5: EINPROGRESS, -10: ENOMEM}
CONDUIT = "sdei_firmware_call"  # the driver's conduit: cleared when the interface breaks

Callback = Callable[["PE", int, tuple[int, ...], Any], Gen]  # (pe, event, regs, arg) -> err


@dataclass
class Record:
    """struct sdei_registered_event: what firmware's ep_argument points at."""

    event: int
    priority: int
    callback: Callback
    arg: Any


@dataclass
class Event:
    """struct sdei_event: one entry of sdei_list."""

    number: int
    shared: bool
    priority: int
    records: dict[int, int] = field(default_factory=dict)  # cpu (or -1 shared) -> address
    reregister: bool = False
    reenable: bool = False

    def record(self, cpu: int) -> int:
        return self.records[-1 if self.shared else cpu]


class Driver:
    def __init__(self, kernel: Kernel, hotplug: Hotplug) -> None:
        self.k = kernel
        self.era = kernel.era
        self.hotplug = hotplug
        self.conduit: str | None = None  # sdei_firmware_call: None = not probed or broken
        self.method = "smc"  # the instruction the conduit uses, once probed
        self.entry_point = 0
        self.hp_state = 0
        self.events: dict[int, Event] = {}
        self.frozen = False  # v4 RFC only (R1)
        self.version = 0
        self.probed = False
        # Why the driver masked a CPU it means to keep masked (suspend, freeze, reboot,
        # broken) - what the masked-cpu-event oracle holds deliveries against (L6).
        self.masked_for: dict[int, str] = {}

    def newest_first(self) -> list[Event]:
        """sdei_list order: list_add() puts an event at the head, so every walker visits the
        newest first (§11)."""
        return list(reversed(self.events.values()))

    # ------------------------------------------------------------ the firmware-call wrapper

    def call(self, pe: PE, function: int, *args: int) -> Gen:
        """invoke_sdei_fn: returns (errno, x0). No conduit: not made, -EIO (§2.3). The
        conduit is shared state: `mark_broken` clears it while other CPUs make calls, so it is
        read in the call's own step (`unless`), which names it."""
        call = Hvc if self.method == "hvc" else Smc
        x0 = yield call(function, *args, reads=(CONDUIT,), unless=self._no_conduit)
        if x0 is NOT_MADE:
            return EIO, -1
        if x0 in _ERRNO:
            return _ERRNO[x0], x0
        return 0, x0

    def _no_conduit(self) -> bool:
        return self.conduit is None

    def _locked_flags(self, pe: PE, event: Event, **flags: bool) -> Gen:
        yield from self.k.spin_lock(pe, self.k.list_lock)
        for name, value in flags.items():
            setattr(event, name, value)
        yield from self.k.spin_unlock(pe, self.k.list_lock)

    # ------------------------------------------------------------ per-CPU firmware operations

    def _register_local(self, event: Event) -> Callable[[PE], Gen]:
        def run(pe: PE) -> Gen:
            err, _ = yield from self.call(
                pe,
                Function.EVENT_REGISTER,
                event.number,
                self.entry_point,
                event.record(pe.index),
                0,
                0,
            )
            return err

        return run

    def _simple_local(self, function: Function, event: Event) -> Callable[[PE], Gen]:
        def run(pe: PE) -> Gen:
            err, _ = yield from self.call(pe, function, event.number)
            return err

        return run

    def mask_local(self, pe: PE) -> Gen:
        """sdei_mask_local_cpu; the preemptibility warning sits here until v6.4 (B11)."""
        if self.era.hotplug_starting:
            self.k.warn_if_preemptible(pe, "sdei_mask_local_cpu")
        err, _ = yield from self.call(pe, Function.PE_MASK)
        return 0 if err == EIO else err

    def unmask_local(self, pe: PE) -> Gen:
        if self.era.hotplug_starting:
            self.k.warn_if_preemptible(pe, "sdei_unmask_local_cpu")
        err, _ = yield from self.call(pe, Function.PE_UNMASK)
        return 0 if err == EIO else err

    def _ipi_mask_for(self, reason: str) -> Callable[[PE], Gen]:
        def _ipi_mask(pe: PE) -> Gen:
            if not self.era.hotplug_starting:
                self.k.warn_if_preemptible(pe, "_ipi_mask_cpu")
            err = yield from self.mask_local(pe)
            self.masked_for[pe.index] = reason
            return err

        return _ipi_mask

    def _ipi_unmask(self, pe: PE) -> Gen:
        if not self.era.hotplug_starting:
            self.k.warn_if_preemptible(pe, "_ipi_unmask_cpu")
        err = yield from self.unmask_local(pe)
        self.masked_for.pop(pe.index, None)  # in the UNMASK's step, like the mask's
        return err

    # ------------------------------------------------------------ event objects

    def _create(self, pe: PE, number: int, callback: Callback, arg: Any) -> Gen:
        err, priority = yield from self.call(pe, Function.EVENT_GET_INFO, number, Info.EV_PRIORITY)
        if err:
            return err
        err, kind = yield from self.call(pe, Function.EVENT_GET_INFO, number, Info.EV_TYPE)
        if err:
            return err
        event = Event(number, shared=kind == 1, priority=priority)
        heap = self.k.heap
        cpus = [-1] if event.shared else range(self.k.machine.platform.pes)
        for cpu in cpus:
            what = f"sdei event {number:#x} record" + ("" if cpu < 0 else f" (CPU{cpu})")
            event.records[cpu] = heap.alloc(Record(number, priority, callback, arg), what)
        yield from self.k.spin_lock(pe, self.k.list_lock)
        self.events[number] = event
        yield from self.k.spin_unlock(pe, self.k.list_lock)
        return event

    def _destroy(self, pe: PE, event: Event, *, list_lock_held: bool = False) -> Gen:
        """sdei_event_destroy[_llocked] (B6: E1's thaw error path used the locking one)."""
        if not list_lock_held:
            yield from self.k.spin_lock(pe, self.k.list_lock)
        # list_del + kfree: what a handler of it reads first
        yield Access(f"sdei_event:{event.number}", label=f"free sdei_event {event.number:#x}")
        self.events.pop(event.number, None)
        for address in event.records.values():  # kfree / free_percpu, after the unlock in C
            self.k.heap.free(address)
        if not list_lock_held:
            yield from self.k.spin_unlock(pe, self.k.list_lock)

    # Shared/private helpers used by the API and by hibernate. In E1 they set or clear the
    # flags under the list lock themselves (B5).

    def _register_event(self, pe: PE, event: Event) -> Gen:
        """_sdei_event_register. In E1 it sets `reregister` itself and, when the private
        cross-call fails, clears both flags before the clean-up cross-call (§11)."""
        if self.era.helpers_take_list_lock:
            yield from self._locked_flags(pe, event, reregister=True)
        if event.shared:
            err, _ = yield from self.call(
                pe, Function.EVENT_REGISTER, event.number, self.entry_point, event.record(-1), 0, 0
            )
            return err
        err = yield from self.k.cross_call(pe, self._register_local(event), "register")
        if err:
            if self.era.helpers_take_list_lock:
                yield from self._locked_flags(pe, event, reregister=False, reenable=False)
            yield from self.k.cross_call(
                pe, self._simple_local(Function.EVENT_UNREGISTER, event), "unregister"
            )
        return err

    def _unregister_event(self, pe: PE, event: Event) -> Gen:
        if self.era.helpers_take_list_lock:
            yield from self._locked_flags(pe, event, reregister=False, reenable=False)
        return (yield from self._everywhere(pe, event, Function.EVENT_UNREGISTER, "unregister"))

    # ------------------------------------------------------------ the public API (§2.5-2.9)

    @linux_api("sdei_event_register")
    def register(self, pe: PE, number: int, callback: Callback, arg: Any = None) -> Gen:
        k = self.k
        yield from k.mutex_lock(pe, k.events_mutex)
        if number in self.events:
            yield from k.mutex_unlock(pe, k.events_mutex)
            return EBUSY
        created = yield from self._create(pe, number, callback, arg)
        if isinstance(created, int):
            k.printk(pe.index, f"Failed to create event {number}: {created}")
            yield from k.mutex_unlock(pe, k.events_mutex)
            return created
        event: Event = created
        hotplug_locked = not self.era.flags_before_call
        if hotplug_locked:
            yield from k.cpus_read_lock(pe)
        if self.era.flags_before_call and not self.era.helpers_take_list_lock:
            yield from self._locked_flags(pe, event, reregister=True)
        err = yield from self._register_event(pe, event)
        if err:
            if self.era.flags_before_call and not self.era.helpers_take_list_lock:
                yield from self._locked_flags(pe, event, reregister=False, reenable=False)
            yield from self._destroy(pe, event)
            k.printk(pe.index, f"Failed to register event {number}: {err}")
        elif not self.era.flags_before_call:
            yield from self._locked_flags(pe, event, reregister=True)
        if hotplug_locked:
            yield from k.cpus_read_unlock(pe)
        yield from k.mutex_unlock(pe, k.events_mutex)
        return err

    def _with_event(
        self, pe: PE, number: int, body: Callable[[Event], Gen], *, warn: bool = False
    ) -> Gen:
        """The API's frame: the events mutex, the lookup (-ENOENT; only unregister warns,
        §2.8), then `body(event)`."""
        k = self.k
        yield from k.mutex_lock(pe, k.events_mutex)
        event = self.events.get(number)
        if event is None:
            if warn:
                k.printk(pe.index, f"Event {number} not registered")
            err = ENOENT
        else:
            err = yield from body(event)
        yield from k.mutex_unlock(pe, k.events_mutex)
        return err

    def _everywhere(self, pe: PE, event: Event, function: Function, label: str) -> Gen:
        """A shared event: one call from this CPU; a private one: a cross-call (§2.6-2.8)."""
        if event.shared:
            err, _ = yield from self.call(pe, function, event.number)
            return err
        return (yield from self.k.cross_call(pe, self._simple_local(function, event), label))

    @linux_api("sdei_event_enable")
    def enable(self, pe: PE, number: int) -> Gen:
        def body(event: Event) -> Gen:
            k = self.k
            hotplug_locked = not self.era.flags_before_call
            if hotplug_locked:
                yield from k.cpus_read_lock(pe)
            if self.era.flags_before_call:
                yield from self._locked_flags(pe, event, reenable=True)
            err = yield from self._everywhere(pe, event, Function.EVENT_ENABLE, "enable")
            if not err and not self.era.flags_before_call:
                yield from self._locked_flags(pe, event, reenable=True)
            if err and not event.shared and self.era.enable_disable_roll_back:
                # Proposed (L5): undo a partial enable, so that no CPU is left enabled.
                yield from self._everywhere(pe, event, Function.EVENT_DISABLE, "undo enable")
            if hotplug_locked:
                yield from k.cpus_read_unlock(pe)
            return err

        return (yield from self._with_event(pe, number, body))

    @linux_api("sdei_event_disable")
    def disable(self, pe: PE, number: int) -> Gen:
        def body(event: Event) -> Gen:
            locked = self.era.unregister_disable_cpus_lock
            if locked:  # proposed (L1): like enable, keep CPUs from coming and going
                yield from self.k.cpus_read_lock(pe)
            yield from self._locked_flags(pe, event, reenable=False)
            err = yield from self._everywhere(pe, event, Function.EVENT_DISABLE, "disable")
            if err and not event.shared and self.era.enable_disable_roll_back:
                # Proposed (L5): undo a partial disable - enabled everywhere, as before.
                yield from self._everywhere(pe, event, Function.EVENT_ENABLE, "undo disable")
                yield from self._locked_flags(pe, event, reenable=True)
            if locked:
                yield from self.k.cpus_read_unlock(pe)
            return err

        return (yield from self._with_event(pe, number, body))

    @linux_api("sdei_event_unregister")
    def unregister(self, pe: PE, number: int) -> Gen:
        def body(event: Event) -> Gen:
            locked = self.era.unregister_disable_cpus_lock
            if locked:  # proposed (L1): like register, keep CPUs from coming and going
                yield from self.k.cpus_read_lock(pe)
            if not self.era.helpers_take_list_lock:
                yield from self._locked_flags(pe, event, reregister=False, reenable=False)
            err = yield from self._unregister_event(pe, event)
            if err == EINPROGRESS and event.shared and self.era.unregister_waits_for_pending:
                # Proposed (L4): firmware finishes the unregistration when the handler
                # completes (DEN0054C 5.1.8); wait for that instead of failing the retry.
                err = yield from self._wait_unregistered(pe, event)
            if not err:
                yield from self._destroy(pe, event)
            if locked:
                yield from self.k.cpus_read_unlock(pe)
            return err

        return (yield from self._with_event(pe, number, body, warn=True))

    def _wait_unregistered(self, pe: PE, event: Event) -> Gen:
        """Poll EVENT_STATUS, sleeping between polls, until the handler that kept a shared
        event unregister-pending has completed (the wait stands for its iterations)."""
        firmware = self.k.machine.firmware
        yield WaitUntil(
            lambda: firmware.call(pe.index, Function.EVENT_STATUS, event.number) == 0,
            ("sdei:shared",),
            f"event {event.number:#x} unregistered",
            stable=True,
        )
        err, _ = yield from self.call(pe, Function.EVENT_STATUS, event.number)
        return err

    # ------------------------------------------------------------ GHES helpers (§2.10)

    @linux_api("sdei_register_ghes", needs="ghes_helpers")
    def register_ghes(
        self, pe: PE, number: int, normal: Callback, critical: Callback, arg: Any = None
    ) -> Gen:
        if number == 0:
            return EINVAL
        err, priority = yield from self.call(pe, Function.EVENT_GET_INFO, number, Info.EV_PRIORITY)
        if err:
            return err
        err = yield from self.register(pe, number, critical if priority == 1 else normal, arg)
        if err:
            return err
        err = yield from self.enable(pe, number)
        if err and self.era.ghes_register_rolls_back:
            # Proposed (L2): do not leave the event registered with an argument the caller
            # is about to free (ghes_probe's error path).
            yield from self.unregister(pe, number)
        return err

    @linux_api("sdei_unregister_ghes", needs="ghes_helpers")
    def unregister_ghes(self, pe: PE, number: int) -> Gen:
        err = yield from self.disable(pe, number)
        if err:
            return err
        for _ in range(3):
            err = yield from self.unregister(pe, number)
            if err != EINPROGRESS:
                break
            yield Note("sdei_unregister_ghes: retry")
        return err

    # ------------------------------------------------------------ broken / reset (§2.3)

    def mark_broken(self, pe: PE) -> Gen:
        self.k.printk(pe.index, "SDEI: disabling firmware interface")
        yield from self.k.cross_call(pe, self._ipi_mask_for("broken"), "mask (broken)")
        yield Access(CONDUIT, label="sdei_mark_interface_broken: no conduit")
        self.conduit = None

    def platform_reset(self, pe: PE) -> Gen:
        def private_reset(target: PE) -> Gen:
            if not self.era.hotplug_starting:
                self.k.warn_if_preemptible(target, "_ipi_private_reset")
            err, _ = yield from self.call(target, Function.PRIVATE_RESET)
            if err:
                self.k.printk(target.index, f"Private reset failed: {err}")
            return 0

        yield from self.k.cross_call(pe, private_reset, "private reset")
        err, _ = yield from self.call(pe, Function.SHARED_RESET)
        if err:
            self.k.printk(pe.index, f"Shared reset failed: {err}")
            yield from self.mark_broken(pe)
        return err

    # ------------------------------------------------------------ hotplug callbacks (§4.1)

    def cpuhp_up(self, pe: PE) -> Gen:
        if self.era.frozen_flag:
            yield Access("sdei_frozen", write=False)
            if self.frozen:
                return 0
        k = self.k
        yield from k.spin_lock(pe, k.list_lock)
        for event in self.newest_first():
            if event.shared:
                continue
            if event.reregister:
                err = yield from self._register_local(event)(pe)
                if err:
                    k.printk(pe.index, f"Failed to re-register event {event.number}: {err}")
            if event.reenable:
                err = yield from self._simple_local(Function.EVENT_ENABLE, event)(pe)
                if err:
                    k.printk(pe.index, f"Failed to re-enable event {event.number}: {err}")
        yield from k.spin_unlock(pe, k.list_lock)
        err = yield from self.unmask_local(pe)
        if self.conduit is not None:  # in the UNMASK's step: deliveries here are ordered by it
            self.masked_for.pop(pe.index, None)
        return err

    def cpuhp_down(self, pe: PE, masked_for: str = "") -> Gen:
        """sdei_cpuhp_down. `masked_for`: the teardown of freeze or reboot, after which the
        CPU is to stay masked (what the masked-cpu-event oracle holds deliveries against)."""
        if self.era.frozen_flag:
            yield Access("sdei_frozen", write=False)
            if self.frozen:
                return 0
        k = self.k
        yield from k.spin_lock(pe, k.list_lock)
        for event in self.newest_first():
            if event.shared:
                continue
            err = yield from self._simple_local(Function.EVENT_UNREGISTER, event)(pe)
            if err:
                k.printk(pe.index, f"Failed to unregister event {event.number}: {err}")
        yield from k.spin_unlock(pe, k.list_lock)
        err = yield from self.mask_local(pe)
        if masked_for:  # in the PE_MASK's step, like the suspend IPI's
            self.masked_for[pe.index] = masked_for
        return err

    def _teardown_for(self, reason: str) -> Callable[[PE], Gen]:
        return lambda pe: self.cpuhp_down(pe, reason)

    def install_hotplug(self, pe: PE, *, calls: bool = True) -> Gen:
        ident = CPUHP_AP_ARM_SDEI_STARTING if self.era.hotplug_starting else DYN
        result = yield from self.hotplug.setup_state(
            pe, ident, "SDEI", self.cpuhp_up, self.cpuhp_down, calls=calls
        )
        if result >= 0:
            self.hp_state = result
            return 0
        return result

    def _hotplug_id(self) -> int:
        return CPUHP_AP_ARM_SDEI_STARTING if self.era.hotplug_starting else self.hp_state

    # ------------------------------------------------------------ CPU PM, suspend (§4.2-4.3)

    def cpu_pm_notify(self, pe: PE, action: str) -> Gen:
        """sdei_pm_notifier: CPU_PM_ENTER masks; CPU_PM_EXIT and ENTER_FAILED unmask - whoever
        masked the CPU: the mask is one bit (L6). With cpu_pm_respects_driver_mask a CPU the
        driver masked for suspend, freeze, reboot or a broken interface stays masked."""
        if action == "enter":
            if not self.era.hotplug_starting:
                self.k.warn_if_preemptible(pe, "sdei_pm_notifier")
            return (yield from self.mask_local(pe))
        if self.era.cpu_pm_respects_driver_mask and pe.index in self.masked_for:
            return 0
        return (yield from self.unmask_local(pe))

    def suspend(self, pe: PE) -> Gen:
        return (yield from self.k.cross_call(pe, self._ipi_mask_for("suspend"), "mask (suspend)"))

    def resume(self, pe: PE) -> Gen:
        return (yield from self.k.cross_call(pe, self._ipi_unmask, "unmask (resume)"))

    # ------------------------------------------------------------ hibernate (§4.4, R1, B5, B6, B12)

    def freeze(self, pe: PE) -> Gen:
        k = self.k
        if self.era.frozen_flag:
            return (yield from self._freeze_rfc(pe))
        ident = self.entry_point if self.era.freeze_wrong_state_id else self._hotplug_id()
        yield from self.hotplug.remove_state(pe, ident, teardown=self._teardown_for("freeze"))
        yield from k.mutex_lock(pe, k.events_mutex)
        yield from k.spin_lock(pe, k.list_lock)
        err = 0
        done: list[Event] = []
        for event in self.newest_first():
            if not event.shared:
                continue
            err = yield from self._unregister_event(pe, event)
            if err == EINPROGRESS and self.era.freeze_recovers:
                # Proposed (L3): a running handler finishes the unregistration; wait for it,
                # sleeping, with the list lock dropped (the events mutex keeps the list).
                yield from k.spin_unlock(pe, k.list_lock)
                err = yield from self._wait_unregistered(pe, event)
                yield from k.spin_lock(pe, k.list_lock)
            if err:
                break
            done.append(event)
        yield from k.spin_unlock(pe, k.list_lock)
        yield from k.mutex_unlock(pe, k.events_mutex)
        if err and self.era.freeze_recovers:
            # Proposed (L3): the PM core gives no .thaw to a failed .freeze - undo it here.
            yield from self._refreeze_undo(pe, done)
        return err

    def _refreeze_undo(self, pe: PE, unregistered: list[Event]) -> Gen:
        """Undo a failed freeze: re-register the shared events it unregistered (per their
        flags) and re-install the hotplug state (every CPU unmasked, private events back)."""
        for event in unregistered:
            if event.reregister:
                yield from self._register_event(pe, event)
            if event.reenable:
                yield from self.call(pe, Function.EVENT_ENABLE, event.number)
        yield from self.install_hotplug(pe)

    def thaw(self, pe: PE) -> Gen:
        k = self.k
        if self.era.frozen_flag:
            return (yield from self._thaw_rfc(pe))
        yield from k.mutex_lock(pe, k.events_mutex)
        yield from k.spin_lock(pe, k.list_lock)
        err = 0
        for event in self.newest_first():
            if not event.shared:
                continue
            if event.reregister:
                err = yield from self._register_event(pe, event)
                if err:
                    k.printk(pe.index, f"Failed to re-register event {event.number}")
                    # E1 destroyed with the locking helper while holding the lock (B6).
                    yield from self._destroy(
                        pe, event, list_lock_held=not self.era.thaw_destroy_takes_list_lock
                    )
                    break
            if event.reenable:
                err, _ = yield from self.call(pe, Function.EVENT_ENABLE, event.number)
                if err:
                    k.printk(pe.index, f"Failed to re-enable event {event.number}")
                    break
        yield from k.spin_unlock(pe, k.list_lock)
        yield from k.mutex_unlock(pe, k.events_mutex)
        if err:
            yield from self.mark_broken(pe)
            return err
        return (yield from self.install_hotplug(pe))

    def restore(self, pe: PE) -> Gen:
        err = yield from self.platform_reset(pe)
        if err:
            return err
        return (yield from self.thaw(pe))

    def _freeze_rfc(self, pe: PE) -> Gen:
        """The v4 RFC design (R1): a global flag silences the hotplug callbacks."""
        k = self.k
        yield Access("sdei_frozen")
        self.frozen = True
        for event in self.newest_first():
            err = yield from self._unregister_event(pe, event)
            if err:
                return err
        return (yield from k.cross_call(pe, self.mask_local, "mask (freeze)"))

    def _thaw_rfc(self, pe: PE) -> Gen:
        k = self.k
        for event in self.newest_first():
            if event.reregister:
                err = yield from self._register_event(pe, event)
                if err:
                    return err
            if event.reenable:
                err = yield from self._everywhere(pe, event, Function.EVENT_ENABLE, "enable")
                if err:
                    return err
        err = yield from k.cross_call(pe, self.unmask_local, "unmask (thaw)")
        yield Access("sdei_frozen")
        self.frozen = False
        return err

    # ------------------------------------------------------------ reboot (§4.5)

    def reboot_notify(self, pe: PE) -> Gen:
        teardown = self._teardown_for("reboot")
        yield from self.hotplug.remove_state(pe, self._hotplug_id(), teardown=teardown)
        yield from self.platform_reset(pe)
        return 0

    # ------------------------------------------------------------ probe (§3.3)

    def probe(self, pe: PE, conduit: str | None) -> Gen:
        k = self.k
        self.conduit = conduit  # before any call of this driver (its kernel's boot)
        self.method = conduit or "smc"
        if conduit is None:
            return 0
        err, version = yield from self.call(pe, Function.VERSION)
        if err:
            yield from self.mark_broken(pe)
            return err
        self.version = version
        major = (version >> 48) & 0x7FFF
        k.printk(
            pe.index,
            f"SDEIv{major}.{(version >> 32) & 0xFFFF} (0x{version & 0xFFFF_FFFF:x})"
            f" detected in firmware.",
        )
        if major != 1:
            yield from self.mark_broken(pe)
            return EINVAL
        err = yield from self.platform_reset(pe)
        if err:
            return err
        if k.booted_el2 and not k.vhe:
            k.printk(pe.index, "Not supported on this hardware/boot configuration")
            yield from self.mark_broken(pe)
            return 0
        self.entry_point = k.symbol("__sdei_asm_handler")
        k.cpu_pm_notifiers.append(self.cpu_pm_notify)
        k.reboot_notifiers.append(self.reboot_notify)
        if self.era.probe_nocalls:  # R2: unmask by IPI, then callbacks without calls
            yield from k.cross_call(pe, self.unmask_local, "unmask (probe)")
            err = yield from self.install_hotplug(pe, calls=False)
        else:
            err = yield from self.install_hotplug(pe)
        if err:
            yield from self.mark_broken(pe)
            return err
        self.probed = True
        return 0

"""A Linux instance on the machine: its image, boot, and the power paths that race with SDEI
(linux-client.md §3-4): idle, suspend, hibernate with a boot-kernel prelude at another KASLR
offset, reboot, kexec, panic and crash kexec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sdei.abi import Function
from sdei.kernel import ghes
from sdei.kernel.core import (
    EINPROGRESS,
    EINVAL,
    Gen,
    HeapRef,
    Kernel,
    call_text,
    cpu_list,
    linux_api,
)
from sdei.kernel.driver import Callback, Driver
from sdei.kernel.entry import irq_vector, sdei_entry, unexpected_vector
from sdei.kernel.eras import era
from sdei.kernel.hotplug import Hotplug
from sdei.machine import (
    Access,
    AssertInterrupt,
    Image,
    Jump,
    Local,
    Machine,
    Note,
    Park,
    SendIpi,
    WaitUntil,
)
from sdei.machine.codemap import Loaded
from sdei.machine.psci import POWER_STATE_TYPE_POWERDOWN, Psci

if TYPE_CHECKING:
    from sdei.machine import PE

IMAGE_SIZE = 0x100_0000
SYMBOLS = {
    "start_kernel": 0x0,
    "secondary_entry": 0x100,
    "restore_entry": 0x200,
    "crash_abort_continue": 0x300,
    "__sdei_asm_handler": 0x1000,
    "vectors": 0x2000,
}


@dataclass(frozen=True)
class BootConfig:
    era: str = "latest"
    base: int = 0x8008_0000  # the KASLR offset of this image
    conduit: str | None = "smc"  # the SDEI conduit from DT/ACPI; None: no SDEI
    psci_conduit: str = "smc"
    rt: bool = False  # PREEMPT_RT: the list lock sleeps
    vhe: bool = False  # a VHE host at EL2
    secondaries: tuple[int, ...] | None = None  # CPUs to bring up at boot (default: all)
    ghes_events: tuple[int, ...] = ()  # HEST GHES sources notified by SDEI
    name: str = "linux"
    crash_kernel_base: int = 0xB000_0000
    kdump: bool = False  # a crash kernel is loaded: panic() goes to __crash_kexec()
    probe: bool = True  # probe SDEI at boot (scenarios may race the probe instead)
    booted_el2: bool | None = None  # booted at EL2; with vhe=False SDEI gives up (§3.4)
    patches: tuple[str, ...] = ()  # driver patches on top of the era (sdei.kernel.eras)


class Linux:
    """One kernel image running on the machine."""

    def __init__(
        self,
        machine: Machine,
        config: BootConfig,
        after_boot: Callable[[Linux, PE], Gen] | None = None,
    ) -> None:
        self.machine = machine
        self.config = config
        self.k = Kernel(
            machine,
            era(config.era, config.patches),
            name=config.name,
            base=config.base,
            rt=config.rt,
            vhe=config.vhe,
            booted_el2=config.booted_el2,
        )
        self.k.psci_conduit = config.psci_conduit
        self.hotplug = Hotplug(self.k)
        self.driver = Driver(self.k, self.hotplug)
        self.after_boot = after_boot
        self.image = self._build_image()
        self.loaded: Loaded = machine.load(self.image, config.base)
        self.booted = False
        self.successor: Linux | None = None  # the image a kexec or restore handed over to
        self.ghes_handled: list[tuple[int, int]] = []
        self.ghes = ghes.GhesState()  # records firmware reported, and what came of them
        self.ghes_sources: dict[int, HeapRef] = {}  # event -> its struct ghes
        self.notes: dict[str, Any] = {}
        machine.shared.setdefault("kernels", []).append(self)

    # ------------------------------------------------------------ image

    def _build_image(self) -> Image:
        image = Image(self.k.image_name, IMAGE_SIZE)
        image.add("start_kernel", SYMBOLS["start_kernel"], self.start_kernel)
        image.add("secondary_entry", SYMBOLS["secondary_entry"], self.hotplug.secondary_start)
        image.add("restore_entry", SYMBOLS["restore_entry"], self.restore_entry)
        image.add(
            "crash_abort_continue", SYMBOLS["crash_abort_continue"], lambda pe: self.crash_kexec(pe)
        )
        image.add(
            "__sdei_asm_handler",
            SYMBOLS["__sdei_asm_handler"],
            lambda pe: sdei_entry(self.k, self.driver, pe),
        )
        vectors = SYMBOLS["vectors"]
        image.add("vectors", vectors, lambda pe: unexpected_vector(self.k, pe))
        for name, offset in (
            ("el1h_64_irq", 0x280),
            ("el0t_64_irq", 0x480),
            ("el0t_32_irq", 0x680),
        ):
            image.add(name, vectors + offset, lambda pe: irq_vector(self.k, pe))
        return image

    def describe_state(self) -> dict[str, str]:
        """What a person needs to see of this kernel at one step (`sdei.trace.state`): the
        online mask, hotplug under way, the driver's view of each event, the CPUs it masked,
        the API calls in flight, the heap objects handed to firmware."""
        k, driver = self.k, self.driver
        shown = {
            "cpu_online_mask": cpu_list(k.online),
            "driver": "broken"
            if driver.probed and driver.conduit is None
            else ("probed" if driver.probed else "not probed"),
        }
        if driver.frozen:
            shown["driver"] += ", frozen"
        for cpu, stage in sorted(self.hotplug.stage.items()):
            shown[f"CPU{cpu} hotplug"] = stage
        for cpu, why in sorted(driver.masked_for.items()):
            shown[f"CPU{cpu} masked by driver"] = why
        for number, event in sorted(driver.events.items()):
            flags = [name for name in ("reregister", "reenable") if getattr(event, name)]
            kind = "shared" if event.shared else "private"
            shown[f"sdei_list {number:#x}"] = ", ".join([kind, *flags])
        calls: dict[int, list[str]] = {}
        for cpu, name, args in k.in_flight:
            calls.setdefault(cpu, []).append(call_text(name, args))
        for cpu, nested in sorted(calls.items()):
            shown[f"CPU{cpu} in call"] = " > ".join(nested)
        for address, block in sorted(k.heap.blocks.items()):
            shown[f"heap {address:#x} {block.what}"] = "live" if block.live else "freed"
        return shown

    def symbol(self, name: str) -> int:
        return self.config.base + SYMBOLS[name]

    # ------------------------------------------------------------ boot

    def start_kernel(self, pe: PE) -> Gen:
        """The boot CPU: per-CPU set-up, the secondaries (smp_init), then the initcalls: the
        SDEI probe (subsys_initcall_sync) and GHES. Probe runs with the secondaries online and
        nothing else hotplugging (§11)."""
        k = self.k
        self.machine.shared["current"] = self
        k.setup_cpu(pe)
        k.online.add(pe.index)
        yield from k.local_irq_enable(pe)  # start_kernel: IRQs on before smp_init, initcalls
        yield Note(f"{k.image_name}: boot on CPU{pe.index}", {"era": k.era.label})
        secondaries = self.config.secondaries
        if secondaries is None:
            secondaries = tuple(i for i in range(self.machine.platform.pes) if i != pe.index)
        for cpu in secondaries:
            yield from self.hotplug.cpu_up(pe, cpu)
        if self.config.probe:
            err = yield from self.driver.probe(pe, self.config.conduit)
            if err:
                k.printk(pe.index, f"sdei: probe failed: {err}")
        for number in self.config.ghes_events:
            err = yield from self.ghes_probe(pe, number)
            if err:
                k.printk(pe.index, f"GHES: failed to register SDEI event {number:#x}: {err}")
        self.booted = True
        if self.after_boot is not None:
            yield from self.after_boot(self, pe)
        return 0

    # ------------------------------------------------------------ GHES and AGDI (§2.10-2.11)

    @linux_api("ghes_probe")
    def ghes_probe(self, pe: PE, number: int) -> Gen:
        """drivers/acpi/apei/ghes.c ghes_probe() for a source notified by SDEI event `number`:
        a struct ghes on the heap, registered with sdei_register_ghes(); when that fails the
        error path ghes_fini()s and kfree()s it - even if the event stayed registered (L2)."""
        k = self.k
        if not k.era.ghes_helpers:  # before v5.1 the SDEI notification type is unknown
            k.printk(pe.index, f"GHES: Unknown notification type for SDEI event {number:#x}")
            return EINVAL
        ghes = HeapRef(k.heap.alloc({"event": number}, f"struct ghes (SDEI event {number:#x})"))
        err = yield from self.driver.register_ghes(
            pe, number, self.ghes_normal, self.ghes_critical, ghes
        )
        if err:
            # err: ghes_fini(ghes); kfree(ghes)
            yield Access(f"heap:{ghes.address:#x}", label=f"kfree(ghes) {ghes.address:#x}")
            k.heap.free(ghes.address)
            return err
        self.ghes_sources[number] = ghes
        return 0

    @linux_api("ghes_remove")
    def ghes_remove(self, pe: PE, number: int) -> Gen:
        """ghes_remove(): sdei_unregister_ghes(); on failure the struct ghes is leaked."""
        if number not in self.ghes_sources:
            return 0  # not probed (before v5.1 no SDEI source ever is): nothing to undo
        err = yield from self.driver.unregister_ghes(pe, number)
        if err:
            self.k.printk(pe.index, f"Failed to unregister ghes ({err})")
            return err
        ghes = self.ghes_sources.pop(number, None)
        if ghes is not None:
            yield Access(f"heap:{ghes.address:#x}", label=f"kfree(ghes) {ghes.address:#x}")
            self.k.heap.free(ghes.address)
        return 0

    def _ghes(self, pe: PE, event: int, lock_name: str, arg: Any) -> Gen:
        if isinstance(arg, HeapRef):  # the callback reads its struct ghes
            yield Access(f"heap:{arg.address:#x}", write=False)
            self.k.heap.deref(arg.address)
        source = ghes.find_source(self, event)
        if source is not None:  # firmware reports errors in memory here (sdei.ras)
            return (yield from ghes.sdei_callback(self, pe, source, "critical" in lock_name))
        lock = self.machine.lock(f"{self.k.name}:{lock_name}")
        was = yield from self.k.local_irq_save(pe)
        yield from self.k.spin_lock(pe, lock)
        yield Access(f"ghes:{event:#x}:status")
        self.ghes_handled.append((pe.index, event))
        yield from self.k.spin_unlock(pe, lock)
        yield from self.k.local_irq_restore(pe, was)
        return 0

    def ghes_normal(self, pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        return (yield from self._ghes(pe, event, "ghes_notify_lock_sdei_normal", arg))

    def ghes_critical(self, pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        return (yield from self._ghes(pe, event, "ghes_notify_lock_sdei_critical", arg))

    @linux_api("agdi_probe", needs="agdi_driver")
    def agdi_probe(self, pe: PE, number: int) -> Gen:
        """drivers/acpi/arm64/agdi.c agdi_sdei_probe(): register and enable; if enabling
        fails, unregister (once) and fail."""
        err = yield from self.driver.register(pe, number, self.agdi_handler, "agdi device")
        if err:
            return err
        err = yield from self.driver.enable(pe, number)
        if err:
            yield from self.driver.unregister(pe, number)
            return err
        return 0

    @linux_api("agdi_remove", needs="agdi_driver")
    def agdi_remove(self, pe: PE, number: int) -> Gen:
        """agdi_remove(): disable (an error ends it), then up to three unregisters while
        they say -EINPROGRESS."""
        err = yield from self.driver.disable(pe, number)
        if err:
            return err
        for _ in range(3):
            err = yield from self.driver.unregister(pe, number)
            if err != EINPROGRESS:
                break
            yield Note("agdi_remove: retry")
        return err

    def agdi_handler(self, pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        """agdi_sdei_handler(): nmi_panic()."""
        yield from self.panic(pe, "Arm Generic Diagnostic Dump and Reset SDEI event issued")
        return 0

    # ------------------------------------------------------------ idle (§4.2)

    def cpu_pm_enter(self, pe: PE) -> Gen:
        notified: list[Callable[[PE, str], Gen]] = []
        for notifier in self.k.cpu_pm_notifiers:
            err = yield from notifier(pe, "enter")
            if err:
                for earlier in reversed(notified):
                    yield from earlier(pe, "enter_failed")
                return err
            notified.append(notifier)
        return 0

    def cpu_pm_exit(self, pe: PE) -> Gen:
        for notifier in reversed(self.k.cpu_pm_notifiers):
            yield from notifier(pe, "exit")
        return 0

    @linux_api("cpuidle_enter")
    def idle(self, pe: PE, *, powerdown: bool = True) -> Gen:
        """cpuidle: power-down states go through CPU PM (SDEI masks the PE around them)."""
        k = self.k
        was = yield from k.local_irq_save(pe)
        if powerdown:
            err = yield from self.cpu_pm_enter(pe)
            if err:
                yield from k.local_irq_restore(pe, was)
                return err
        state = POWER_STATE_TYPE_POWERDOWN if powerdown else 0
        yield from k.psci(pe, Psci.CPU_SUSPEND, state, self.symbol("secondary_entry"), 0)
        if powerdown:
            yield from self.cpu_pm_exit(pe)
        yield from k.local_irq_restore(pe, was)
        return 0

    # ------------------------------------------------------------ suspend to RAM (§4.3)

    @linux_api("pm_suspend")
    def suspend(self, pe: PE, *, to_idle: bool = False) -> Gen:
        """suspend_devices_and_enter: hotplug disabled around it (PM_SUSPEND_PREPARE /
        PM_POST_SUSPEND), `.suspend`, the secondaries taken down by the PM core, the boot CPU
        into a power-down state, and back. A failed `.suspend` gets no `.resume` (§11).

        `to_idle`: suspend-to-idle (`mem_sleep` s2idle, all a PSCI platform without
        SYSTEM_SUSPEND offers): no CPU goes offline; with devices suspended every CPU idles
        in its deepest state, this one too (Documentation/admin-guide/pm/suspend-flows.rst)."""
        yield from self.hotplug.disable(pe)
        yield Note("suspend: devices")
        err = yield from self.driver.suspend(pe)
        if err:
            yield from self.hotplug.enable(pe)
            return err
        if to_idle:
            yield from self.idle(pe, powerdown=True)
        else:
            frozen = yield from self.hotplug.freeze_secondary_cpus(pe)
            yield from self.idle(pe, powerdown=True)
            yield from self.hotplug.thaw_secondary_cpus(pe, frozen)
        yield Note("resume: devices")
        err = yield from self.driver.resume(pe)
        yield from self.hotplug.enable(pe)
        return err

    # ------------------------------------------------------------ hibernate (§4.4)

    def snapshot_image(self) -> dict[str, Any]:
        """What a hibernation image holds of this kernel: its memory at the snapshot."""
        k, driver, hotplug = self.k, self.driver, self.hotplug
        return {
            "states": dict(hotplug.states),
            "disabled": hotplug.disabled,
            "events": {n: replace(e, records=dict(e.records)) for n, e in driver.events.items()},
            "driver": (driver.conduit, driver.entry_point, driver.hp_state, driver.frozen),
            "heap": {a: replace(b) for a, b in k.heap.blocks.items()},
            "notifiers": (list(k.cpu_pm_notifiers), list(k.reboot_notifiers)),
            "flags": (k.stopped, k.shutting_down),
        }

    def restore_image(self, image: dict[str, Any]) -> None:
        k, driver, hotplug = self.k, self.driver, self.hotplug
        hotplug.states = dict(image["states"])
        hotplug.disabled = image["disabled"]
        driver.events = {n: replace(e, records=dict(e.records)) for n, e in image["events"].items()}
        driver.conduit, driver.entry_point, driver.hp_state, driver.frozen = image["driver"]
        k.heap.blocks = {a: replace(b) for a, b in image["heap"].items()}
        k.cpu_pm_notifiers, k.reboot_notifiers = (list(n) for n in image["notifiers"])
        k.stopped, k.shutting_down = image["flags"]

    @linux_api("hibernate")
    def hibernate(
        self,
        pe: PE,
        *,
        boot_kernel_base: int | None = None,
        then: Callable[[Linux, PE], Gen] | None = None,
    ) -> Gen:
        """kernel/power/hibernate.c: PM_HIBERNATION_PREPARE (hotplug disabled), `.freeze`,
        the secondaries down (freeze_secondary_cpus), snapshot, secondaries up, `.thaw`,
        image written. A failed `.freeze` gets no `.thaw`: hibernation is aborted (§11).

        With `boot_kernel_base`, power off and come back: a boot kernel at that KASLR offset
        probes SDEI, quiesces, and jumps to this image, whose `.restore` runs (restore_entry).
        """
        yield from self.hotplug.disable(pe)
        yield Note("hibernate: freeze")
        self.notes["phase"] = "freeze"
        err = yield from self.driver.freeze(pe)
        if err:
            yield Note("hibernate: freeze failed, hibernation aborted (no .thaw for SDEI)")
            self.notes["phase"] = "aborted"
            yield from self.hotplug.enable(pe)
            return err
        frozen = yield from self.hotplug.freeze_secondary_cpus(pe)
        yield Note("hibernate: snapshot")
        self.notes["phase"] = "snapshot"
        self.notes["hibernated_cpus"] = frozen
        self.notes["then"] = then
        self.notes["image"] = self.snapshot_image()
        yield from self.hotplug.thaw_secondary_cpus(pe, frozen)
        yield Note("hibernate: thaw")
        self.notes["phase"] = "thaw"
        err = yield from self.driver.thaw(pe)
        if err:  # dpm_resume only logs a failed .thaw; the image is still written
            self.k.printk(pe.index, f"PM: thaw failed: {err}")
        yield Note("hibernate: image written")
        self.notes["phase"] = "written"
        if boot_kernel_base is None:
            yield from self.hotplug.enable(pe)
            return 0
        yield from self.reboot_notifiers(pe)  # kernel_power_off -> kernel_shutdown_prepare
        yield Note("power off; cold boot")
        self.k.live = False  # RAM is lost until the boot kernel restores the image
        self.machine.unload(self.loaded)
        boot = Linux(
            self.machine,
            replace(self.config, base=boot_kernel_base, name="boot"),
            after_boot=lambda linux, cpu: linux.load_hibernation_image(cpu, self),
        )
        self.successor = boot
        yield Jump(boot.symbol("start_kernel"), reset_system=True)
        return 0

    def load_hibernation_image(self, pe: PE, image_kernel: Linux) -> Gen:
        """The boot kernel's side of a restore (software_resume): PM_RESTORE_PREPARE, quiesce
        (`.freeze`), secondaries down, jump. A failed quiesce aborts the restore: the boot
        kernel goes on running."""
        yield from self.hotplug.disable(pe)
        yield Note(f"{self.k.image_name}: loading the hibernation image")
        err = yield from self.driver.freeze(pe)
        if err:
            self.k.printk(pe.index, f"PM: quiesce failed: {err}; restore aborted")
            yield from self.hotplug.enable(pe)
            return err
        yield from self.hotplug.freeze_secondary_cpus(pe)
        self.k.live = False  # the image overwrites the boot kernel's memory
        self.machine.unload(self.loaded)
        image_kernel.loaded = self.machine.load(image_kernel.image, image_kernel.config.base)
        self.successor = image_kernel
        yield Jump(image_kernel.symbol("restore_entry"))
        return 0

    def restore_entry(self, pe: PE) -> Gen:
        """The image kernel again, as it was at the snapshot (create_image returning): the
        secondaries back first, then `.restore` (platform reset, then the thaw logic), then
        PM_POST_HIBERNATION (§11 restore order)."""
        k = self.k
        self.machine.shared["current"] = self
        image = self.notes.get("image")
        if image is not None:
            self.restore_image(image)
        k.live = True  # the image's memory is back
        self.successor = None
        k.online = {pe.index}
        k.setup_cpu(pe)
        yield from k.local_irq_enable(pe)
        yield Note(f"{k.image_name}: restored")
        yield from self.hotplug.thaw_secondary_cpus(pe, list(self.notes.get("hibernated_cpus", [])))
        err = yield from self.driver.restore(pe)
        if err:
            k.printk(pe.index, f"sdei: restore failed: {err}")
        yield from self.hotplug.enable(pe)
        self.notes["restored"] = True
        then = self.notes.get("then")
        if then is not None:
            yield from then(self, pe)
        return 0

    # ------------------------------------------------------------ reboot and kexec (§4.5)

    def reboot_notifiers(self, pe: PE) -> Gen:
        self.k.shutting_down = True
        for notifier in self.k.reboot_notifiers:
            yield from notifier(pe)
        return 0

    @linux_api("kernel_restart")
    def reboot(self, pe: PE) -> Gen:
        yield from self.reboot_notifiers(pe)
        yield from self.k.psci(pe, Psci.SYSTEM_RESET)
        return 0

    @linux_api("kernel_kexec")
    def kexec(self, pe: PE, base: int, after_boot: Callable[[Linux, PE], Gen] | None = None) -> Gen:
        """kernel_kexec: reboot notifiers, the secondaries down (machine_shutdown), jump into
        a new image at `base`."""
        yield Note(f"kexec: new image at {base:#x}")
        yield from self.reboot_notifiers(pe)
        yield from self.hotplug.freeze_secondary_cpus(pe)
        self.k.live = False
        self.machine.unload(self.loaded)
        new = Linux(self.machine, replace(self.config, base=base, name="kexec"), after_boot)
        self.successor = new
        yield Jump(new.symbol("start_kernel"))
        return 0

    # ------------------------------------------------------------ panic and crash (§4.6, B13)

    def _stop_handler(self, pe: PE) -> Gen:
        """local_cpu_stop (IPI_CPU_STOP): offline, everything masked, SDEI masked, parked."""
        k = self.k
        yield Access("cpu_online_mask")
        k.online.discard(pe.index)
        yield from k.local_daif_mask(pe)
        yield from self.driver.mask_local(pe)
        yield Park()
        return 0

    def _crash_stop_handler(self, pe: PE) -> Gen:
        """ipi_cpu_crash_stop: acknowledge (waiting_for_crash_ipi), mask, SDEI masked, then
        try to die (CPU_OFF) - the online mask is left as it is."""
        k = self.k
        yield Access("waiting_for_crash_ipi")
        k.notes_waiting.discard(pe.index)
        yield from k.local_daif_mask(pe)
        yield from self.driver.mask_local(pe)
        yield from k.psci(pe, Psci.CPU_OFF)  # __cpu_try_die
        return 0

    def _stop_others(self, pe: PE, handler: Callable[[PE], Gen], label: str) -> Gen:
        """smp_send_stop / crash_smp_send_stop: IPI every other online CPU, then wait up to a
        second for them. The second runs out only for a CPU that can no longer take the IPI
        (off or parked): the wait ends when the rest have answered."""
        k = self.k
        yield Access("cpu_online_mask", write=False)
        others = sorted(k.online - {pe.index})
        k.notes_waiting = set(others)
        for cpu in others:
            yield SendIpi(cpu, handler, label)
        pes = self.machine.pes
        yield WaitUntil(
            lambda: all(
                cpu not in k.notes_waiting or pes[cpu].parked or pes[cpu].power.value == "off"
                for cpu in others
            ),
            ("waiting_for_crash_ipi", "cpu_online_mask", *(f"pe:{cpu}" for cpu in others)),
            f"{label}: other CPUs stopped",
            stable=True,
        )

    @linux_api("panic")
    def panic(self, pe: PE, message: str) -> Gen:
        k = self.k
        yield Access("panic_cpu", label="panic: claim panic_cpu")  # atomic_cmpxchg(&panic_cpu)
        k.stopped = True
        yield Note(f"Kernel panic: {message}")
        yield from k.local_daif_mask(pe)
        yield from self._stop_others(pe, self._stop_handler, "stop")
        yield from self.driver.mask_local(pe)
        yield Park()
        return 0

    @linux_api("__crash_kexec")
    def crash_kexec(self, pe: PE, message: str = "") -> Gen:
        """__crash_kexec: machine_crash_shutdown stops the others and masks this CPU;
        (v6.6+) sdei_handler_abort completes running handlers; then the crash kernel."""
        k = self.k
        yield Access("panic_cpu", label="crash: claim panic_cpu")  # one CPU goes on
        if not k.stopped:
            k.stopped = True
            yield Note(f"crash: {message}" if message else "crash")
            yield from k.local_daif_mask(pe)
            yield from self._stop_others(pe, self._crash_stop_handler, "crash stop")
            yield from self.driver.mask_local(pe)
        if k.era.crash_aborts_handlers and k.era.crash_abort_until_denied:
            k.active[pe.index][0] = k.active[pe.index][1] = 0
            # Returns only when firmware says no handler runs (DENIED); else firmware resumes
            # the interrupted context at crash_abort_continue, which comes back here.
            yield from self.driver.call(
                pe, Function.EVENT_COMPLETE_AND_RESUME, self.symbol("crash_abort_continue")
            )
        elif k.era.crash_aborts_handlers:
            active = k.active[pe.index]
            for slot in (1, 0):  # critical first, then normal (5cd474e57368)
                if active[slot]:
                    active[slot] = 0
                    yield from self.driver.call(
                        pe, Function.EVENT_COMPLETE_AND_RESUME, self.symbol("crash_abort_continue")
                    )
                    return 0
        k.live = False
        crash = Linux(
            self.machine,
            replace(
                self.config,
                base=self.config.crash_kernel_base,
                name="crash",
                secondaries=(),
                ghes_events=(),
            ),
            after_boot=crash_kernel_checks_interrupts,
        )
        self.successor = crash
        yield Jump(crash.symbol("start_kernel"))
        return 0


CRASH_KERNEL_IRQ = 100  # an SPI the crash kernel's device uses


def crash_kernel_checks_interrupts(linux: Linux, pe: PE) -> Gen:
    """The crash kernel needs working interrupts: it raises one of its device's and records
    whether its handler ran (checked by the `crash-kernel-interrupts` invariant)."""
    machine = linux.machine
    seen: dict[str, bool] = {"irq": False}

    def handler(cpu: PE, intid: int) -> Gen:
        seen["irq"] = True
        yield Local("crash kernel: device interrupt")
        return None

    machine.request_irq(CRASH_KERNEL_IRQ, handler)
    machine.gic.enable(CRASH_KERNEL_IRQ, route=pe.mpidr)
    yield from linux.k.local_irq_restore(pe, False)
    linux.notes["crash_irq"] = seen
    yield AssertInterrupt(CRASH_KERNEL_IRQ, pe.index)
    for _ in range(3):
        yield Local("crash kernel: running")
    return 0


def noop_callback(pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
    """A client callback that just returns success."""
    yield Local("callback")
    return 0


@dataclass
class Counter:
    """A client callback that counts where each event ran."""

    seen: list[tuple[int, int]] = field(default_factory=list)

    def __call__(self, pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        yield Access(f"counter:{event:#x}")
        self.seen.append((pe.index, event))
        return 0


__all__ = ["BootConfig", "Callback", "Counter", "Linux", "noop_callback"]

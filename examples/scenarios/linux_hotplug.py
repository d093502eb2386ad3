"""Linux-client scenarios: the SDEI driver's API racing CPU hotplug, and a client's heap.

`register_vs_cpu_up`: CPU0 registers and enables the private software event 0 while CPU1
brings CPU2 online (`register_vs_cpu_cycle`: takes CPU2 offline, then online again). In v4.16
`sdei_event_register()` sets `reregister` (and `sdei_event_enable()` sets `reenable`) *before*
its cross-call and holds no CPU-hotplug lock (drivers/firmware/arm_sdei.c; fixed in v5.7 by
54f529a6806c "firmware: arm_sdei: Use cpus_read_lock() to avoid races with cpuhp";
reference/linux-client.md §2.5 and §7 B7). Two ways it goes wrong:

- CPU2's STARTING-section up callback sees `reregister` and registers the event before CPU2
  is in the online mask; the cross-call then reads the mask with CPU2 in it and registers
  it there again: firmware answers DENIED, the call returns -EPERM (`unexpected-api-error`);
- CPU2's up callback runs before the event is on `sdei_list`, and the cross-call reads the
  mask before CPU2 is in it: CPU2 never gets the event, though both calls returned 0
  (`flags-agree`, and this file's own invariant `promise-kept`).

From v5.7 register and enable hold cpus_read_lock(), which cpu_up() holds for write across
the whole bring-up: a complete dfs finds nothing.

`probe_frees_arg`: a client driver's probe allocates its device structure on the kernel heap,
registers the shared RAS event with it as the callback argument, and frees it when enabling
fails - without unregistering (the shape of ghes_probe() and sdei_register_ghes(), L2).
Enabling fails only when the injected firmware fault fires. `probe_rolls_back` unregisters
first and is correct.

    sdei explore examples/scenarios/linux_hotplug.py::register_vs_cpu_up --era v4.16
    sdei explore examples/scenarios/linux_hotplug.py::register_vs_cpu_up --era v5.7 --strategy dfs
    sdei explore examples/scenarios/linux_hotplug.py::probe_frees_arg
    sdei explore examples/scenarios/linux_hotplug.py::probe_rolls_back --strategy dfs
"""

from __future__ import annotations

from typing import Any

from sdei.abi import Function
from sdei.kernel import Counter
from sdei.kernel.core import Gen, HeapRef
from sdei.machine import PE, Access, FirmwareFault, Invariant, Machine
from sdei.scenarios.api import Options, Scenario
from sdei.scenarios.common import SHARED_RAS, SOFTWARE_EVENT, boot_for, ras_error

RELEASES = ("v4.16", "v5.7", "v5.8", "v6.4", "v6.6", "v6.12", "latest")
DENIED = -3  # the SDEI status firmware returns; the driver turns it into -EPERM

# ---------------------------------------------------------------- register vs hotplug (B7)


def _build_register(options: Options, *, cycle: bool) -> Machine:
    # Boot the era the command line chose (`--era`, `--patch`, `--cpus`, default 3 CPUs) and
    # probe SDEI. With `cycle` every CPU is online at boot; without it CPU2 is left offline.
    # boot_for() runs everything up to here with no choices: set-up, not explored.
    booted = boot_for(options, 3, online=None if cycle else (0, 1))
    linux, machine = booted.linux, booted.machine

    def client(pe: PE) -> Gen:
        # Driver calls are generators: `yield from` runs them step by step, so the explorer
        # can run other CPUs between their steps (a plain call would run nothing).
        err = yield from linux.driver.register(pe, SOFTWARE_EVENT, Counter())
        if not err:
            err = yield from linux.driver.enable(pe, SOFTWARE_EVENT)
        machine.shared["client"] = err  # read only by the invariant, at quiescence
        return err

    def hotplug(pe: PE) -> Gen:
        if cycle:
            err = yield from linux.hotplug.cpu_down(pe, 2)
            if err:
                return err
        return (yield from linux.hotplug.cpu_up(pe, 2))

    def promise_kept(m: Machine) -> str | None:
        # What the caller was promised: register and enable returned 0, so the event is
        # registered and enabled on every online CPU (EVENT_STATUS bits 0 and 1).
        if m.shared.get("client") != 0:
            return None
        for cpu in sorted(linux.k.online):
            status = m.firmware.call(cpu, Function.EVENT_STATUS, SOFTWARE_EVENT)
            if status & 0b11 != 0b11:
                return f"event 0 on CPU{cpu}: status {status:#x} after register+enable = 0"
        return None

    machine.add_invariant(Invariant("promise-kept", promise_kept, at_quiescence_only=True))
    booted.spawn(0, client, "register+enable event 0")
    booted.spawn(1, hotplug, "CPU2 offline+online" if cycle else "CPU2 online")
    return machine


def build_register_vs_cpu_up(options: Options) -> Machine:
    return _build_register(options, cycle=False)


def build_register_vs_cpu_cycle(options: Options) -> Machine:
    return _build_register(options, cycle=True)


register_vs_cpu_up = Scenario(
    name="register_vs_cpu_up",
    description="sdei_event_register()+enable() of a private event while CPU2 comes online",
    build=build_register_vs_cpu_up,
    buggy_eras=("v4.16",),
    fixed_eras=RELEASES[1:],
    expected_invariant="unexpected-api-error",
    also_violates=("flags-agree", "promise-kept"),
    default_cpus=3,
)

register_vs_cpu_cycle = Scenario(
    name="register_vs_cpu_cycle",
    description="the same while CPU2 goes offline and comes back",
    build=build_register_vs_cpu_cycle,
    buggy_eras=("v4.16",),
    fixed_eras=RELEASES[1:],
    expected_invariant="unexpected-api-error",
    also_violates=("flags-agree", "promise-kept"),
    default_cpus=3,
)

# ---------------------------------------------------------------- a client's heap object


def _build_probe(options: Options, *, rolls_back: bool) -> Machine:
    booted = boot_for(options, 2)
    linux, machine = booted.linux, booted.machine
    heap = linux.k.heap
    # Armed after set-up: at each matching call the explorer tries both "fires" and "not".
    machine.inject(FirmwareFault(Function.EVENT_ENABLE, DENIED, event=SHARED_RAS))

    def callback(pe: PE, event: int, regs: tuple[int, ...], arg: Any) -> Gen:
        yield Access(f"heap:{arg.address:#x}", write=False)  # name the object it reads
        device = heap.deref(arg.address)  # a freed object is a live-driver-memory violation
        device["errors"] += 1
        return 0

    def probe(pe: PE) -> Gen:
        device = HeapRef(heap.alloc({"errors": 0}, "struct my_device"))  # kzalloc()
        err = yield from linux.driver.register(pe, SHARED_RAS, callback, device)
        if not err:
            err = yield from linux.driver.enable(pe, SHARED_RAS)
            if err and rolls_back:
                yield from linux.driver.unregister(pe, SHARED_RAS)
        if err:
            yield Access(f"heap:{device.address:#x}", label="kfree(device)")
            heap.free(device.address)
        return err

    booted.spawn(0, probe, "my_probe")
    booted.spawn(1, ras_error, "RAS error")  # the device raises its error at any time
    return machine


def build_probe_frees_arg(options: Options) -> Machine:
    return _build_probe(options, rolls_back=False)


def build_probe_rolls_back(options: Options) -> Machine:
    return _build_probe(options, rolls_back=True)


probe_frees_arg = Scenario(
    name="probe_frees_arg",
    description="a probe frees its callback argument when enable fails, event still registered",
    build=build_probe_frees_arg,
    buggy_eras=RELEASES,
    expected_invariant="stale-callback-arg",
)

probe_rolls_back = Scenario(
    name="probe_rolls_back",
    description="the probe unregisters the event before it frees the argument",
    build=build_probe_rolls_back,
    fixed_eras=RELEASES,
)

"""Linux SDEI client eras (linux-client.md §0) and patches: each a few switches over one driver.

An era reproduces its release's behaviour, bugs included. Each field names the bug or change
it encodes; `ERAS` is ordered oldest first. A `Patch` flips some of those switches on top of an
era: an upstream fix applied to an older tree (the tree between two commits), or a fix this
project proposes for a latent issue. `era(name, patches)` builds the combination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Era:
    name: str
    # R1: hibernate guarded by a global `frozen` flag the hotplug callbacks consult (v4 RFC).
    frozen_flag: bool = False
    # R2: probe unmasks by IPI broadcast, then installs hotplug callbacks without calls.
    probe_nocalls: bool = False
    # B7: reregister/reenable set before the firmware calls; no cpus_read_lock (fixed v5.7,
    # 54f529a6806c).
    flags_before_call: bool = False
    # B5: the shared register/unregister helpers set and clear the flags under the list lock
    # themselves, so the hibernate walkers, which hold it, self-deadlock (fixed v5.7,
    # 6ded0b61cf63).
    helpers_take_list_lock: bool = False
    # B6: thaw's error path destroys a shared event with the locking destroy while the walker
    # holds the list lock (fixed v5.7, "fix possible double-lock on hibernate error path").
    thaw_destroy_takes_list_lock: bool = False
    # B8: E1's NMI entry - entered only when not already in NMI, HCR_EL2 saved in one per-CPU
    # slot before the CPU counts as in NMI; v5.8 nests with a count (nmi_enter rework).
    nmi_single_hcr_slot: bool = False
    # B11: hotplug callbacks in the STARTING section (IRQs off); ONLINE_DYN from v6.4.
    hotplug_starting: bool = True
    # B12: freeze removes the hotplug state by the entry-point address, not the saved id
    # (v6.4 d2c48b2387eb .. v6.12 c83212d79be2).
    freeze_wrong_state_id: bool = False
    # B13: the crash path aborts running handlers (v6.6, 5cd474e57368).
    crash_aborts_handlers: bool = False
    # B10 (v5.11, 2376e75cc77e): the C entry sets PAN itself instead of trusting firmware's.
    entry_sets_pan: bool = False
    # Clients: sdei_register_ghes()/sdei_unregister_ghes() and GHES's SDEI notification came
    # with the APEI-over-SDEI series (v5.1); the AGDI driver with v5.18.
    ghes_helpers: bool = True
    agdi_driver: bool = True
    # GHES before the 2019 "in_nmi() rework and SDEI wire-up": the NMI-like notifications
    # share one fixmap slot and one raw spinlock (kernel/ghes.py). No release wired SDEI to
    # that code; a patch puts it back to show why the wire-up waited for the rework.
    ghes_shared_nmi_slot: bool = False
    # __ghes_panic honours panic= and says "GHES: Fatal hardware error" (5c0e00a391dd, 2025);
    # before it, "Fatal hardware error!" with panic_timeout forced to 30 s.
    ghes_honours_panic: bool = False
    # Fixes this project proposes for latent issues in today's driver (linux-client.md §12);
    # no release has them, a patch switches them on.
    # L1: unregister and disable take cpus_read_lock, like register and enable.
    unregister_disable_cpus_lock: bool = False
    # L2: sdei_register_ghes unregisters the event when enabling it fails.
    ghes_register_rolls_back: bool = False
    # L3: a failed freeze waits out a running handler, else undoes its teardown.
    freeze_recovers: bool = False
    # L4: unregister waits for a PENDING unregistration to finish, then destroys the event.
    unregister_waits_for_pending: bool = False
    # L5: a private enable or disable that fails on some CPU is undone on all.
    enable_disable_roll_back: bool = False
    # L6: CPU_PM_EXIT leaves a CPU masked that the driver masked (suspend, freeze, ...).
    cpu_pm_respects_driver_mask: bool = False
    # arm64's __cpu_disable() tears the IPIs down (ipi_teardown, with the v5.10 IPI rework): a
    # dying CPU takes no IPI after take_cpu_down. Before it, multi_cpu_stop re-enabled IRQs
    # on the dying CPU and a pending IPI ran before cpu_die().
    ipi_teardown: bool = False
    # L7: the crash path completes handlers until firmware answers DENIED, instead of trusting
    # sdei_active_{critical,normal}_event, which a handler records only some instructions in.
    crash_abort_until_denied: bool = False
    # The patches applied on top of the release (names, in the order given).
    patches: tuple[str, ...] = ()

    @property
    def hotplug_section(self) -> str:
        return "starting" if self.hotplug_starting else "online_dyn"

    @property
    def label(self) -> str:
        """The era as a person reads it: `v4.16`, or `v4.16+hibernate-leave-flags`."""
        return "+".join((self.name, *self.patches))


@dataclass(frozen=True)
class Patch:
    """A change to the driver as a set of era switches.

    `upstream` marks a historic fix (with its commit id where a source showed it); a fix this
    project proposes is not upstream.
    """

    name: str
    summary: str
    changes: Mapping[str, bool]
    commit: str = ""
    fixes: str = ""  # the bug or latent issue it addresses (B5, L1, ...)
    upstream: bool = True

    @property
    def origin(self) -> str:
        if not self.upstream:
            return "proposed"
        return self.commit or "upstream (id unconfirmed)"


_V4_16 = Era(
    "v4.16",
    flags_before_call=True,
    helpers_take_list_lock=True,
    thaw_destroy_takes_list_lock=True,
    nmi_single_hcr_slot=True,
    ghes_helpers=False,
    agdi_driver=False,
)
_V5_7 = replace(
    _V4_16,
    name="v5.7",
    flags_before_call=False,
    helpers_take_list_lock=False,
    thaw_destroy_takes_list_lock=False,
    ghes_helpers=True,
)
_V5_8 = replace(_V5_7, name="v5.8", nmi_single_hcr_slot=False)
_V6_1 = replace(_V5_8, name="v6.1", entry_sets_pan=True, agdi_driver=True, ipi_teardown=True)
_V6_4 = replace(_V6_1, name="v6.4", hotplug_starting=False, freeze_wrong_state_id=True)
_V6_6 = replace(_V6_4, name="v6.6", crash_aborts_handlers=True)
_V6_12 = replace(_V6_6, name="v6.12", freeze_wrong_state_id=False)
_LATEST = replace(_V6_12, name="latest", ghes_honours_panic=True)

ERAS: dict[str, Era] = {
    "v4-rfc": replace(
        _V4_16,
        name="v4-rfc",
        frozen_flag=True,
        probe_nocalls=True,
        helpers_take_list_lock=False,
        thaw_destroy_takes_list_lock=False,
    ),
    "v4.16": _V4_16,
    "v5.7": _V5_7,
    "v5.8": _V5_8,
    "v6.1": _V6_1,
    "v6.4": _V6_4,
    "v6.6": _V6_6,
    "v6.12": _V6_12,
    "latest": _LATEST,
    # Not a release: today's driver with GHES as it was before the 2019 "in_nmi() rework and
    # SDEI wire-up" (one fixmap slot and one lock for every NMI-like notification), which is
    # why that series wired SDEI up only after the rework.
    "pre-apei-rework": replace(_LATEST, name="pre-apei-rework", ghes_shared_nmi_slot=True),
}
ERA_NAMES = tuple(ERAS)

_HISTORIC = (
    Patch(
        "hibernate-leave-flags",
        "the hibernate walkers leave the flags alone; the API callers set and clear them "
        "(B5's fix, without B6's)",
        {"helpers_take_list_lock": False},
        commit="6ded0b61cf63",
        fixes="B5",
    ),
    Patch(
        "thaw-destroy-llocked",
        "thaw's error path destroys the event with the lock-held variant (B6's fix)",
        {"thaw_destroy_takes_list_lock": False},
        fixes="B6",
    ),
    Patch(
        "register-cpus-read-lock",
        "register and enable hold cpus_read_lock and set the flags only after success (B7's fix)",
        {"flags_before_call": False},
        commit="54f529a6806c",
        fixes="B7",
    ),
)

_PROPOSED: tuple[Patch, ...] = (
    Patch(
        "unregister-takes-cpus-read-lock",
        "sdei_event_unregister() and sdei_event_disable() hold cpus_read_lock() around their "
        "cross-calls, as register and enable do since 54f529a6806c",
        {"unregister_disable_cpus_lock": True},
        fixes="L1",
        upstream=False,
    ),
    Patch(
        "register-ghes-rolls-back",
        "sdei_register_ghes() unregisters the event when enabling it fails, before ghes_probe() "
        "frees the GHES object it was registered with",
        {"ghes_register_rolls_back": True},
        fixes="L2",
        upstream=False,
    ),
    Patch(
        "freeze-recovers",
        "sdei_device_freeze() waits for a running handler to finish a PENDING unregistration, "
        "and undoes its teardown (re-registers, re-installs the hotplug state) if it still "
        "fails - the PM core calls no .thaw for it",
        {"freeze_recovers": True},
        fixes="L3",
        upstream=False,
    ),
    Patch(
        "unregister-waits-for-pending",
        "sdei_event_unregister() on PENDING polls EVENT_STATUS until the handler has "
        "completed and the event is unregistered, then destroys it",
        {"unregister_waits_for_pending": True},
        fixes="L4",
        upstream=False,
    ),
    Patch(
        "enable-disable-roll-back",
        "a private sdei_event_enable()/disable() that fails on some CPU undoes itself on all",
        {"enable_disable_roll_back": True},
        fixes="L5",
        upstream=False,
    ),
    Patch(
        "cpu-pm-respects-driver-mask",
        "sdei_pm_notifier() does not unmask on CPU_PM_EXIT a CPU the driver masked for "
        "suspend, freeze, reboot or a broken interface",
        {"cpu_pm_respects_driver_mask": True},
        fixes="L6",
        upstream=False,
    ),
)

_PROPOSED += (
    Patch(
        "crash-abort-until-denied",
        "sdei_handler_abort() completes running handlers with COMPLETE_AND_RESUME until "
        "firmware answers DENIED, instead of only those sdei_active_{critical,normal}_event "
        "name: a critical event taken in the first instructions of __sdei_asm_handler leaves "
        "the normal handler it interrupted unrecorded",
        {"crash_abort_until_denied": True},
        fixes="L7",
        upstream=False,
    ),
)

PATCHES: dict[str, Patch] = {p.name: p for p in (*_HISTORIC, *_PROPOSED)}


# Features a scenario can need (`Scenario.needs`): the Era flag and what it is, for the message
# that refuses an era without it.
FEATURES: dict[str, str] = {
    "ghes_helpers": "GHES sources notified by SDEI (sdei_register_ghes(), v5.1)",
    "agdi_driver": "the AGDI driver (v5.18)",
}


def missing(needs: Iterable[str], era_name: str, patches: Iterable[str] = ()) -> list[str]:
    """The features in `needs` that `era_name` (with `patches`) does not have."""
    chosen = era(era_name, patches)
    return [f for f in needs if not getattr(chosen, f)]


def patch(name: str) -> Patch:
    found = PATCHES.get(name) or next((p for p in PATCHES.values() if p.commit == name), None)
    if found is None:
        raise ValueError(f"unknown patch {name!r}: expected one of {', '.join(sorted(PATCHES))}")
    return found


def era(name: str, patches: Iterable[str] = ()) -> Era:
    """The era `name` with `patches` applied in order (each name, or a historic commit id)."""
    try:
        base = ERAS[name]
    except KeyError:
        raise ValueError(f"unknown era {name!r}: expected one of {', '.join(ERA_NAMES)}") from None
    chosen = [patch(p) for p in patches]
    for p in chosen:
        base = replace(base, **p.changes)  # type: ignore[arg-type]
    if not chosen:
        return base
    return replace(base, patches=tuple(p.name for p in chosen))

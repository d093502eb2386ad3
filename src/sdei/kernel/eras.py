"""Linux SDEI client eras (linux-client.md §0): each a few switches over one driver.

An era reproduces its release's behaviour, bugs included. Each field names the bug or change
it encodes; `ERAS` is ordered oldest first.
"""

from __future__ import annotations

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
    # B5/B6: the shared register/unregister/destroy helpers take the list lock themselves,
    # and freeze clears the flags (fixed v5.7, 6ded0b61cf63).
    helpers_take_list_lock: bool = False
    # B8: arch NMI entry saves HCR_EL2 in one per-CPU slot, no nesting counter (fixed v5.8).
    nmi_single_hcr_slot: bool = False
    # B11: hotplug callbacks in the STARTING section (IRQs off); ONLINE_DYN from v6.4.
    hotplug_starting: bool = True
    # B12: freeze removes the hotplug state by the entry-point address, not the saved id
    # (v6.4 d2c48b2387eb .. v6.12 c83212d79be2).
    freeze_wrong_state_id: bool = False
    # B13: the crash path aborts running handlers (v6.6, 5cd474e57368).
    crash_aborts_handlers: bool = False
    # E3 (v5.10): any firmware value goes through the errno switch, non-errors become 0.
    translate_all_values: bool = False
    # E1: SDEI enters NMI context only if not already in NMI; v5.8 nests unconditionally.
    nmi_enter_if_not_in_nmi: bool = True
    # B10 (v5.11, 2376e75cc77e): the C entry sets PAN itself instead of trusting firmware's.
    entry_sets_pan: bool = False

    @property
    def hotplug_section(self) -> str:
        return "starting" if self.hotplug_starting else "online_dyn"


_V4_16 = Era(
    "v4.16",
    flags_before_call=True,
    helpers_take_list_lock=True,
    nmi_single_hcr_slot=True,
)
_V5_7 = replace(_V4_16, name="v5.7", flags_before_call=False, helpers_take_list_lock=False)
_V5_8 = replace(_V5_7, name="v5.8", nmi_single_hcr_slot=False, nmi_enter_if_not_in_nmi=False)
_V6_4 = replace(
    _V5_8,
    name="v6.4",
    hotplug_starting=False,
    freeze_wrong_state_id=True,
    translate_all_values=True,
    entry_sets_pan=True,
)
_V6_6 = replace(_V6_4, name="v6.6", crash_aborts_handlers=True)
_V6_12 = replace(_V6_6, name="v6.12", freeze_wrong_state_id=False)

ERAS: dict[str, Era] = {
    "v4-rfc": replace(
        _V4_16, name="v4-rfc", frozen_flag=True, probe_nocalls=True, helpers_take_list_lock=False
    ),
    "v4.16": _V4_16,
    "v5.7": _V5_7,
    "v5.8": _V5_8,
    "v6.4": _V6_4,
    "v6.6": _V6_6,
    "v6.12": _V6_12,
    "latest": replace(_V6_12, name="latest"),
}
ERA_NAMES = tuple(ERAS)


def era(name: str) -> Era:
    try:
        return ERAS[name]
    except KeyError:
        raise ValueError(f"unknown era {name!r}: expected one of {', '.join(ERA_NAMES)}") from None

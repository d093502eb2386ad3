"""Where the sources disagree (sdei-spec.md §7): the one switch, read here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProfileName = Literal["spec", "tfa"]
PROFILE_NAMES: tuple[ProfileName, ...] = ("spec", "tfa")


@dataclass(frozen=True, slots=True)
class Rules:
    """Behaviour that depends on the profile. Each field cites the disagreement it settles."""

    name: ProfileName
    # C&R with an address the platform refuses: spec INVALID_PARAMETERS, TF-A DENIED (§2.7).
    resume_refused_status: int
    # C&R / REGISTER addresses must be 4-byte aligned in spec (DEN0054C 5.1.7); TF-A no check.
    check_alignment: bool
    # TF-A checks the RM_PE affinity even for private events (§2.2 step 2).
    affinity_checked_for_private: bool
    # TF-A accepts only flags 0/1 (v1.0); spec v1.1 also has bit1 relative mode (§2.2).
    relative_mode_flag: bool
    # BIND of a secure interrupt: spec INVALID_PARAMETERS, TF-A DENIED (§2.14).
    bind_secure_status: int
    # BIND of an active interrupt: spec DENIED at bind; TF-A checks only at REGISTER (§2.14).
    bind_checks_active: bool
    # EVENT_SIGNAL to a masked / unregistered / disabled target: spec SUCCESS (pending),
    # TF-A (since Oct 2024, b142ede74) INVALID_PARAMETERS (§2.16).
    signal_checks_target: bool
    # RELEASE of a private event: spec needs every PE unregistered and not pending;
    # TF-A looks at the registration count and the calling PE only (§2.15).
    release_checks_all_pes: bool
    # PSCI CPU_OFF/SYSTEM_* inside a handler: spec completes it implicitly; TF-A does not (§5.8).
    power_off_completes_handlers: bool
    # C&R resume PSTATE: spec is TakeException-like; TF-A sets all other bits to 0 (§2.7).
    resume_pstate_takes_exception: bool
    # Explicit (firmware-raised) events: spec keeps them pending; TF-A refuses at once (§5.1).
    explicit_events_pend: bool
    # CPU_ON: TF-A leaves the dispatch stack as it was (§5.8 observation).
    power_on_resets_dispatch_stack: bool
    # Shared explicit events: TF-A forbids them (sdei.rst); spec has no such rule.
    shared_explicit_allowed: bool
    # Bound events must be in the vendor space (DEN0054C 4.4); TF-A does not enforce it.
    bound_events_in_vendor_space: bool
    # The interrupt of a static event nobody registered: spec leaves it to SDEI (IMP DEF,
    # DEN0054C 5.1.2.1); TF-A hands it to EL3 only at REGISTER and back at UNREGISTER
    # (sdei_main.c: REGISTER refuses unless the interrupt is the normal world's).
    static_interrupt_owned_unregistered: bool


SPEC = Rules(
    name="spec",
    resume_refused_status=-2,
    check_alignment=True,
    affinity_checked_for_private=False,
    relative_mode_flag=True,
    bind_secure_status=-2,
    bind_checks_active=True,
    signal_checks_target=False,
    release_checks_all_pes=True,
    power_off_completes_handlers=True,
    resume_pstate_takes_exception=True,
    explicit_events_pend=True,
    power_on_resets_dispatch_stack=True,
    shared_explicit_allowed=True,
    bound_events_in_vendor_space=True,
    static_interrupt_owned_unregistered=True,
)

TFA = Rules(
    name="tfa",
    resume_refused_status=-3,
    check_alignment=False,
    affinity_checked_for_private=True,
    relative_mode_flag=False,
    bind_secure_status=-3,
    bind_checks_active=False,
    signal_checks_target=True,
    release_checks_all_pes=False,
    power_off_completes_handlers=False,
    resume_pstate_takes_exception=False,
    explicit_events_pend=False,
    power_on_resets_dispatch_stack=False,
    shared_explicit_allowed=False,
    bound_events_in_vendor_space=False,
    static_interrupt_owned_unregistered=False,
)


def rules_for(profile: str) -> Rules:
    if profile == "spec":
        return SPEC
    if profile == "tfa":
        return TFA
    raise ValueError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILE_NAMES)}")

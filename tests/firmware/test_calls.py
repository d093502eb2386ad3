"""Each SDEI call's checks in the order of sdei-spec.md §2, the hardware side and power rules.

Profile-dependent expectations come from §7 (spec v1.1 vs TF-A v1.0). Return codes are literal.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdei.abi import Function, Version, is_vendor_event
from sdei.firmware import (
    Dispatcher,
    DispatchError,
    EventDesc,
    FirmwareInterrupts,
    Interrupted,
    MemoryRange,
    Platform,
    PlatformError,
)

from .helpers import (
    ARG,
    CRITICAL_SHARED,
    CRITICAL_SPI,
    DENIED,
    ENABLED,
    ENABLED_RUNNING,
    EP,
    EP2,
    EVENT0,
    INVALID_PARAMETERS,
    MISALIGNED,
    NOT_SUPPORTED,
    OUT_OF_RESOURCE,
    PENDING,
    PPIS,
    PROFILES,
    RAS,
    RAS_SPI,
    REGISTERED,
    REGISTERED_RUNNING,
    RESUME,
    SECURE_ADDRESS,
    SECURE_PPI,
    SPIS,
    SUCCESS,
    UNREGISTER_PENDING,
    UNREGISTERED,
    WATCHDOG,
    Profile,
    Rig,
    by_profile,
    context,
    make_rig,
)

F = Function
BAD_MPIDR = 0x55  # no PE has Aff0 = 0x55 on the 3-PE reference platform


# ================================================================ caller filter and ids (§1)


def test_version(rig: Rig) -> None:
    expected = by_profile(rig.profile, 0x0001_0001_0000_0000, 0x0001_0000_0000_0000)
    assert rig.call(0, F.VERSION) == expected
    assert rig.call(2, F.VERSION, 1, 2, 3, 4, 5, 6, 7) == expected  # extra args ignored


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("client_el", [1, 2])
def test_calls_from_secure_or_the_wrong_el_are_not_supported(
    profile: Profile, client_el: int
) -> None:
    rig = make_rig(profile, client_el=client_el)
    d = rig.d
    for function in (F.VERSION, F.EVENT_REGISTER, F.PE_UNMASK, F.FEATURES):
        assert d.call(0, function, EVENT0, EP, secure=True) == NOT_SUPPORTED
        for el in (0, 1, 2, 3):
            if el != client_el:
                assert d.call(0, function, EVENT0, EP, el=el) == NOT_SUPPORTED
    # Nothing happened.
    assert rig.status(EVENT0) == UNREGISTERED
    assert d.is_masked(0)
    assert d.call(0, F.VERSION, el=client_el) > 0
    assert d.call(0, F.EVENT_REGISTER, EVENT0, EP, el=client_el) == SUCCESS


@pytest.mark.parametrize(
    "fid",
    [
        *range(0x8400_0020, 0x8400_0033),  # SMC32 variants do not exist
        *range(0xC400_0033, 0xC400_0040),  # routed to SDEI, answered SMC_UNK
        0,
        0xC400_0000,
        0xC400_001F,
        0xC400_0040,
        0x8400_0000,
        0xFFFF_FFFF,
        -1,
    ],
)
def test_unknown_function_ids(rig: Rig, fid: int) -> None:
    assert rig.call(0, fid, EVENT0, EP, 0, 0, 0) == NOT_SUPPORTED
    assert rig.status(EVENT0) == UNREGISTERED


def test_function_id_is_w0(rig: Rig) -> None:
    """SMCCC: the function id is the low 32 bits of x0."""
    assert rig.call(0, (1 << 32) | F.VERSION) == rig.call(0, F.VERSION)


REGS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**63, 2**64 - 1, 2**64, -(2**63), 0x8000_0000, 0xC400_0020]),
)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.one_of(st.sampled_from(list(F)), REGS),
            st.lists(REGS, max_size=7),
        ),
        max_size=12,
    )
)
def test_any_register_values_never_raise(
    profile: Profile, calls: list[tuple[int, int, list[int]]]
) -> None:
    d = make_rig(profile).d
    errors = {0, -1, -2, -3, -5, -10}
    for pe, function, args in calls:
        result = d.call(pe, function, *args)
        assert isinstance(result, int)
        assert -(2**63) <= result < 2**63
        if function not in (F.EVENT_CONTEXT, F.VERSION, F.INTERRUPT_BIND) and result < 0:
            assert result in errors, (hex(function), args, result)


# ================================================================ EVENT_REGISTER (§2.2)


@pytest.mark.parametrize("ep", [0, SECURE_ADDRESS, 0x7FFF_FFFC, 0x1_0000_0000, -4, 2**64 - 4])
def test_register_entry_point_outside_nonsecure_memory(rig: Rig, ep: int) -> None:
    assert rig.register(EVENT0, ep=ep) == INVALID_PARAMETERS
    assert rig.register(RAS, ep=ep) == INVALID_PARAMETERS
    assert rig.status(EVENT0) == UNREGISTERED


def test_register_entry_point_is_a_register_value(rig: Rig) -> None:
    assert rig.register(EVENT0, ep=EP + 2**64) == SUCCESS
    assert rig.d.registration(EVENT0, 0)[0] == EP


def test_register_misaligned_entry_point(rig: Rig) -> None:
    # spec: the dispatcher can tell an unaligned address is invalid; TF-A does not check.
    assert rig.register(EVENT0, ep=MISALIGNED) == by_profile(rig.profile, INVALID_PARAMETERS, 0)


@pytest.mark.parametrize("flags", [2, 3, 4, 1 << 63, -1, 2**64 + 4])
def test_register_reserved_flags(rig: Rig, flags: int) -> None:
    # Relative mode (bit1) is off on the reference platform; TF-A takes only 0/1 anyway.
    assert rig.register(EVENT0, flags=flags) == INVALID_PARAMETERS
    assert rig.register(RAS, flags=flags, affinity=rig.mpidr(0)) == INVALID_PARAMETERS


def test_register_rm_pe_affinity_for_a_private_event(rig: Rig) -> None:
    # TF-A validates the affinity even for a private event; spec ignores routing there.
    assert rig.register(EVENT0, flags=1, affinity=BAD_MPIDR) == by_profile(
        rig.profile, SUCCESS, INVALID_PARAMETERS
    )
    assert rig.register(EVENT0, pe=1, flags=1, affinity=rig.mpidr(2)) == SUCCESS
    assert rig.register(EVENT0, pe=2, flags=0, affinity=BAD_MPIDR) == SUCCESS


@pytest.mark.parametrize("affinity", [BAD_MPIDR, 1 << 40, 1 << 24 | 1, -1, 0x100])
def test_register_rm_pe_affinity_for_a_shared_event(rig: Rig, affinity: int) -> None:
    assert rig.register(RAS, flags=1, affinity=affinity) == INVALID_PARAMETERS
    assert rig.status(RAS) == UNREGISTERED
    assert rig.register(RAS, flags=0, affinity=affinity) == SUCCESS  # RM_ANY: ignored


def test_register_rm_pe_stores_routing(rig: Rig) -> None:
    assert rig.register(RAS, pe=0, flags=1, affinity=rig.mpidr(2)) == SUCCESS
    assert rig.get_info(RAS, 3) == 1
    assert rig.get_info(RAS, 4, pe=1) == rig.mpidr(2)
    assert rig.d.registration(RAS) == (EP, ARG, 1, rig.mpidr(2))


@pytest.mark.parametrize("event", [5, 0x4000_0002, 0x0100_0000, 0x8000_0000, -1, 0x7FFF_FFFF])
def test_register_unknown_event(rig: Rig, event: int) -> None:
    assert rig.register(event) == INVALID_PARAMETERS


def test_register_event_number_is_the_low_32_bits(rig: Rig) -> None:
    assert rig.register((7 << 32) | RAS) == SUCCESS
    assert rig.status(RAS) == REGISTERED


def test_register_twice_is_denied(rig: Rig) -> None:
    assert rig.register(EVENT0) == SUCCESS
    assert rig.register(EVENT0, ep=EP2) == DENIED
    assert rig.d.registration(EVENT0, 0)[0] == EP
    assert rig.register(RAS) == SUCCESS
    assert rig.register(RAS, pe=1) == DENIED  # shared: registered for every PE


def test_register_argument_checks_come_before_the_state_check(rig: Rig) -> None:
    assert rig.register(EVENT0) == SUCCESS
    assert rig.register(EVENT0, ep=0) == INVALID_PARAMETERS  # not DENIED
    assert rig.register(EVENT0, flags=4) == INVALID_PARAMETERS
    slot = rig.bind(PPIS[0])
    rig.release(slot)
    assert rig.register(slot, ep=0) == INVALID_PARAMETERS  # unbound slot, bad ep


def test_register_is_per_pe_for_private_and_global_for_shared(rig: Rig) -> None:
    assert rig.register(EVENT0, pe=1) == SUCCESS
    assert [rig.status(EVENT0, pe) for pe in range(3)] == [0, 1, 0]
    assert rig.register(RAS, pe=1) == SUCCESS
    assert [rig.status(RAS, pe) for pe in range(3)] == [1, 1, 1]


def test_register_unbound_slot_is_denied(rig: Rig) -> None:
    private_slot = next(e.number for e in rig.platform.events if e.dynamic and not e.shared)
    shared_slot = next(e.number for e in rig.platform.events if e.dynamic and e.shared)
    assert rig.register(private_slot) == DENIED
    assert rig.register(shared_slot) == DENIED


@pytest.mark.parametrize("intid", [PPIS[0], SPIS[0]])
def test_register_while_the_bound_interrupt_is_active_is_denied(rig: Rig, intid: int) -> None:
    event = rig.bind(intid)
    assert event >= 0
    rig.port.active.add((intid, 0 if intid < 32 else -1))
    assert rig.register(event, pe=0) == DENIED
    if intid < 32:  # a PPI is banked: only PE 0's copy is active
        assert rig.register(event, pe=1) == SUCCESS
    rig.port.active.clear()
    assert rig.register(event, pe=0) == SUCCESS


def test_register_takes_the_bound_interrupt_for_el3(rig: Rig) -> None:
    event = rig.bind(SPIS[1])
    assert rig.port.is_nonsecure(SPIS[1], 0)
    assert rig.register(event, flags=1, affinity=rig.mpidr(1)) == SUCCESS
    assert not rig.port.is_nonsecure(SPIS[1], 0)
    assert rig.port.routes[SPIS[1]] == rig.mpidr(1)
    assert rig.unregister(event) == SUCCESS
    assert rig.port.is_nonsecure(SPIS[1], 0)  # given back at UNREGISTER (§6 ownership)


# ================================================================ ENABLE / DISABLE (§2.3-2.4)


@pytest.mark.parametrize("function", [F.EVENT_ENABLE, F.EVENT_DISABLE])
def test_enable_disable_checks(rig: Rig, function: F) -> None:
    assert rig.call(0, function, 0x4000_0002) == INVALID_PARAMETERS
    assert rig.call(0, function, EVENT0) == DENIED
    assert rig.register(EVENT0) == SUCCESS
    assert rig.call(0, function, EVENT0) == SUCCESS
    assert rig.call(0, function, EVENT0) == SUCCESS  # idempotent
    assert rig.call(1, function, EVENT0) == DENIED  # private: PE 1 has not registered


def test_enable_disable_shared_from_any_pe(rig: Rig) -> None:
    assert rig.register(RAS, pe=0) == SUCCESS
    assert rig.enable(RAS, pe=2) == SUCCESS
    assert rig.status(RAS, pe=1) == ENABLED
    assert rig.disable(RAS, pe=1) == SUCCESS
    assert rig.status(RAS, pe=0) == REGISTERED


# ================================================================ EVENT_CONTEXT (§2.5)


@pytest.mark.parametrize("param", [18, 100, 0x100, 2**31, -1])
def test_context_bad_param_is_invalid_even_outside_a_handler(rig: Rig, param: int) -> None:
    assert rig.call(0, F.EVENT_CONTEXT, param) == INVALID_PARAMETERS


def test_context_outside_a_handler_is_denied(rig: Rig) -> None:
    for param in (0, 17):
        assert rig.call(0, F.EVENT_CONTEXT, param) == DENIED


def test_context_reads_the_saved_registers(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    x = (2**64 - 1, 2**63, 5, *range(100, 115))
    rig.run(EVENT0, 0, Interrupted(0x1234, 0x5, x))
    assert rig.call(0, F.EVENT_CONTEXT, 0) == -1  # signed int64 in x0
    assert rig.call(0, F.EVENT_CONTEXT, 1) == -(2**63)
    for i in range(2, 18):
        assert rig.call(0, F.EVENT_CONTEXT, i) == x[i]
    assert rig.call(0, F.EVENT_CONTEXT, 18) == INVALID_PARAMETERS
    assert rig.call(0, F.EVENT_CONTEXT, (1 << 32) | 4) == x[4]  # uint32 param_id
    assert rig.call(1, F.EVENT_CONTEXT, 0) == DENIED  # only on the PE running the handler


def test_context_pads_a_short_register_file_with_zeros(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0, 0, Interrupted(0x1234, 0x5, (9, 8)))
    assert [rig.call(0, F.EVENT_CONTEXT, i) for i in range(4)] == [9, 8, 0, 0]
    assert rig.finish(0).x == (9, 8) + (0,) * 16


# ================================================================ COMPLETE / C&R (§2.6-2.7)


def test_complete_outside_a_handler(rig: Rig) -> None:
    assert rig.complete(0) == DENIED
    assert rig.complete(0, 1) == DENIED
    assert rig.d.pop_exit(0) is None
    assert rig.complete_and_resume(0, RESUME) == DENIED
    assert rig.complete_and_resume(0, SECURE_ADDRESS) == DENIED  # no handler: -3 comes first


def test_complete_only_on_the_pe_that_runs_the_handler(rig: Rig) -> None:
    assert rig.register(RAS) == SUCCESS
    assert rig.enable(RAS) == SUCCESS
    rig.unmask(1)
    rig.run(RAS, 1)
    assert rig.complete(0) == DENIED
    assert rig.complete_and_resume(2) == DENIED
    assert rig.status(RAS) == ENABLED_RUNNING
    assert rig.d.runner(RAS) == 1
    assert rig.finish(1).event == RAS
    assert rig.d.runner(RAS) is None


def test_complete_restores_the_interrupted_context(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    ctx = context(pc=0x4000_1230, pstate=0x8000_03C4, seed=3)
    rig.run(EVENT0, 0, ctx)
    assert rig.complete(0, 0) == SUCCESS
    exit_ = rig.d.pop_exit(0)
    assert exit_ is not None
    assert (exit_.kind, exit_.event, exit_.pc, exit_.pstate) == ("complete", 0, ctx.pc, ctx.pstate)
    assert exit_.x == ctx.x
    assert (exit_.elr, exit_.spsr) == (None, None)
    assert rig.d.pop_exit(0) is None  # popped once
    assert rig.status(EVENT0) == ENABLED


def test_complete_with_ev_failed(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0, 0)
    exit_ = rig.finish(0, status=1)
    assert exit_.status == 1
    assert rig.d.failed_completions == [(0, EVENT0)]


@pytest.mark.parametrize(
    ("address", "spec", "tfa"),
    [
        (MISALIGNED, INVALID_PARAMETERS, SUCCESS),  # TF-A: no alignment check
        (RESUME + 1, INVALID_PARAMETERS, SUCCESS),
        (SECURE_ADDRESS, INVALID_PARAMETERS, DENIED),
        (0, INVALID_PARAMETERS, DENIED),
        (2**64 - 4, INVALID_PARAMETERS, DENIED),
        (RESUME, SUCCESS, SUCCESS),
        (RESUME + 2**64, SUCCESS, SUCCESS),
    ],
)
def test_complete_and_resume_address(rig: Rig, address: int, spec: int, tfa: int) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0, 0)
    expected = by_profile(rig.profile, spec, tfa)
    assert rig.complete_and_resume(0, address) == expected
    if expected == SUCCESS:
        assert rig.status(EVENT0) == ENABLED
        exit_ = rig.d.pop_exit(0)
        assert exit_ is not None and exit_.pc == address % 2**64
    else:  # the handler is still running and can still complete
        assert rig.status(EVENT0) == ENABLED_RUNNING
        assert rig.d.pop_exit(0) is None
        assert rig.finish(0).event == EVENT0


# ================================================================ UNREGISTER (§2.8, §5.5)


def test_unregister_checks(rig: Rig) -> None:
    assert rig.unregister(0x4000_0002) == INVALID_PARAMETERS
    assert rig.unregister(EVENT0) == DENIED
    assert rig.register(EVENT0) == SUCCESS
    assert rig.unregister(EVENT0) == SUCCESS
    assert rig.status(EVENT0) == UNREGISTERED
    assert rig.d.registration(EVENT0, 0)[:2] == (0, 0)
    assert rig.register(EVENT0, ep=EP2) == SUCCESS  # a new handler after unregistering


def test_unregister_while_running(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0, 0)
    assert rig.unregister(EVENT0) == PENDING
    assert rig.status(EVENT0) == UNREGISTER_PENDING
    assert rig.unregister(EVENT0) == PENDING
    assert rig.status(EVENT0) == UNREGISTER_PENDING
    for function in (F.EVENT_REGISTER, F.EVENT_ENABLE, F.EVENT_DISABLE):
        assert rig.call(0, function, EVENT0, EP) == DENIED
    assert rig.call(0, F.EVENT_CONTEXT, 5) == 0x1005  # still works
    assert rig.get_info(EVENT0, 0) == 0
    assert rig.finish(0).event == EVENT0
    assert rig.status(EVENT0) == UNREGISTERED
    assert rig.unregister(EVENT0) == DENIED


def test_unregister_shared_while_running_elsewhere(rig: Rig) -> None:
    assert rig.register(RAS) == SUCCESS
    assert rig.enable(RAS) == SUCCESS
    rig.unmask(2)
    rig.run(RAS, 2)
    assert rig.unregister(RAS, pe=0) == PENDING
    assert rig.status(RAS, pe=1) == UNREGISTER_PENDING
    assert rig.get_info(RAS, 3) == DENIED  # not registered any more
    assert rig.complete(0) == DENIED
    assert rig.finish(2).event == RAS
    assert rig.status(RAS) == UNREGISTERED
    # No further delivery: a retrigger of an unregistered static event is dropped (spec) or
    # the client's own interrupt again (tfa: UNREGISTER gave it back).
    assert rig.d.interrupt_asserted(RAS_SPI, 0) is (rig.d.platform.profile == "spec")
    assert not rig.d.pending(RAS)


# ================================================================ EVENT_STATUS / GET_INFO


def test_status_unknown_event(rig: Rig) -> None:
    for event in (1, 0x4000_0002, -1, 0x8000_0000):
        assert rig.status(event) == INVALID_PARAMETERS


@pytest.mark.parametrize(
    ("event", "info"),
    [
        (EVENT0, (0, 0, 0)),  # private, CAN be signalled (0), normal
        (WATCHDOG, (0, 1, 1)),
        (RAS, (1, 1, 0)),
        (CRITICAL_SHARED, (1, 1, 1)),
    ],
)
def test_get_info_static(rig: Rig, event: int, info: tuple[int, int, int]) -> None:
    assert tuple(rig.get_info(event, i) for i in range(3)) == info
    assert rig.get_info(event, 5) == INVALID_PARAMETERS
    assert rig.get_info(event, -1) == INVALID_PARAMETERS
    assert rig.get_info(event, 2**32) == info[0]  # uint32 info


def test_get_info_routing_on_a_private_event(rig: Rig) -> None:
    assert rig.register(EVENT0) == SUCCESS
    assert rig.get_info(EVENT0, 3) == INVALID_PARAMETERS
    assert rig.get_info(EVENT0, 4) == INVALID_PARAMETERS
    assert rig.get_info(WATCHDOG, 3) == INVALID_PARAMETERS  # not registered: -2 comes first


def test_get_info_routing_on_a_shared_event(rig: Rig) -> None:
    assert rig.get_info(RAS, 3) == DENIED
    assert rig.get_info(RAS, 4) == DENIED
    assert rig.register(RAS) == SUCCESS
    assert rig.get_info(RAS, 3) == 0
    assert rig.get_info(RAS, 4) == INVALID_PARAMETERS  # RM_ANY has no affinity


def test_get_info_unknown_event(rig: Rig) -> None:
    assert rig.get_info(0x4000_0002, 0) == INVALID_PARAMETERS
    assert rig.get_info(0x4000_0002, 9) == INVALID_PARAMETERS


def test_get_info_of_bound_events(rig: Rig) -> None:
    private = rig.bind(PPIS[0])
    shared = rig.bind(SPIS[0])
    assert [rig.get_info(private, i) for i in range(3)] == [0, 1, 0]
    assert [rig.get_info(shared, i) for i in range(3)] == [1, 1, 0]  # bound = normal


# ================================================================ ROUTING_SET (§2.11)


def test_routing_set_only_in_registered_disabled(rig: Rig) -> None:
    aff = rig.mpidr(1)
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 1, aff) == DENIED  # unregistered
    assert rig.register(RAS) == SUCCESS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 1, aff) == SUCCESS
    assert (rig.get_info(RAS, 3), rig.get_info(RAS, 4)) == (1, aff)
    assert rig.enable(RAS) == SUCCESS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 0, 0) == DENIED  # enabled
    assert rig.disable(RAS) == SUCCESS
    assert rig.call(2, F.EVENT_ROUTING_SET, RAS, 0, 0) == SUCCESS
    assert (rig.get_info(RAS, 3), rig.get_info(RAS, 4)) == (0, INVALID_PARAMETERS)


def test_routing_set_argument_checks(rig: Rig) -> None:
    assert rig.register(RAS) == SUCCESS
    assert rig.register(EVENT0) == SUCCESS
    aff = rig.mpidr(1)
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 2, aff) == INVALID_PARAMETERS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, -1, aff) == INVALID_PARAMETERS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 1, BAD_MPIDR) == INVALID_PARAMETERS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 1, aff | 1 << 40) == INVALID_PARAMETERS
    assert rig.call(0, F.EVENT_ROUTING_SET, EVENT0, 0, 0) == INVALID_PARAMETERS  # private
    assert rig.call(0, F.EVENT_ROUTING_SET, 0x4000_0002, 0, 0) == INVALID_PARAMETERS
    shared_slot = next(e.number for e in rig.platform.events if e.dynamic and e.shared)
    assert rig.call(0, F.EVENT_ROUTING_SET, shared_slot, 0, 0) == INVALID_PARAMETERS  # unbound
    assert rig.get_info(RAS, 3) == 0  # nothing changed
    # Argument checks come before the state check.
    assert rig.enable(RAS) == SUCCESS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 2, 0) == INVALID_PARAMETERS


def test_rm_pe_shared_event_goes_only_to_its_pe(rig: Rig) -> None:
    for pe in range(3):
        rig.unmask(pe)
    rig.enable_and_unmask(RAS, flags=1, affinity=rig.mpidr(1))
    assert rig.d.interrupt_asserted(RAS_SPI, 0) is True
    assert rig.d.targets(RAS) == (1,)
    assert rig.d.deliverable(0) == ()
    assert rig.d.deliverable(1) == (RAS,)
    with pytest.raises(DispatchError):
        rig.d.dispatch(0, RAS, context())
    rig.mask(1)
    assert rig.d.targets(RAS) == ()  # stays pending for its PE
    assert rig.d.pending(RAS)
    rig.unmask(1)
    assert rig.d.dispatch(1, RAS, context()) is not None
    assert rig.finish(1).event == RAS
    # Re-route to RM_ANY: any unmasked online PE.
    assert rig.disable(RAS) == SUCCESS
    assert rig.call(0, F.EVENT_ROUTING_SET, RAS, 0, 0) == SUCCESS
    assert rig.enable(RAS) == SUCCESS
    rig.d.interrupt_asserted(RAS_SPI, 0)
    assert rig.d.targets(RAS) == (0, 1, 2)
    rig.mask(2)
    assert rig.d.targets(RAS) == (0, 1)
    rig.d.power_off(1)
    assert rig.d.targets(RAS) == (0,)


# ================================================================ PE_MASK / PE_UNMASK (§2.12-2.13)


def test_mask_and_unmask(rig: Rig) -> None:
    assert all(rig.d.is_masked(pe) for pe in range(3))  # every PE starts masked
    assert rig.mask(0) == 0
    assert rig.unmask(0) == 0
    assert not rig.d.is_masked(0)
    assert rig.d.is_masked(1)
    assert rig.unmask(0) == 0  # always 0
    assert rig.mask(0) == 1
    assert rig.mask(0) == 0
    assert rig.d.is_masked(0)


def test_mask_inside_a_handler(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0)
    assert rig.mask(0) == 1
    assert rig.unmask(0) == 0


# ================================================================ INTERRUPT_BIND (§2.14)


def test_bind_slot_exhaustion(rig: Rig) -> None:
    private_slots = {e.number for e in rig.platform.events if e.dynamic and not e.shared}
    shared_slots = {e.number for e in rig.platform.events if e.dynamic and e.shared}
    got_private = {rig.bind(i) for i in PPIS[:3]}
    got_shared = {rig.bind(i, pe=1) for i in SPIS[:3]}
    assert got_private == private_slots
    assert got_shared == shared_slots
    assert rig.bind(PPIS[3]) == OUT_OF_RESOURCE
    assert rig.bind(SPIS[3]) == OUT_OF_RESOURCE
    # -10 before the ownership check (TF-A order)
    assert rig.bind(SECURE_PPI) == OUT_OF_RESOURCE


def test_bound_event_numbers(rig: Rig) -> None:
    private = rig.bind(PPIS[0])
    shared = rig.bind(SPIS[0])
    if rig.profile == "spec":  # DEN0054C 4.4: all bound events in the vendor space
        assert is_vendor_event(private) and is_vendor_event(shared)
    else:  # TF-A's Arm platforms: 1000+ and 2000+
        assert (private, shared) == (1000, 2000)
    assert rig.d.bound_interrupt(private) == PPIS[0]
    assert rig.d.bound_interrupt(shared) == SPIS[0]


def test_rebinding_returns_the_same_number(rig: Rig) -> None:
    first = rig.bind(PPIS[0])
    assert rig.bind(PPIS[0], pe=2) == first
    assert rig.bind(PPIS[0] + (1 << 32)) == first  # uint32 interrupt
    second = rig.bind(PPIS[1])
    assert second != first
    assert rig.call(0, F.FEATURES, 0) == 0x0003_0003  # totals, not free slots
    assert rig.bind(PPIS[2]) >= 0
    assert rig.bind(PPIS[0]) == first  # still answered when no slot is free


@pytest.mark.parametrize("intid", [*range(16), 288, 1019, 1020, 2**32 - 1, -1])
def test_bind_invalid_interrupt(rig: Rig, intid: int) -> None:
    assert rig.bind(intid) == INVALID_PARAMETERS


@pytest.mark.parametrize("intid", [RAS_SPI, CRITICAL_SPI])
def test_bind_a_static_events_interrupt(rig: Rig, intid: int) -> None:
    assert rig.bind(intid) == INVALID_PARAMETERS


def test_bind_a_secure_interrupt(rig: Rig) -> None:
    assert rig.bind(SECURE_PPI) == by_profile(rig.profile, INVALID_PARAMETERS, DENIED)


@pytest.mark.parametrize("intid", [PPIS[0], SPIS[0]])
def test_bind_an_active_interrupt(rig: Rig, intid: int) -> None:
    rig.port.active.add((intid, 0 if intid < 32 else -1))
    if rig.profile == "spec":
        assert rig.bind(intid) == DENIED
    else:  # TF-A checks only at REGISTER
        event = rig.bind(intid)
        assert event >= 0
        assert rig.register(event) == DENIED


# ================================================================ INTERRUPT_RELEASE (§2.15)


def test_release_checks(rig: Rig) -> None:
    assert rig.release(0x4000_0002) == INVALID_PARAMETERS
    assert rig.release(EVENT0) == INVALID_PARAMETERS
    assert rig.release(RAS) == INVALID_PARAMETERS
    assert rig.release(WATCHDOG) == INVALID_PARAMETERS
    slot = next(e.number for e in rig.platform.events if e.dynamic)
    assert rig.release(slot) == INVALID_PARAMETERS  # not bound


def test_release_needs_every_pe_unregistered(rig: Rig) -> None:
    event = rig.bind(PPIS[0])
    assert rig.register(event, pe=1) == SUCCESS
    assert rig.release(event, pe=0) == DENIED
    assert rig.release(event, pe=1) == DENIED
    assert rig.unregister(event, pe=1) == SUCCESS
    assert rig.release(event, pe=0) == SUCCESS
    assert rig.d.bound_interrupt(event) is None
    assert rig.release(event) == INVALID_PARAMETERS
    assert rig.register(event, pe=1) == DENIED  # unbound again


def test_release_shared_registered_is_denied(rig: Rig) -> None:
    event = rig.bind(SPIS[0])
    assert rig.register(event) == SUCCESS
    assert rig.release(event, pe=2) == DENIED


def test_release_with_unregister_pending_on_another_pe(rig: Rig) -> None:
    event = rig.bind(PPIS[0])
    rig.enable_and_unmask(event, pe=1)
    rig.run(event, 1)
    assert rig.unregister(event, pe=1) == PENDING
    # spec: every PE must have completed its pending unregister; TF-A: the count is 0 and
    # the calling PE is unregistered.
    assert rig.release(event, pe=0) == by_profile(rig.profile, DENIED, SUCCESS)
    assert rig.release(event, pe=1) == DENIED  # the calling PE itself is pending (both)
    assert rig.finish(1).event == event
    assert rig.status(event, 1) == UNREGISTERED


def test_release_of_an_active_interrupt(rig: Rig) -> None:
    event = rig.bind(SPIS[0])
    rig.port.active.add((SPIS[0], -1))
    assert rig.release(event) == DENIED
    rig.port.active.clear()
    assert rig.release(event) == SUCCESS


def test_after_release_the_slot_can_be_bound_again(rig: Rig) -> None:
    events = [rig.bind(i) for i in PPIS[:3]]
    assert rig.bind(PPIS[3]) == OUT_OF_RESOURCE
    assert rig.release(events[1]) == SUCCESS
    again = rig.bind(PPIS[3])
    assert again >= 0
    assert rig.d.bound_interrupt(again) == PPIS[3]
    assert rig.release(again) == SUCCESS
    assert rig.bind(PPIS[1]) >= 0  # the released interrupt can be bound again too


# ================================================================ EVENT_SIGNAL (§2.16)


def test_signal_argument_checks(rig: Rig) -> None:
    for event in (1, WATCHDOG, RAS, -1, 0x8000_0000):
        assert rig.call(0, F.EVENT_SIGNAL, event, rig.mpidr(1)) == INVALID_PARAMETERS
    for target in (BAD_MPIDR, 1 << 40, rig.mpidr(1) | 1 << 24, -1):
        assert rig.call(0, F.EVENT_SIGNAL, 0, target) == INVALID_PARAMETERS
    assert not any(rig.d.pending(EVENT0, pe) for pe in range(3))


def test_signal_to_a_ready_target(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0, pe=1)
    assert rig.call(0, F.EVENT_SIGNAL, 0, rig.mpidr(1)) == SUCCESS
    assert rig.d.pending(EVENT0, 1)
    assert not rig.d.pending(EVENT0, 0)
    assert rig.d.deliverable(1) == (EVENT0,)
    assert rig.d.deliverable(0) == ()


def test_signal_self(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0, pe=2)
    assert rig.call(2, F.EVENT_SIGNAL, 0, rig.mpidr(2)) == SUCCESS
    assert rig.d.deliverable(2) == (EVENT0,)


@pytest.mark.parametrize("setup", ["unregistered", "disabled", "masked"])
def test_signal_to_a_target_that_cannot_take_it(rig: Rig, setup: str) -> None:
    if setup != "unregistered":
        assert rig.register(EVENT0, pe=1) == SUCCESS
    if setup == "masked":
        assert rig.enable(EVENT0, pe=1) == SUCCESS
    elif setup == "disabled":
        rig.unmask(1)
    result = rig.call(0, F.EVENT_SIGNAL, 0, rig.mpidr(1))
    # spec: SUCCESS, the event is pending; TF-A (since 2024): INVALID_PARAMETERS.
    assert result == by_profile(rig.profile, SUCCESS, INVALID_PARAMETERS)
    assert rig.d.pending(EVENT0, 1) == (rig.profile == "spec")
    assert rig.d.deliverable(1) == ()
    if rig.profile == "spec":  # delivered once the target is ready
        if setup == "unregistered":
            assert rig.register(EVENT0, pe=1) == SUCCESS
        assert rig.enable(EVENT0, pe=1) == SUCCESS
        rig.unmask(1)
        assert rig.d.deliverable(1) == (EVENT0,)


# ================================================================ FEATURES (§2.17)


def test_features(rig: Rig) -> None:
    assert rig.call(0, F.FEATURES, 0) == 0x0003_0003
    # v1.1 RELATIVE_MODE: not supported on the reference platform; TF-A does not know it.
    assert rig.call(0, F.FEATURES, 1) == by_profile(rig.profile, 0, INVALID_PARAMETERS)
    for feature in (2, 3, 0xFFFF, -1):
        assert rig.call(0, F.FEATURES, feature) == INVALID_PARAMETERS


def test_relative_mode_platform() -> None:
    platform = dataclasses.replace(Platform.reference(pes=2), relative_mode=True)
    d = Dispatcher(platform)
    assert d.call(0, F.FEATURES, 1) == 1
    # Relative entry point: an offset from VBAR_ELC, resolved at dispatch.
    assert d.call(0, F.EVENT_REGISTER, EVENT0, 0x200, 0, 2, 0) == SUCCESS
    assert d.call(0, F.EVENT_ENABLE, EVENT0) == SUCCESS
    d.call(0, F.PE_UNMASK)
    d.interrupt_asserted(8, 0)
    entry = d.dispatch(0, EVENT0, Interrupted(0x10, 0x5, (), vbar=0x8000_0000))
    assert entry is not None and entry.pc == 0x8000_0200
    assert d.call(0, F.EVENT_COMPLETE) == SUCCESS
    d.interrupt_asserted(8, 0)
    assert d.dispatch(0, EVENT0, Interrupted(0x10, 0x5, (), vbar=0x100)) is None
    assert d.refused_entries == [(0, EVENT0, 0x300)]
    assert d.call(0, F.EVENT_REGISTER, RAS, EP, 0, 4, 0) == INVALID_PARAMETERS


# ================================================================ resets (§2.18-2.19)


def test_private_reset_without_running_handlers(rig: Rig) -> None:
    bound = rig.bind(PPIS[0])
    for pe in (0, 1):
        rig.enable_and_unmask(EVENT0, pe=pe)
        assert rig.register(bound, pe=pe) == SUCCESS
    assert rig.register(RAS) == SUCCESS
    assert rig.call(0, F.PRIVATE_RESET) == SUCCESS
    assert (rig.status(EVENT0, 0), rig.status(bound, 0)) == (0, 0)
    assert (rig.status(EVENT0, 1), rig.status(bound, 1)) == (3, 1)  # other PE untouched
    assert rig.status(RAS) == REGISTERED  # shared untouched
    assert rig.call(0, F.PRIVATE_RESET) == SUCCESS  # nothing to do: still SUCCESS


def test_private_reset_with_a_running_handler(rig: Rig) -> None:
    bound = rig.bind(PPIS[0])
    rig.enable_and_unmask(EVENT0)
    assert rig.register(bound) == SUCCESS
    rig.run(EVENT0)
    assert rig.call(0, F.PRIVATE_RESET) == DENIED
    assert rig.status(EVENT0) == UNREGISTER_PENDING
    assert rig.status(bound) == UNREGISTERED
    rig.finish(0)
    assert rig.status(EVENT0) == UNREGISTERED


def test_shared_reset_without_running_handlers(rig: Rig) -> None:
    private = rig.bind(PPIS[0])
    shared = rig.bind(SPIS[0])
    assert rig.register(shared) == SUCCESS
    assert rig.register(RAS) == SUCCESS
    assert rig.enable(RAS) == SUCCESS
    assert rig.register(EVENT0, pe=1) == SUCCESS
    assert rig.call(2, F.SHARED_RESET) == SUCCESS
    assert (rig.status(RAS), rig.status(shared)) == (0, 0)
    assert rig.d.bound_interrupt(private) is None
    assert rig.d.bound_interrupt(shared) is None
    assert rig.status(EVENT0, 1) == REGISTERED  # private events untouched
    assert rig.bind(SPIS[1]) >= 0  # slots are free again


def test_shared_reset_with_a_running_shared_handler(rig: Rig) -> None:
    shared = rig.bind(SPIS[0])
    private = rig.bind(PPIS[0])
    assert rig.register(shared) == SUCCESS
    rig.enable_and_unmask(RAS, pe=1)
    rig.run(RAS, 1)
    assert rig.call(0, F.SHARED_RESET) == DENIED
    assert rig.status(RAS) == UNREGISTER_PENDING
    assert rig.status(shared) == UNREGISTERED  # the others are unregistered
    assert rig.d.bound_interrupt(shared) == SPIS[0]  # but no binding is released
    assert rig.d.bound_interrupt(private) == PPIS[0]
    rig.finish(1)
    assert rig.call(0, F.SHARED_RESET) == SUCCESS
    assert rig.d.bound_interrupt(shared) is None


def test_shared_reset_with_a_registered_private_bound_event(rig: Rig) -> None:
    private = rig.bind(PPIS[0])
    shared = rig.bind(SPIS[0])
    assert rig.register(private, pe=1) == SUCCESS
    assert rig.register(RAS) == SUCCESS
    assert rig.call(0, F.SHARED_RESET) == DENIED
    assert rig.status(RAS) == UNREGISTERED
    assert rig.d.bound_interrupt(private) == PPIS[0]
    assert rig.d.bound_interrupt(shared) is None  # released: nothing held it
    assert rig.status(private, 1) == REGISTERED


# ================================================================ nesting (§5.1)


def test_critical_preempts_a_running_normal_handler(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.enable_and_unmask(WATCHDOG)
    outer = context(pc=0x1000, pstate=0x5, seed=1)
    inner = context(pc=0x2000, pstate=0x3C5, seed=2)
    rig.run(EVENT0, 0, outer)
    assert rig.d.raise_event(WATCHDOG, 0) is True
    assert rig.d.deliverable(0) == (WATCHDOG,)
    entry = rig.d.dispatch(0, WATCHDOG, inner)
    assert entry is not None and entry.critical
    assert rig.d.running(0) == (EVENT0, WATCHDOG)
    assert rig.call(0, F.EVENT_CONTEXT, 7) == inner.x[7]  # the top record
    first = rig.finish(0)
    assert (first.event, first.pc, first.pstate, first.x) == (WATCHDOG, 0x2000, 0x3C5, inner.x)
    assert rig.d.running(0) == (EVENT0,)
    assert rig.call(0, F.EVENT_CONTEXT, 7) == outer.x[7]
    second = rig.finish(0)
    assert (second.event, second.pc, second.pstate, second.x) == (EVENT0, 0x1000, 0x5, outer.x)
    assert rig.d.running(0) == ()


def test_normal_does_not_preempt_critical(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.enable_and_unmask(WATCHDOG)
    rig.run(WATCHDOG)
    rig.trigger(EVENT0, 0)
    assert rig.d.pending(EVENT0, 0)
    assert rig.d.deliverable(0) == ()
    with pytest.raises(DispatchError):
        rig.d.dispatch(0, EVENT0, context())
    rig.finish(0)
    assert rig.d.deliverable(0) == (EVENT0,)


def test_no_same_class_nesting(rig: Rig) -> None:
    bound = rig.bind(PPIS[0])
    rig.enable_and_unmask(EVENT0)
    rig.enable_and_unmask(bound)
    rig.run(EVENT0)
    rig.trigger(bound, 0)
    assert rig.d.deliverable(0) == ()  # normal on normal
    # critical on critical: a critical shared event does not start on top of the watchdog,
    # but may go to another PE.
    rig.enable_and_unmask(WATCHDOG)
    rig.run(WATCHDOG)
    rig.enable_and_unmask(CRITICAL_SHARED)
    rig.d.interrupt_asserted(CRITICAL_SPI, 0)
    assert rig.d.deliverable(0) == ()
    assert rig.d.targets(CRITICAL_SHARED) == ()
    rig.unmask(1)
    assert rig.d.targets(CRITICAL_SHARED) == (1,)
    rig.finish(0)
    rig.finish(0)
    assert set(rig.d.deliverable(0)) == {CRITICAL_SHARED}  # critical first
    rig.unmask(0)
    assert rig.d.dispatch(0, CRITICAL_SHARED, context()) is not None
    rig.finish(0)
    assert set(rig.d.deliverable(0)) == {bound}


def test_critical_first_among_pending(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    assert rig.register(WATCHDOG) == SUCCESS
    assert rig.enable(WATCHDOG) == SUCCESS
    rig.mask(0)
    rig.trigger(EVENT0, 0)
    rig.d.raise_event(WATCHDOG, 0)
    assert rig.d.deliverable(0) == ()
    rig.unmask(0)
    if rig.profile == "spec":  # firmware-raised events pend in spec only
        assert rig.d.deliverable(0) == (WATCHDOG,)
    else:
        assert rig.d.deliverable(0) == (EVENT0,)


# ================================================================ pending semantics (§5.7)


def test_trigger_while_masked_is_delivered_at_unmask(rig: Rig) -> None:
    assert rig.register(EVENT0) == SUCCESS
    assert rig.enable(EVENT0) == SUCCESS
    rig.trigger(EVENT0, 0)
    assert rig.d.pending(EVENT0, 0)
    assert rig.d.deliverable(0) == ()
    rig.unmask(0)
    assert rig.d.deliverable(0) == (EVENT0,)


def test_trigger_while_disabled_is_delivered_at_enable(rig: Rig) -> None:
    rig.unmask(0)
    assert rig.register(RAS) == SUCCESS
    assert rig.d.interrupt_asserted(RAS_SPI, 0) is True
    assert rig.d.pending(RAS)
    assert rig.d.deliverable(0) == ()
    assert rig.enable(RAS, pe=1) == SUCCESS
    assert rig.d.deliverable(0) == (RAS,)
    assert rig.disable(RAS) == SUCCESS
    assert rig.d.deliverable(0) == ()
    assert rig.d.pending(RAS)


def test_trigger_of_an_unregistered_static_event_is_dropped(rig: Rig) -> None:
    # spec: SDEI's interrupt, but dropped; tfa: EL3 takes it only at REGISTER.
    assert rig.d.interrupt_asserted(RAS_SPI, 0) is (rig.d.platform.profile == "spec")
    assert not rig.d.pending(RAS)
    rig.enable_and_unmask(RAS)
    assert rig.d.deliverable(0) == ()


def test_bound_interrupt_of_an_unregistered_event_is_the_clients(rig: Rig) -> None:
    assert rig.d.interrupt_asserted(PPIS[0], 0) is False  # not bound at all
    event = rig.bind(PPIS[0])
    assert rig.d.interrupt_asserted(PPIS[0], 0) is False  # bound, not registered
    rig.enable_and_unmask(event, pe=1)
    assert rig.d.interrupt_asserted(PPIS[0], 0) is False  # registered on PE 1 only
    assert rig.d.interrupt_asserted(PPIS[0], 1) is True
    assert rig.d.pending(event, 1) and not rig.d.pending(event, 0)
    assert rig.d.interrupt_asserted(SECURE_PPI, 0) is False
    assert rig.d.interrupt_asserted(SPIS[3], 0) is False


def test_unregister_discards_a_pending_trigger(rig: Rig) -> None:
    """Queued or discarded is IMP DEF (§2.8); the dispatcher discards, except event 0's signal
    (TF-A never clears the SGI)."""
    assert rig.register(RAS) == SUCCESS
    rig.d.interrupt_asserted(RAS_SPI, 0)
    assert rig.d.pending(RAS)
    assert rig.unregister(RAS) == SUCCESS
    assert not rig.d.pending(RAS)
    rig.enable_and_unmask(RAS)
    assert rig.d.deliverable(0) == ()
    assert rig.register(EVENT0) == SUCCESS
    rig.trigger(EVENT0, 0)
    assert rig.unregister(EVENT0) == SUCCESS
    assert rig.d.pending(EVENT0, 0)
    rig.enable_and_unmask(EVENT0)
    assert rig.d.deliverable(0) == (EVENT0,)


def test_only_one_instance_of_a_shared_event(rig: Rig) -> None:
    for pe in range(3):
        rig.unmask(pe)
    rig.enable_and_unmask(RAS)
    rig.run(RAS, 0)
    rig.d.interrupt_asserted(RAS_SPI, 1)  # retrigger while running
    assert rig.d.pending(RAS)
    assert rig.d.targets(RAS) == ()
    rig.finish(0)
    assert rig.d.targets(RAS) == (0, 1, 2)
    rig.run(RAS, 2)
    assert rig.d.runner(RAS) == 2


def test_retrigger_of_a_private_event_while_running(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0)
    rig.trigger(EVENT0, 0)
    assert rig.d.pending(EVENT0, 0)
    assert rig.d.deliverable(0) == ()
    rig.finish(0)
    assert rig.d.deliverable(0) == (EVENT0,)


def test_firmware_raised_event(rig: Rig) -> None:
    assert rig.d.raise_event(WATCHDOG, 0) is False  # not registered
    assert rig.register(WATCHDOG) == SUCCESS
    assert rig.enable(WATCHDOG) == SUCCESS
    taken = rig.d.raise_event(WATCHDOG, 0)  # masked PE
    assert taken == (rig.profile == "spec")  # TF-A: refused at once, no pending state
    assert rig.d.pending(WATCHDOG, 0) == (rig.profile == "spec")
    rig.unmask(0)
    assert rig.d.raise_event(WATCHDOG, 0) is True
    assert rig.d.deliverable(0) == (WATCHDOG,)
    with pytest.raises(ValueError):
        rig.d.raise_event(0x4000_0002, 0)


def test_dispatch_of_something_not_deliverable_raises(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    with pytest.raises(DispatchError):
        rig.d.dispatch(0, EVENT0, context())  # not pending
    assert rig.status(EVENT0) == ENABLED


# ================================================================ handler entry / exit (§5.2, §2.7)


def test_handler_entry_state(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0, arg=0xFEED)
    interrupted_pstate = 0x9100_0000 | 0x0  # N, V set, DIT set, EL0t
    entry = rig.run(EVENT0, 0, Interrupted(0x4_0000, interrupted_pstate, tuple(range(18))))
    assert entry.event == EVENT0
    assert entry.pc == EP
    assert entry.x == (EVENT0, 0xFEED, 0x4_0000, interrupted_pstate)
    assert entry.el == 1
    assert not entry.critical
    assert entry.pstate & 0x3C0 == 0x3C0  # DAIF
    assert entry.pstate & 0xF == 0x5  # EL1h
    assert entry.pstate & 0x10 == 0  # AArch64
    assert entry.pstate & (1 << 22)  # PAN (SPAN = 0)
    assert entry.pstate & 0xF000_0000 == 0x9000_0000  # NZCV kept
    assert entry.pstate & (1 << 24)  # DIT kept
    assert entry.pstate == 0x9140_03C5


def test_handler_entry_for_an_el2_client() -> None:
    rig = make_rig("spec", client_el=2)
    rig.enable_and_unmask(RAS)
    entry = rig.run(RAS, 0, Interrupted(0x10, 0x0, ()))
    assert entry.el == 2
    assert entry.pstate & 0xF == 0x9  # EL2h
    assert entry.pstate & 0x3C0 == 0x3C0
    assert not entry.pstate & (1 << 22)  # PAN not forced for a non-VHE EL2 client
    rig.finish(0)
    rig.d.interrupt_asserted(RAS_SPI, 0)
    vhe = rig.d.dispatch(0, RAS, Interrupted(0x10, 0x0, (), e2h_tge=True))
    assert vhe is not None and vhe.pstate & (1 << 22)  # an EL2 host with E2H=TGE=1


def test_complete_and_resume_exit(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    ctx = Interrupted(0x4_5678, 0x6000_0004, tuple(range(50, 68)))
    rig.run(EVENT0, 0, ctx)
    assert rig.complete_and_resume(0, RESUME) == SUCCESS
    exit_ = rig.d.pop_exit(0)
    assert exit_ is not None
    assert exit_.kind == "resume"
    assert exit_.pc == RESUME
    assert (exit_.elr, exit_.spsr) == (0x4_5678, 0x6000_0004)
    assert exit_.x == ctx.x
    assert exit_.pstate & 0x3C0 == 0x3C0
    assert exit_.pstate & 0x1F == 0x5  # EL1h, AArch64
    if rig.profile == "tfa":
        assert exit_.pstate == 0x3C5  # all other bits zero
    else:
        assert exit_.pstate & 0xF000_0000 == 0x6000_0000  # TakeException keeps NZCV
    assert rig.call(0, F.EVENT_CONTEXT, 0) == DENIED  # outside the handler now


@pytest.mark.parametrize("profile", PROFILES)
def test_complete_and_resume_pstate_for_an_el2_client(profile: Profile) -> None:
    rig = make_rig(profile, client_el=2)
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0, 0, Interrupted(0x10, 0x6000_0009, ()))
    assert rig.complete_and_resume(0) == SUCCESS
    exit_ = rig.d.pop_exit(0)
    assert exit_ is not None
    assert exit_.pstate == (0x3C9 if profile == "tfa" else 0x6000_03C9)


# ================================================================ power (§5.8)


def test_power_on_masks_and_wipes_private_registrations(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0, pe=1)
    rig.enable_and_unmask(EVENT0, pe=2)
    rig.enable_and_unmask(RAS, pe=1)
    rig.trigger(EVENT0, 1)
    assert rig.d.power_off(1) == []
    assert rig.d.deliverable(1) == ()  # offline
    rig.d.power_on(1)
    assert rig.d.is_masked(1)
    assert rig.status(EVENT0, 1) == UNREGISTERED
    assert rig.d.registration(EVENT0, 1)[:2] == (0, 0)
    assert not rig.d.pending(EVENT0, 1)
    assert rig.status(EVENT0, 2) == ENABLED  # other PE kept
    assert not rig.d.is_masked(2)
    assert rig.status(RAS) == ENABLED  # shared kept
    assert rig.register(EVENT0, pe=1) == SUCCESS


def test_resume_from_powerdown_masks_and_keeps_registrations(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0, pe=1)
    rig.d.resume_from_powerdown(1)
    assert rig.d.is_masked(1)
    assert rig.status(EVENT0, 1) == ENABLED
    rig.trigger(EVENT0, 1)
    assert rig.d.deliverable(1) == ()  # pending until PE_UNMASK
    assert rig.unmask(1) == 0
    assert rig.d.deliverable(1) == (EVENT0,)


def test_power_off_inside_handlers(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.enable_and_unmask(WATCHDOG)
    outer, inner = context(pc=0x100, seed=1), context(pc=0x200, seed=2)
    rig.run(EVENT0, 0, outer)
    rig.run(WATCHDOG, 0, inner)
    exits = rig.d.power_off(0)
    if rig.profile == "spec":  # PSCI CPU_OFF in a handler completes it (SPEC 6.5.4)
        assert [(e.kind, e.event, e.pc, e.x) for e in exits] == [
            ("implicit", WATCHDOG, 0x200, inner.x),
            ("implicit", EVENT0, 0x100, outer.x),
        ]
        assert (rig.status(EVENT0), rig.status(WATCHDOG)) == (ENABLED, ENABLED)
        assert rig.d.running(0) == ()
    else:  # TF-A has no such hook
        assert exits == []
        assert (rig.status(EVENT0), rig.status(WATCHDOG)) == (7, 7)
    rig.d.power_on(0)
    assert rig.status(EVENT0) == UNREGISTERED
    if rig.profile == "tfa":  # the stale dispatch stack: COMPLETE finds a dead record
        assert rig.d.running(0) == (EVENT0, WATCHDOG)
        assert rig.complete(0) == DENIED
        assert rig.call(0, F.EVENT_CONTEXT, 0) == DENIED
    else:
        assert rig.d.running(0) == ()
        assert rig.complete(0) == DENIED


def test_power_off_inside_a_shared_handler(rig: Rig) -> None:
    rig.enable_and_unmask(RAS, pe=1)
    rig.run(RAS, 1)
    exits = rig.d.power_off(1)
    if rig.profile == "spec":
        assert [e.event for e in exits] == [RAS]
        assert rig.status(RAS) == ENABLED
        assert rig.d.runner(RAS) is None
        rig.unmask(0)
        rig.d.interrupt_asserted(RAS_SPI, 0)
        assert rig.d.targets(RAS) == (0,)  # PE 1 is offline
    else:
        assert exits == []
        assert rig.status(RAS) == ENABLED_RUNNING  # stuck: TF-A behaviour
        assert rig.d.runner(RAS) == 1


def test_system_reset(rig: Rig) -> None:
    event = rig.bind(SPIS[0])
    assert rig.register(event) == SUCCESS
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0)
    rig.d.system_reset()
    assert rig.status(EVENT0) == UNREGISTERED
    assert rig.d.bound_interrupt(event) is None
    assert rig.status(event) == UNREGISTERED
    assert rig.d.running(0) == ()
    assert rig.d.is_masked(0)
    assert rig.port.is_nonsecure(SPIS[0], 0)
    assert rig.bind(SPIS[0]) >= 0


# CPU_ON resets the PE: a bound PPI registered there goes back to the client.


@pytest.mark.parametrize("profile", PROFILES)
def test_power_on_gives_a_bound_private_interrupt_back(profile: Profile) -> None:
    rig = make_rig(profile)
    event = rig.bind(PPIS[0])
    assert rig.register(event, pe=0) == SUCCESS
    rig.d.power_off(0)
    rig.d.power_on(0)
    assert rig.status(event, 0) == UNREGISTERED
    assert rig.register(event, pe=0) == SUCCESS


@pytest.mark.parametrize("profile", PROFILES)
def test_rebind_after_power_on_and_release(profile: Profile) -> None:
    rig = make_rig(profile)
    event = rig.bind(PPIS[0])
    assert rig.register(event, pe=0) == SUCCESS
    rig.d.power_off(0)
    rig.d.power_on(0)
    assert rig.release(event) == SUCCESS
    rig.d.system_reset()
    assert rig.bind(PPIS[0]) >= 0


# ================================================================ platform validation


def _reference(profile: Profile = "spec") -> Platform:
    return Platform.reference(pes=2, profile=profile)


def _with_events(*extra: EventDesc, base: Platform | None = None, drop: int = -1) -> Platform:
    p = base or _reference()
    events = tuple(e for e in p.events if e.number != drop) + extra
    return dataclasses.replace(p, events=events)


INVALID_PLATFORMS: list[tuple[str, object, str]] = [
    ("no event 0", lambda: _with_events(drop=0), "events"),
    ("duplicate number", lambda: _with_events(EventDesc(RAS, shared=True)), f"events[{RAS:#x}]"),
    ("reserved bits", lambda: _with_events(EventDesc(0x0100_0000)), "events[0x1000000]"),
    ("bit31", lambda: _with_events(EventDesc(0x8000_0000)), "events[0x80000000]"),
    (
        "critical bind slot",
        lambda: _with_events(EventDesc(0x4000_0300, dynamic=True, critical=True)),
        "events[0x40000300]",
    ),
    (
        "bind slot with an interrupt",
        lambda: _with_events(EventDesc(0x4000_0300, dynamic=True, interrupt=25)),
        "events[0x40000300]",
    ),
    (
        "spec bind slot outside the vendor space",
        lambda: _with_events(EventDesc(1000, dynamic=True)),
        "events[0x3e8]",
    ),
    (
        "signalable non-zero event",
        lambda: _with_events(EventDesc(0x4000_0300, signalable=True)),
        "events[0x40000300]",
    ),
    (
        "duplicate interrupt",
        lambda: _with_events(EventDesc(0x4000_0300, shared=True, interrupt=RAS_SPI)),
        "events[0x40000300]",
    ),
    (
        "shared event on a PPI",
        lambda: _with_events(EventDesc(0x4000_0300, shared=True, interrupt=20)),
        "events[0x40000300]",
    ),
    (
        "private event on an SPI",
        lambda: _with_events(EventDesc(0x4000_0300, interrupt=50)),
        "events[0x40000300]",
    ),
    (
        "interrupt that does not exist",
        lambda: _with_events(EventDesc(0x4000_0300, shared=True, interrupt=1000)),
        "events[0x40000300]",
    ),
    (
        "event 0 shared",
        lambda: _with_events(EventDesc(0, shared=True, signalable=True, interrupt=8), drop=0),
        "events[0x0]",
    ),
    (
        "event 0 critical",
        lambda: _with_events(EventDesc(0, critical=True, signalable=True, interrupt=8), drop=0),
        "events[0x0]",
    ),
    (
        "event 0 not signalable",
        lambda: _with_events(EventDesc(0, interrupt=8), drop=0),
        "events[0x0]",
    ),
    (
        "event 0 without an SGI",
        lambda: _with_events(EventDesc(0, signalable=True, interrupt=20), drop=0),
        "events[0x0]",
    ),
    (
        "event 0 without an interrupt",
        lambda: _with_events(EventDesc(0, signalable=True), drop=0),
        "events[0x0]",
    ),
    (
        "tfa: shared explicit event",
        lambda: _with_events(EventDesc(0x4000_0300, shared=True), base=_reference("tfa")),
        "events[0x40000300]",
    ),
    (
        "secure interrupt reused",
        lambda: dataclasses.replace(_reference(), secure_interrupts=frozenset({RAS_SPI})),
        "secure_interrupts",
    ),
    (
        "tfa with v1.1",
        lambda: dataclasses.replace(_reference("tfa"), version=Version(1, 1)),
        "version",
    ),
    ("v2.0", lambda: dataclasses.replace(_reference(), version=Version(2, 0)), "version"),
    ("v1.2", lambda: dataclasses.replace(_reference(), version=Version(1, 2)), "version"),
    ("profile", lambda: dataclasses.replace(_reference(), profile="linux"), "profile"),
    ("no PE", lambda: dataclasses.replace(_reference(), mpidrs=()), "mpidrs"),
    ("duplicate MPIDR", lambda: dataclasses.replace(_reference(), mpidrs=(0, 0)), "mpidrs"),
    ("MPIDR MBZ bits", lambda: dataclasses.replace(_reference(), mpidrs=(0, 1 << 24)), "mpidrs"),
    ("negative MPIDR", lambda: dataclasses.replace(_reference(), mpidrs=(-1,)), "mpidrs"),
    ("client EL3", lambda: dataclasses.replace(_reference(), client_el=3), "client_el"),
    ("client EL0", lambda: dataclasses.replace(_reference(), client_el=0), "client_el"),
    (
        "relative mode on v1.0",
        lambda: dataclasses.replace(_reference(), version=Version(1, 0), relative_mode=True),
        "relative_mode",
    ),
    ("too many SPIs", lambda: dataclasses.replace(_reference(), spi_count=989), "spi_count"),
    ("negative SPIs", lambda: dataclasses.replace(_reference(), spi_count=-1), "spi_count"),
    (
        "no non-secure memory",
        lambda: dataclasses.replace(_reference(), nonsecure_memory=()),
        "nonsecure_memory",
    ),
    (
        "empty memory range",
        lambda: dataclasses.replace(_reference(), nonsecure_memory=(MemoryRange(0x1000, 0),)),
        "nonsecure_memory",
    ),
    ("zero PEs", lambda: Platform.reference(pes=0), "pes"),
]


@pytest.mark.parametrize(
    ("build", "field"),
    [pytest.param(build, field, id=name) for name, build, field in INVALID_PLATFORMS],
)
def test_invalid_platform_is_refused(build: object, field: str) -> None:
    assert callable(build)
    with pytest.raises(PlatformError) as info:
        build()
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_valid_variants_are_accepted() -> None:
    for profile in PROFILES:
        p = _reference(profile)
        assert p.pes == 2
        assert (p.private_slots, p.shared_slots) == (3, 3)
    # TF-A allows bound events outside the vendor space, spec allows shared explicit events.
    _with_events(EventDesc(1005, dynamic=True), base=_reference("tfa"))
    _with_events(EventDesc(0x4000_0300, shared=True))
    dataclasses.replace(_reference(), relative_mode=True)
    assert _reference().pe_of(1) == 1
    assert _reference().pe_of(BAD_MPIDR) is None


# ================================================================ isolation between PEs


def _snapshot(rig: Rig, pe: int) -> tuple[object, ...]:
    private = [e.number for e in rig.platform.events if not e.shared]
    return (
        tuple(rig.status(e, pe) for e in private),
        tuple(rig.d.registration(e, pe) for e in private),
        rig.d.is_masked(pe),
        rig.d.running(pe),
        tuple(rig.d.saved_context(pe)),
    )


FOREIGN_CALLS = st.lists(
    st.tuples(
        st.sampled_from([f for f in F if f is not F.EVENT_SIGNAL]),
        st.lists(
            st.one_of(
                st.sampled_from(
                    [0, 1, 2, EP, RESUME, WATCHDOG, RAS, 0x4000_0100, 1000, 2000, 20, 40, -1]
                ),
                st.integers(-(2**65), 2**65),
            ),
            max_size=5,
        ),
    ),
    max_size=25,
)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=FOREIGN_CALLS)
def test_no_call_from_one_pe_changes_another_pes_private_state(
    profile: Profile, calls: list[tuple[F, list[int]]]
) -> None:
    rig = make_rig(profile)
    bound = rig.bind(PPIS[0], pe=1)
    rig.enable_and_unmask(EVENT0, pe=1)
    assert rig.register(bound, pe=1) == SUCCESS
    rig.enable_and_unmask(WATCHDOG, pe=1)
    rig.run(EVENT0, 1)
    rig.enable_and_unmask(EVENT0, pe=0)
    before = _snapshot(rig, 1)
    for function, args in calls:
        rig.call(0, function, *args)
    assert _snapshot(rig, 1) == before


def test_port_is_the_one_given() -> None:
    platform = Platform.reference(pes=2)
    port = FirmwareInterrupts(platform.secure_interrupts)
    d = Dispatcher(platform, port)
    assert d.call(0, F.INTERRUPT_BIND, SECURE_PPI) == INVALID_PARAMETERS
    event = d.call(0, F.INTERRUPT_BIND, SPIS[0])
    assert d.call(0, F.EVENT_REGISTER, event, EP, 0, 0, 0) == SUCCESS
    assert not port.is_nonsecure(SPIS[0], 0)
    assert port.routes[SPIS[0]] is None  # RM_ANY
    assert d.call(0, F.EVENT_ENABLE, event) == SUCCESS
    assert (SPIS[0], -1) in port.enabled
    assert d.call(0, F.EVENT_DISABLE, event) == SUCCESS
    assert (SPIS[0], -1) not in port.enabled


def test_registered_running_disable_keeps_the_handler(rig: Rig) -> None:
    rig.enable_and_unmask(EVENT0)
    rig.run(EVENT0)
    assert rig.disable(EVENT0) == SUCCESS
    assert rig.status(EVENT0) == REGISTERED_RUNNING
    assert rig.call(0, F.EVENT_CONTEXT, 1) == 0x1001  # no effect on the running handler
    rig.finish(0)
    assert rig.status(EVENT0) == REGISTERED

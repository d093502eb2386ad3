"""Shared set-up for the machine tests, in the spirit of TF-A's tftf SDEI suites.

- `make_machine`: a machine on Arm's reference platform (`Platform.reference`), optionally with
  a replaced dispatcher class (to prove that the built-in invariants can fail);
- `Kernel`: an image "kernel" holding the standard SDEI handler (records x0-x17 at entry, asks
  EVENT_CONTEXT for x0-x3, completes) plus whatever code a test adds, and small client helpers
  (register + enable, unmask) used with `yield from`;
- `HandlerLog`: an observer that records every handler entry with the register state the
  interrupted context had just before (from its own step snapshots, not the engine's record),
  and every completion with the state it restored;
- `SleepyChooser`: a deterministic chooser that lets a suspended PE sleep while others act.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdei.abi import Function
from sdei.firmware import Dispatcher, Entry, Exit, Platform
from sdei.machine import (
    PE,
    Context,
    FirmwareFault,
    Hvc,
    Image,
    Kind,
    Machine,
    MachineConfig,
    Observer,
    Op,
    RunResult,
    Smc,
)
from sdei.machine.codemap import Loaded
from sdei.machine.contexts import Code

# The reference platform's events (Platform.reference; TF-A plat/arm arm_sdei.c).
EVENT_0 = 0  # private, normal, signalable (SGI 8)
WATCHDOG = 0x4000_0001  # private, critical, explicit: raised with RaiseEvent
RAS = 0x4000_0010  # shared, normal, on secure SPI 200
RAS_SPI = 200
PLATFORM_CRITICAL = 0x4000_0011  # shared, critical, on secure SPI 201
PLATFORM_CRITICAL_SPI = 201
SHARED_SLOT = 0x4000_0200  # first shared bind slot in the `spec` profile

KERNEL_BASE = 0x8000_0000
HANDLER_OFFSET = 0x1000
RM_ANY, RM_PE = 0, 1
POWERDOWN = 1 << 16  # PSCI power_state StateType bit (original format)


def make_machine(
    pes: int = 4,
    *,
    profile: str = "spec",
    conduit: str = "smc",
    faults: Sequence[FirmwareFault] = (),
    powered_on: tuple[int, ...] | None = None,
    dispatcher: type[Dispatcher] | None = None,
) -> Machine:
    """A machine on the reference platform. `dispatcher` replaces the firmware with an instance
    of that class (a deliberately broken subclass, for the invariant tests)."""
    platform = Platform.reference(pes, profile=profile)
    assert conduit in ("smc", "hvc")
    config = MachineConfig(
        platform,
        conduit="hvc" if conduit == "hvc" else "smc",
        powered_on=powered_on,
        faults=tuple(faults),
    )
    machine = Machine(config)
    if dispatcher is not None:
        machine.firmware = dispatcher(platform, machine.gic)
        for pe in machine.pes:
            if powered_on is not None and pe.index not in powered_on:
                machine.firmware.power_off(pe.index)
    return machine


def run_ok(machine: Machine, **kwargs: Any) -> RunResult:
    """Run to quiescence and insist that nothing went wrong."""
    result = machine.run(**kwargs)
    assert result.violation is None, str(result.violation)
    assert result.status == "quiescent", result
    return result


@dataclass(frozen=True, slots=True)
class Regs:
    """The part of a PE's state SDEI saves and restores: PC, PSTATE and x0-x17."""

    pc: int
    pstate: int
    x: tuple[int, ...]


def regs_of(pe: PE) -> Regs:
    return Regs(pe.pc, pe.pstate, tuple(pe.x[:18]))


@dataclass(frozen=True, slots=True)
class HandlerEntry:
    step: int
    pe: int
    event: int
    critical: bool
    kind: Kind
    x: tuple[int, int, int, int]  # x0-x3 as the PE holds them when the handler is entered
    pc: int  # the handler's entry PC
    pstate: int  # the handler's PSTATE
    interrupted: Regs  # the PE's state after its last step before the delivery


@dataclass(frozen=True, slots=True)
class Completion:
    step: int
    pe: int
    event: int
    kind: str  # complete, resume, implicit
    interrupted: Regs  # what the handler interrupted
    after: Regs  # the PE's state right after the completion


class HandlerLog(Observer):
    """Every handler entry and completion, with independent register snapshots."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.entries: list[HandlerEntry] = []
        self.completions: list[Completion] = []
        self._last = [regs_of(pe) for pe in machine.pes]
        self._open: list[list[Regs]] = [[] for _ in machine.pes]
        machine.observe(self)

    def step(self, step: int, pe: int, context: Context, op: Op, result: Any) -> None:
        self._last[pe] = regs_of(self.machine.pes[pe])

    def deliver(self, step: int, pe: int, entry: Entry, context: Context) -> None:
        p = self.machine.pes[pe]
        before = self._last[pe]
        caller = self.machine.running
        if caller is not None and caller.pe == pe and caller is not context and not caller.done:
            # Dispatched synchronously inside a call this PE made (TF-A's explicit events):
            # the handler interrupts the call itself, so ELR_EL3 is the next instruction.
            before = Regs(before.pc + 4, before.pstate, before.x)
        x0, x1, x2, x3 = p.x[:4]
        self.entries.append(
            HandlerEntry(
                step, pe, entry.event, entry.critical, context.kind, (x0, x1, x2, x3), p.pc,
                p.pstate, before,
            )
        )  # fmt: skip
        self._open[pe].append(before)
        self._last[pe] = regs_of(p)

    def complete(self, step: int, pe: int, exit: Exit) -> None:
        before = self._open[pe].pop() if self._open[pe] else Regs(0, 0, ())
        after = regs_of(self.machine.pes[pe])
        self.completions.append(Completion(step, pe, exit.event, exit.kind, before, after))
        self._last[pe] = after


@dataclass
class Handled:
    """What the standard handler saw: its entry registers and EVENT_CONTEXT(0..3)."""

    pe: int
    x: tuple[int, ...]  # x0-x17 at entry
    context: tuple[int, ...]  # EVENT_CONTEXT(0..3)
    step: int


HandlerFn = Callable[..., Code]


@dataclass
class Kernel:
    """The client image: the standard handler at `sdei_handler`, and code a test adds."""

    machine: Machine
    base: int = KERNEL_BASE
    handled: list[Handled] = field(default_factory=list)
    image: Image = field(default_factory=lambda: Image("kernel"))
    loaded: Loaded | None = None

    def __post_init__(self) -> None:
        self.image.add("sdei_handler", HANDLER_OFFSET, self.sdei_handler)

    # -- building the image

    def add(self, symbol: str, offset: int, code: HandlerFn) -> None:
        self.image.add(symbol, offset, code)

    def load(self) -> Kernel:
        self.loaded = self.machine.load(self.image, self.base)
        return self

    def address(self, symbol: str = "sdei_handler") -> int:
        return self.machine.code.address_of("kernel", symbol)

    # -- calls through the machine's conduit

    def call(self, function: int, *args: int) -> Op:
        if self.machine.conduit == "hvc":
            return Hvc(function, *args)
        return Smc(function, *args)

    def sdei_handler(self, pe: PE) -> Code:
        """Read x0-x3, fetch the interrupted x0-x3 with EVENT_CONTEXT, then COMPLETE."""
        x = tuple(pe.x[:18])
        context = []
        for n in range(4):
            context.append((yield self.call(Function.EVENT_CONTEXT, n)))
        self.handled.append(Handled(pe.index, x, tuple(context), self.machine.step_count))
        yield self.call(Function.EVENT_COMPLETE, 0)

    def register(
        self,
        event: int,
        *,
        symbol: str = "sdei_handler",
        arg: int = 0,
        flags: int = 0,
        affinity: int = 0,
        enable: bool = True,
    ) -> Code:
        """REGISTER (and ENABLE) `event` with the handler at `symbol`; both must succeed."""
        ep = self.address(symbol)
        result = yield self.call(Function.EVENT_REGISTER, event, ep, arg, flags, affinity)
        assert result == 0, f"REGISTER({event:#x}) = {result}"
        if enable:
            result = yield self.call(Function.EVENT_ENABLE, event)
            assert result == 0, f"ENABLE({event:#x}) = {result}"
        return None

    def unmask(self) -> Code:
        result = yield self.call(Function.PE_UNMASK)
        assert result == 0, f"PE_UNMASK = {result}"
        return None


class SleepyChooser:
    """Deterministic round robin like the default chooser, except that a sleeping PE wakes only
    when nothing else can happen. The machine lets a suspended PE wake at any step (its timer),
    and the default chooser takes a wake at once; this one lets other PEs act while it sleeps."""

    def __init__(self) -> None:
        self._turn = 0

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        if kind != "step":
            return 0
        awake = [i for i, option in enumerate(options) if option[0] != "wake"]
        if not awake:
            return 0
        for i in awake:
            if options[i][0] != "run":
                return i
        self._turn += 1
        return awake[self._turn % len(awake)]

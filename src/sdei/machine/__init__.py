"""The simulated board: PEs, GIC, PSCI, memory/code map, and the engine that runs threads."""

from sdei.machine.chooser import (
    Chooser,
    DefaultChooser,
    Divergence,
    RandomChooser,
    ReplayChooser,
)
from sdei.machine.codemap import CodeFault, CodeMap, Image
from sdei.machine.contexts import Context, Kind
from sdei.machine.engine import Invariant, RunResult
from sdei.machine.errors import ClientFault, Violation
from sdei.machine.gic import Gic
from sdei.machine.locks import Lock
from sdei.machine.machine import IPI_SGI, FirmwareFault, Machine, MachineConfig
from sdei.machine.observer import Observer
from sdei.machine.ops import (
    Access,
    Acquire,
    AssertInterrupt,
    Hvc,
    IrqRestore,
    IrqSave,
    Jump,
    Local,
    Note,
    Op,
    Park,
    Preempt,
    RaiseEvent,
    Release,
    SendIpi,
    SetPstate,
    Smc,
    Spawn,
    WaitUntil,
)
from sdei.machine.pe import PE, Power
from sdei.machine.psci import Psci, PsciStatus

__all__ = [
    "IPI_SGI",
    "PE",
    "Access",
    "Acquire",
    "AssertInterrupt",
    "Chooser",
    "ClientFault",
    "CodeFault",
    "CodeMap",
    "Context",
    "DefaultChooser",
    "Divergence",
    "FirmwareFault",
    "Gic",
    "Hvc",
    "Image",
    "Invariant",
    "IrqRestore",
    "IrqSave",
    "Jump",
    "Kind",
    "Local",
    "Lock",
    "Machine",
    "MachineConfig",
    "Note",
    "Observer",
    "Op",
    "Park",
    "Power",
    "Preempt",
    "Psci",
    "PsciStatus",
    "RaiseEvent",
    "RandomChooser",
    "Release",
    "ReplayChooser",
    "RunResult",
    "SendIpi",
    "SetPstate",
    "Smc",
    "Spawn",
    "Violation",
    "WaitUntil",
]

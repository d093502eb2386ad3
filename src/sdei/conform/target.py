"""What `sdei conform` tests: anything that answers SDEI calls and dispatches events on a set of
simulated PEs, behind one small interface (`Target`).

The hardware side - an interrupt asserted, an event raised by firmware, a PE powered on or
off, the client context an event interrupts - is driven by the harness; the target answers
with return codes, the events it would dispatch on a PE, handler entries and exits. Every
target describes the reference platform (`sdei.firmware.Platform.reference`): its event table
is documented in docs/conform.md.

- `builtin` (optionally `builtin:tfa`): our dispatcher, in its `spec` or `tfa` profile;
- `tfa` (`tfa:debug`, `tfa:release`): TF-A's own dispatcher built for this host
  (`sdei.conform.tfa`);
- `process:COMMAND`: a program speaking the line protocol of `sdei.conform.protocol` on its
  stdin and stdout (a dispatcher in C, Rust or anything else, behind a small adapter).
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any, Protocol

from sdei.conform import protocol
from sdei.firmware import Dispatcher, Entry, Exit, FirmwareInterrupts, Interrupted, Platform


class TargetError(Exception):
    """A target that cannot be started or that broke the protocol (exit 2: a usage error)."""


class TargetFailed(Exception):
    """The target broke a rule of its own while answering (a TF-A panic or failed assertion, a
    lock taken twice, an interrupt never EOIed): a finding about the target, not a usage
    error. It must be reset before it is used again."""


class Target(Protocol):
    name: str
    profile: str
    pes: int

    def reset(self) -> None:
        """Back to the platform's boot state: every event unregistered, every PE masked."""

    def call(self, pe: int, function: int, *args: int) -> int:
        """An SMC from the client on `pe`: x0 back, as a signed 64-bit value."""

    def interrupt_asserted(self, intid: int, pe: int) -> bool:
        """A device asserts `intid` (towards `pe` for a PPI/SGI); True if SDEI owns it."""

    def raise_event(self, event: int, pe: int) -> bool:
        """Firmware raises an event with no interrupt (a RAS error, a watchdog)."""

    def deliverable(self, pe: int) -> tuple[int, ...]:
        """Events that could be dispatched on `pe` now."""

    def dispatch(self, pe: int, event: int, interrupted: Interrupted) -> Entry | None:
        """Start `event`'s handler on `pe`, interrupting `interrupted`."""

    def pop_exit(self, pe: int) -> Exit | None:
        """Where the client goes on after a successful COMPLETE or COMPLETE_AND_RESUME."""

    def power_on(self, pe: int) -> None: ...

    def power_off(self, pe: int) -> list[Exit]: ...

    def close(self) -> None: ...


class BuiltinTarget:
    """Our dispatcher (`sdei.firmware.Dispatcher`) on the reference platform."""

    def __init__(self, profile: str = "spec", pes: int = 3) -> None:
        self.name = f"builtin:{profile}"
        self.profile = profile
        self.pes = pes
        self.reset()

    def reset(self) -> None:
        platform = Platform.reference(pes=self.pes, profile=self.profile)
        self.platform = platform
        self.d = Dispatcher(platform, FirmwareInterrupts(platform.secure_interrupts))

    def call(self, pe: int, function: int, *args: int) -> int:
        return self.d.call(pe, function, *args)

    def interrupt_asserted(self, intid: int, pe: int) -> bool:
        return self.d.interrupt_asserted(intid, pe)

    def raise_event(self, event: int, pe: int) -> bool:
        return self.d.raise_event(event, pe)

    def deliverable(self, pe: int) -> tuple[int, ...]:
        return tuple(self.d.deliverable(pe))

    def dispatch(self, pe: int, event: int, interrupted: Interrupted) -> Entry | None:
        return self.d.dispatch(pe, event, interrupted)

    def pop_exit(self, pe: int) -> Exit | None:
        return self.d.pop_exit(pe)

    def power_on(self, pe: int) -> None:
        self.d.power_on(pe)

    def power_off(self, pe: int) -> list[Exit]:
        return list(self.d.power_off(pe))

    def close(self) -> None:
        pass


class ProcessTarget:
    """A program speaking `sdei.conform.protocol` (one JSON object per line each way)."""

    def __init__(self, command: str, profile: str = "spec", pes: int = 3) -> None:
        self.name = f"process:{command}"
        self.command = command
        self.profile = profile
        self.pes = pes
        try:
            self._proc = subprocess.Popen(
                shlex.split(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        except OSError as error:
            raise TargetError(
                f"process:{command}: cannot start: {error.strerror or error}"
            ) from None
        self.reset()

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except BrokenPipeError:  # it ended before reading the request: what did it say?
            line = proc.stdout.readline()
        except OSError as error:
            raise TargetError(f"{self.name}: {error.strerror or error}") from None
        if not line:
            err = proc.stderr.read().strip().splitlines()[-1:] if proc.stderr else []
            detail = f": {err[0]}" if err else ""
            raise TargetError(f"{self.name}: the program ended after {message['op']!r}{detail}")
        try:
            answer = json.loads(line)
        except json.JSONDecodeError:
            raise TargetError(f"{self.name}: not a protocol line: {line.strip()[:80]!r}") from None
        if not isinstance(answer, dict):
            raise TargetError(f"{self.name}: not a protocol line: {line.strip()[:80]!r}")
        if "error" in answer:
            raise TargetError(f"{self.name}: {message['op']}: {answer['error']}")
        return answer

    def reset(self) -> None:
        self._ask({"op": "reset", "pes": self.pes, "profile": self.profile})

    def call(self, pe: int, function: int, *args: int) -> int:
        return int(self._ask({"op": "call", "pe": pe, "function": function, "args": args})["x0"])

    def interrupt_asserted(self, intid: int, pe: int) -> bool:
        return bool(self._ask({"op": "interrupt", "intid": intid, "pe": pe})["sdei"])

    def raise_event(self, event: int, pe: int) -> bool:
        return bool(self._ask({"op": "raise", "event": event, "pe": pe})["taken"])

    def deliverable(self, pe: int) -> tuple[int, ...]:
        return tuple(int(e) for e in self._ask({"op": "deliverable", "pe": pe})["events"])

    def dispatch(self, pe: int, event: int, interrupted: Interrupted) -> Entry | None:
        answer = self._ask(
            {
                "op": "dispatch",
                "pe": pe,
                "event": event,
                "interrupted": protocol.interrupted_json(interrupted),
            }
        )
        return protocol.entry_from(answer.get("entry"))

    def pop_exit(self, pe: int) -> Exit | None:
        return protocol.exit_from(self._ask({"op": "pop_exit", "pe": pe}).get("exit"))

    def power_on(self, pe: int) -> None:
        self._ask({"op": "power_on", "pe": pe})

    def power_off(self, pe: int) -> list[Exit]:
        exits = self._ask({"op": "power_off", "pe": pe}).get("exits") or []
        return [e for e in (protocol.exit_from(x) for x in exits) if e is not None]

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()


TARGETS = ("builtin", "builtin:spec", "builtin:tfa", "tfa", "tfa:debug", "tfa:release",
           "process:COMMAND")  # fmt: skip


def default_profile(spec: str) -> str:
    """The profile a target is judged by when the user names none: TF-A's own for TF-A."""
    return "tfa" if spec.partition(":")[0] in ("tfa",) or spec == "builtin:tfa" else "spec"


def make_target(
    spec: str, *, profile: str = "spec", pes: int = 3, tfa_src: Path | None = None
) -> Target:
    """`builtin`, `builtin:spec`, `builtin:tfa`, `tfa[:debug|:release]` or `process:COMMAND`."""
    kind, _, rest = spec.partition(":")
    if kind == "tfa":
        from sdei.conform.tfa import BUILDS, TfaTarget

        build_kind = rest if ":" in spec else "debug"
        if build_kind not in BUILDS:
            raise TargetError(f"unknown TF-A build {build_kind!r}: tfa:debug or tfa:release")
        return TfaTarget(tfa_src, build_kind=build_kind, pes=pes, profile=profile)
    if kind == "builtin":
        chosen = rest or profile
        if chosen not in ("spec", "tfa"):
            raise TargetError(f"unknown builtin profile {chosen!r}: builtin:spec or builtin:tfa")
        return BuiltinTarget(chosen, pes)
    if kind == "process":
        if not rest.strip():
            raise TargetError("process: needs a command, e.g. process:'./my-adapter --pes 3'")
        return ProcessTarget(rest, profile, pes)
    raise TargetError(f"unknown target {spec!r}: one of {', '.join(TARGETS)}")

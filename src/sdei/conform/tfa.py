"""The `tfa` target: TF-A's own SDEI dispatcher, built for this host and driven through ctypes.

TF-A's `services/std_svc/sdei/{sdei_main,sdei_state,sdei_event,sdei_intr_mgmt}.c` are compiled
as they come, from Debian's `arm-trusted-firmware` source package or a checkout the user names,
against the host headers and the simulated machine in `tfa_host/` (a GICv3, an EHF, per-PE
contexts and registers, the reference platform's event table): nothing of TF-A is copied here.

How the harness's operations map onto EL3 (docs/conform.md, "The tfa target"):

- `interrupt_asserted`: the GIC latches the interrupt pending if it is EL3's (Group 0).
- `deliverable(pe)`: every interrupt the GIC could present to the PE (pending, enabled, routed
  there, above its running priority), and every explicit event firmware raised there, is taken
  by TF-A on a copy of its state; the events whose handler it enters are offered, critical
  ones alone when there are any (their priority is higher). Which of several goes first is the
  GIC's choice, which the harness makes.
- `dispatch`: the same, kept: TF-A's interrupt handler runs until it enters the client.
- A COMPLETE resumes TF-A's suspended dispatch, which EOIs and returns.
- A TF-A panic, failed assertion, lock misuse or interrupt never EOIed ends the operation with
  `TargetFailed`: a finding about TF-A, reported plainly.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdei.abi import Function
from sdei.conform.target import TargetError, TargetFailed
from sdei.firmware import Entry, Exit, Interrupted, Platform

HOST = Path(__file__).parent / "tfa_host"
SOURCES = ("sdei_main.c", "sdei_state.c", "sdei_event.c", "sdei_intr_mgmt.c")
SDEI_DIR = Path("services/std_svc/sdei")
PACKAGE = "arm-trusted-firmware"
BUILDS = ("debug", "release")
MASK64 = (1 << 64) - 1
CRITICAL_PRIORITY, NORMAL_PRIORITY = 0x60, 0x70  # the reference platform's (arm_def.h)


NZCV = 0xF000_0000


def _only_nzcv(target: Any, model: Any) -> bool:
    """Two dispatch answers that differ in the handler's PSTATE.NZCV and nowhere else."""
    try:
        (offered_t, entry_t), (offered_m, entry_m) = target, model
        if offered_t != offered_m or entry_t is None or entry_m is None:
            return False
        rest_t = {k: v for k, v in entry_t.items() if k != "pstate"}
        rest_m = {k: v for k, v in entry_m.items() if k != "pstate"}
        return rest_t == rest_m and (entry_t["pstate"] ^ entry_m["pstate"]) & ~NZCV == 0
    except (TypeError, ValueError, KeyError):
        return False


@dataclass(frozen=True)
class Known:
    """A difference between TF-A and the model that has been read in TF-A's source: which
    rule each side follows."""

    kind: str  # the start of the difference's kind
    when: Callable[[Any, Any], bool]
    why: str


KNOWN = (
    Known(
        "target failed: interrupt <n> was never EOIed",
        lambda t, m: True,
        "TF-A breaks the GIC protocol: event 0's SGI taken on a masked PE is acknowledged and "
        "never ended (handle_masked_trigger returns early for event 0, sdei_intr_handler "
        "returns without an EOI), so that PE's running priority stays at the normal SDEI "
        "priority and no normal event or signal reaches it again. The model keeps the "
        "signal pending until the PE unmasks (DEN0054C 5.1.12, 5.1.16).",
    ),
    Known(
        "target failed: TF-A's GICv3 driver asserts",
        lambda t, m: True,
        "TF-A 2.8.0 does not check that INTERRUPT_BIND's number is an interrupt (DEN0054C "
        "5.1.14: INVALID_PARAMETERS; later releases check it is a PPI or SPI): it hands it to "
        "the GIC driver, whose assertion a debug build trips from the normal world; a release "
        "build reads the GIC's reserved bits as Group 0 and answers DENIED.",
    ),
    Known(
        "INTERRUPT_BIND result",
        lambda t, m: t == -3 and m == -2,
        "TF-A 2.8.0 does not check that the number is an interrupt (later releases do): the "
        "GIC's reserved bits read as Group 0, which TF-A takes for a secure interrupt "
        "(DENIED); DEN0054C 5.1.14 wants INVALID_PARAMETERS, as the model answers.",
    ),
    Known(
        "EVENT_SIGNAL result",
        lambda t, m: t == 0 and m == -2,
        "TF-A before b142ede74 (October 2024; 2.8.0 and 2.12.1 included) raises the SGI "
        "whatever the target's state; the tfa profile follows today's TF-A, which refuses a "
        "masked, unregistered or disabled target (sdei-spec.md §2.16). DEN0054C 5.1.16 "
        "says SUCCESS.",
    ),
    Known(
        "dispatch",
        _only_nzcv,
        "TF-A 2.8.0 builds the handler's PSTATE from scratch and clears NZCV; "
        "AArch64.TakeException keeps them (DEN0054C 5.2.1), as the model and later TF-A "
        "(create_spsr) do.",
    ),
)


def explain(kind: str, target: Any, model: Any) -> str | None:
    """Why TF-A and the model disagree, when that has been worked out (`KNOWN`)."""
    for known in KNOWN:
        if kind.startswith(known.kind) and known.when(target, model):
            return known.why
    return None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sdei"


def _is_tree(path: Path) -> bool:
    return all((path / SDEI_DIR / name).is_file() for name in SOURCES)


def version(src: Path) -> str:
    """The TF-A release of a tree, from its Makefile ("2.8.0"), or "" when it says none."""
    try:
        text = (src / "Makefile").read_text(errors="replace")
    except OSError:
        return ""
    parts = {k: v for k, v in re.findall(r"^VERSION_(MAJOR|MINOR|PATCH)\s*:=\s*(\d+)", text, re.M)}
    if "MAJOR" not in parts:
        return ""
    return f"{parts['MAJOR']}.{parts.get('MINOR', '0')}.{parts.get('PATCH', '0')}"


def _newest(trees: list[Path]) -> Path:
    def key(tree: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in version(tree).split(".") if n) or (0,)

    return max(trees, key=key)


def find_source(tfa_src: Path | None = None, *, fetch: bool = True) -> Path:
    """A TF-A source tree: `tfa_src`, else $SDEI_TFA_SRC, else one unpacked in the cache
    (`apt-get source arm-trusted-firmware` puts one there when it can)."""
    if tfa_src is not None:
        if not _is_tree(tfa_src):
            raise TargetError(
                f"--tfa-src {tfa_src}: not a TF-A source tree (no {SDEI_DIR / SOURCES[0]})"
            )
        return tfa_src
    named = os.environ.get("SDEI_TFA_SRC")
    if named:
        if not _is_tree(Path(named)):
            raise TargetError(f"SDEI_TFA_SRC={named}: not a TF-A source tree")
        return Path(named)
    where = cache_dir() / "tfa-src"
    try:
        return _cached_or_fetched(where, fetch)
    except OSError as error:
        raise TargetError(
            f"tfa: the cache {where}: {error.strerror or error} (set XDG_CACHE_HOME, or pass "
            "--tfa-src DIR)"
        ) from None


def _cached_or_fetched(where: Path, fetch: bool) -> Path:
    found = [p for p in where.glob(f"{PACKAGE}-*") if _is_tree(p)]
    if found:
        return _newest(found)
    if fetch and shutil.which("apt-get") and shutil.which("dpkg-source"):
        where.mkdir(parents=True, exist_ok=True)
        with open(where / ".lock", "w") as lock:  # one fetch at a time (test workers)
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = [p for p in where.glob(f"{PACKAGE}-*") if _is_tree(p)]
            if found:
                return _newest(found)
            run = subprocess.run(
                ["apt-get", "source", "-qq", PACKAGE],
                cwd=where,
                capture_output=True,
                text=True,
            )
        found = [p for p in where.glob(f"{PACKAGE}-*") if _is_tree(p)]
        if found:
            return _newest(found)
        detail = (run.stderr.strip().splitlines() or ["no source tree was unpacked"])[-1]
        raise TargetError(
            f"tfa: apt-get source {PACKAGE} failed ({detail}); add a deb-src entry "
            "beside the deb one and run apt-get update (make test does both as root), "
            "or pass --tfa-src DIR"
        )
    raise TargetError(
        f"tfa: no TF-A source: pass --tfa-src DIR, set SDEI_TFA_SRC, or install "
        f"apt-get and dpkg-dev so that `apt-get source {PACKAGE}` can fetch it"
    )


def _flags(build: str, pes: int) -> list[str]:
    debug = build == "debug"
    return [
        "-D__aarch64__",
        "-DIMAGE_BL31",
        f"-DDEBUG={int(debug)}",
        f"-DENABLE_ASSERTIONS={int(debug)}",
        f"-DLOG_LEVEL={40 if debug else 20}",
        f"-DPLATFORM_CORE_COUNT={pes}",
        f"-DPLAT_SDEI_CRITICAL_PRI={CRITICAL_PRIORITY:#x}",
        f"-DPLAT_SDEI_NORMAL_PRI={NORMAL_PRIORITY:#x}",
        "-DGIC_EXT_INTID=0",
        "-U_FORTIFY_SOURCE",
        "-O0" if debug else "-O2",
        "-g",
    ]


def _includes(src: Path) -> list[str]:
    return [
        "-include",
        str(HOST / "include" / "cdefs.h"),
        f"-I{HOST / 'include'}",
        *(f"-I{src / d}" for d in ("include", "include/arch/aarch64",
                                  "include/lib/el3_runtime/aarch64", "include/export",
                                  SDEI_DIR)),
    ]  # fmt: skip


_OPTION = re.compile(r"'((?:ENABLE|DISABLE|CTX_INCLUDE)_\w+)' undeclared")
FEATURE_OPTIONS = {"ENABLE_FEAT_PAN": 2}  # checked at run time: the simulated PE has FEAT_PAN


def _build_options(common: list[str], sources: list[Path]) -> list[str]:
    """TF-A's build options (ENABLE_FEAT_*, CTX_INCLUDE_*, ...) the release being built reads.

    Its makefiles give every one a default, and each release adds some. The ones the SDEI
    files need are found by compiling them: each one undeclared is an architecture feature
    this simulated PE does not have (0), except those in FEATURE_OPTIONS."""
    options: dict[str, int] = {}
    for _ in range(8):
        defined = [f"-D{k}={v}" for k, v in {**FEATURE_OPTIONS, **options}.items()]
        found: set[str] = set()
        for path in sources:
            run = subprocess.run(
                [*common, *defined, "-fsyntax-only", str(path)],
                capture_output=True,
                text=True,
                env={**os.environ, "LC_ALL": "C"},
            )
            found.update(_OPTION.findall(run.stderr))
        found -= options.keys() | FEATURE_OPTIONS.keys()
        if not found:
            break
        options.update(dict.fromkeys(found, 0))
    return [f"-D{k}={v}" for k, v in sorted({**FEATURE_OPTIONS, **options}.items())]


def build(src: Path, build: str = "debug", pes: int = 3) -> Path:
    """The shared library for `src` (cached by the content of every input)."""
    if build not in BUILDS:
        raise TargetError(f"tfa: unknown build {build!r}: one of {', '.join(BUILDS)}")
    if shutil.which("gcc") is None:
        raise TargetError("tfa: gcc is not installed (apt-get install gcc)")
    inputs = [src / SDEI_DIR / name for name in SOURCES] + [HOST / "host.c"]
    inputs += sorted((HOST / "include").rglob("*.h"))
    digest = hashlib.sha256()
    for flag in _flags(build, pes):
        digest.update(flag.encode())
    for path in inputs:
        digest.update(path.read_bytes())
    for header in sorted((src / "include").rglob("*.h")) + sorted((src / SDEI_DIR).glob("*.h")):
        digest.update(header.read_bytes())  # TF-A's own headers are inputs too
    out = cache_dir() / "tfa-build" / digest.hexdigest()[:16] / "libsdei_tfa.so"
    if out.is_file():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return _build_into(out, src, build, pes, inputs)
    except OSError as error:
        raise TargetError(
            f"tfa: the build cache {out.parent}: {error.strerror or error} (set "
            "XDG_CACHE_HOME to a writable directory)"
        ) from None


def _build_into(out: Path, src: Path, build: str, pes: int, inputs: list[Path]) -> Path:
    common = ["gcc", "-fPIC", "-std=gnu11", *_flags(build, pes), *_includes(src)]
    common += _build_options(common, inputs[: len(SOURCES)])
    # Built aside and renamed into place: test workers may build the same library at once.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix="build-") as tmp:
        objects = []
        for path in inputs[: len(SOURCES) + 1]:
            obj = Path(tmp) / (path.stem + ".o")
            extra = ["-D_GNU_SOURCE"] if path.name == "host.c" else []
            _compile([*common, *extra, "-c", str(path), "-o", str(obj)], path)
            objects.append(str(obj))
        library = Path(tmp) / out.name
        link = ["gcc", "-shared", "-Wl,-z,norelro", "-Wl,-Bsymbolic", "-Wl,--no-undefined",
                *objects, "-o", str(library)]  # fmt: skip
        _compile(link, out)
        library.replace(out)
    return out


def _compile(command: list[str], what: Path) -> None:
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        lines = [
            ln for ln in run.stderr.splitlines() if "error" in ln.lower() or "undefined ref" in ln
        ]
        first = (lines or run.stderr.strip().splitlines() or ["(no message)"])[0]
        raise TargetError(f"tfa: building {what.name} failed: {first}")


def _declare(lib: ctypes.CDLL) -> None:
    """Give the library's functions their C types."""
    u, i, u64 = ctypes.c_uint, ctypes.c_int, ctypes.c_uint64
    p64 = ctypes.POINTER(ctypes.c_uint64)
    sigs: dict[str, tuple[list[type], type | None]] = {
        "sdei_host_snapshot_size": ([], ctypes.c_size_t),
        "sdei_host_save": ([ctypes.c_void_p], None),
        "sdei_host_restore": ([ctypes.c_void_p], None),
        "sdei_host_failure": ([], ctypes.c_char_p),
        "sdei_host_boot": ([u, i, ctypes.c_void_p], i),
        "sdei_host_call": ([u, ctypes.c_uint32, u64, u64, u64, u64, u64, p64,
                            ctypes.POINTER(i)], i),
        "sdei_host_set_interrupted": ([u, u64, u64, p64], None),
        "sdei_host_context": ([u, p64], None),
        "sdei_host_candidates": ([u, ctypes.POINTER(u), i], i),
        "sdei_host_take": ([u, u, i], i),
        "sdei_host_owned": ([u, u], i),
        "sdei_host_assert_interrupt": ([u, u], None),
        "sdei_host_power_on": ([u], i),
    }  # fmt: skip
    for name, (args, result) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = result


class TfaTarget:
    """TF-A's dispatcher on the simulated reference platform (`tfa` profile numbering)."""

    def __init__(
        self,
        src: Path | None = None,
        *,
        build_kind: str = "debug",
        pes: int = 3,
        profile: str = "tfa",
    ) -> None:
        self.source = find_source(src).resolve()
        self.version = version(self.source)
        self.build_kind = build_kind
        self.name = f"tfa:{build_kind}"
        self.profile = profile
        self.pes = pes
        path = build(self.source, build_kind, pes)
        # A copy per target: two targets in one process must not share TF-A's state (the
        # loader would hand back the same library for the same file).
        with tempfile.TemporaryDirectory(prefix="sdei-tfa-") as tmp:
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            try:
                self._lib = ctypes.CDLL(str(copy), mode=ctypes.RTLD_LOCAL)
            except OSError as error:
                raise TargetError(f"tfa: {path} (built from {self.source}) does not load: "
                                  f"{error}; remove it to rebuild") from None  # fmt: skip
        _declare(self._lib)
        size = self._lib.sdei_host_snapshot_size()
        self._pristine = ctypes.create_string_buffer(size)
        self._scratch = ctypes.create_string_buffer(size)
        self._lib.sdei_host_save(self._pristine)
        platform = Platform.reference(pes=pes, profile="tfa")
        self._events = {e.number: e for e in platform.events}
        self.reset()

    # ---------------------------------------------------------------- plumbing

    def _check(self, status: int) -> None:
        if status != 0:
            raise TargetFailed(self._lib.sdei_host_failure().decode(errors="replace"))

    def _context(self, pe: int) -> list[int]:
        out = (ctypes.c_uint64 * 22)()
        self._lib.sdei_host_context(pe, out)
        return list(out)

    def _save(self) -> None:
        self._lib.sdei_host_save(self._scratch)

    def _restore(self) -> None:
        self._lib.sdei_host_restore(self._scratch)

    def _candidates(self, pe: int) -> list[int]:
        room = 64
        out = (ctypes.c_uint * room)()
        n = self._lib.sdei_host_candidates(pe, out, room)
        return list(out[:n])

    def _take(self, pe: int, intid: int, explicit: int = -1) -> int | None:
        """Present `intid` (or dispatch explicit event `explicit`) on `pe`: the event whose
        handler TF-A entered, or None."""
        entered = self._lib.sdei_host_take(pe, intid, explicit)
        if entered < 0:
            raise TargetFailed(self._lib.sdei_host_failure().decode(errors="replace"))
        return self._context(pe)[0] if entered else None

    def _trial(self, pe: int, intid: int, explicit: int = -1) -> int | None:
        self._save()
        try:
            return self._take(pe, intid, explicit)
        finally:
            self._restore()

    def _critical(self, event: int) -> bool:
        desc = self._events.get(event)
        return desc is not None and desc.critical

    # ---------------------------------------------------------------- Target

    def reset(self) -> None:
        self._online = [True] * self.pes
        self._raised: set[tuple[int, int]] = set()
        self._running: list[list[int]] = [[] for _ in range(self.pes)]
        self._exits: list[Exit | None] = [None] * self.pes
        self._check(self._lib.sdei_host_boot(self.pes, 1, self._pristine))

    def call(self, pe: int, function: int, *args: int) -> int:
        regs = [a & MASK64 for a in args[:5]] + [0] * (5 - min(len(args), 5))
        x0 = ctypes.c_uint64()
        completed = ctypes.c_int()
        self._check(
            self._lib.sdei_host_call(
                pe, function & 0xFFFF_FFFF, *regs, ctypes.byref(x0), ctypes.byref(completed)
            )
        )
        if completed.value:
            self._exits[pe] = self._exit(pe, function, regs[0])
            return 0
        value = x0.value
        return value - (1 << 64) if value >> 63 else value

    def _exit(self, pe: int, function: int, status: int) -> Exit:
        ctx = self._context(pe)
        event = self._running[pe].pop() if self._running[pe] else -1
        x = tuple(ctx[:18])
        if function == Function.EVENT_COMPLETE_AND_RESUME:
            return Exit("resume", event, ctx[18], ctx[19], x, ctx[20], ctx[21], 0)
        return Exit("complete", event, ctx[18], ctx[19], x, None, None, status)

    def interrupt_asserted(self, intid: int, pe: int) -> bool:
        if not 0 <= intid < 1020 or not self._lib.sdei_host_owned(pe, intid):
            return False
        self._lib.sdei_host_assert_interrupt(pe, intid)
        return True

    def raise_event(self, event: int, pe: int) -> bool:
        desc = self._events.get(event)
        if desc is None:
            raise ValueError(f"event {event:#x} is not defined by the platform")
        if desc.interrupt is not None:
            return self.interrupt_asserted(desc.interrupt, pe)
        if not self._online[pe] or self._trial(pe, 0, event) != event:
            return False
        self._raised.add((event, pe))  # EL3 dispatches it when the harness says so
        return True

    def deliverable(self, pe: int) -> tuple[int, ...]:
        if not self._online[pe]:
            return ()
        found: set[int] = set()
        for intid in self._candidates(pe):
            event = self._trial(pe, intid)
            if event is not None:
                found.add(event)
        for event, where in sorted(self._raised):
            if where == pe and self._trial(pe, 0, event) == event:
                found.add(event)
        critical = {e for e in found if self._critical(e)}
        return tuple(sorted(critical or found))

    def dispatch(self, pe: int, event: int, interrupted: Interrupted) -> Entry | None:
        if not self._online[pe]:
            return None
        x = (ctypes.c_uint64 * 18)(*(v & MASK64 for v in interrupted.x[:18]))
        self._lib.sdei_host_set_interrupted(
            pe, interrupted.pc & MASK64, interrupted.pstate & MASK64, x
        )
        if (event, pe) in self._raised:
            self._save()
            if self._take(pe, 0, event) == event:
                self._raised.discard((event, pe))
                return self._entered(pe, event)
            self._restore()
        for intid in self._candidates(pe):
            self._save()
            if self._take(pe, intid) == event:
                return self._entered(pe, event)
            self._restore()
        return None

    def _entered(self, pe: int, event: int) -> Entry:
        ctx = self._context(pe)
        self._running[pe].append(event)
        pstate = ctx[19]
        return Entry(
            event,
            ctx[18],
            (ctx[0], ctx[1], ctx[2], ctx[3]),
            pstate,
            (pstate >> 2) & 3,
            self._critical(event),
        )

    def pop_exit(self, pe: int) -> Exit | None:
        exit_, self._exits[pe] = self._exits[pe], None
        return exit_

    def power_on(self, pe: int) -> None:
        self._online[pe] = True
        self._check(self._lib.sdei_host_power_on(pe))

    def power_off(self, pe: int) -> list[Exit]:
        # TF-A has no CPU_OFF hook for SDEI: a running handler is simply never completed.
        self._online[pe] = False
        self._raised = {(e, p) for e, p in self._raised if p != pe}
        return []

    def close(self) -> None:
        pass

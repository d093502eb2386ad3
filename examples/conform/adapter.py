#!/usr/bin/env python3
"""An example `process:` target for `sdei conform`: the line protocol of docs/conform.md on
stdin/stdout, answered by a dispatcher.

Here the dispatcher is sdei's own (`sdei.firmware.Dispatcher`), so the protocol can be tested
end to end; yours replaces `make` with whatever starts your dispatcher (a C library through
ctypes, a Rust binary's FFI, a socket to a simulator) and answers the same requests.

    sdei conform --target 'process:python3 examples/conform/adapter.py'
    sdei conform --target 'process:python3 examples/conform/adapter.py --bug signal' --diff

`--bug signal` makes EVENT_SIGNAL refuse a target PE whose event 0 is not enabled, as TF-A
has done since 2024 - a difference from the `spec` profile for the fuzzer to find.
"""

from __future__ import annotations

import argparse
from typing import Any

from sdei.conform.protocol import serve
from sdei.firmware import Dispatcher, FirmwareInterrupts, Platform

EVENT_SIGNAL = 0xC400_002F
EVENT_STATUS = 0xC400_0028


class SignalChecksTarget:
    """A dispatcher whose EVENT_SIGNAL refuses a target that has not enabled event 0."""

    def __init__(self, d: Dispatcher, mpidrs: tuple[int, ...]) -> None:
        self.d = d
        self.mpidrs = mpidrs

    def call(self, pe: int, function: int, *args: int) -> int:
        if function == EVENT_SIGNAL and len(args) >= 2 and args[1] in self.mpidrs:
            target = self.mpidrs.index(args[1])
            if self.d.call(target, EVENT_STATUS, 0) & 2 == 0:
                return -2  # INVALID_PARAMETERS
        return self.d.call(pe, function, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.d, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bug", choices=("signal",), help="answer with a deliberate difference")
    bug = parser.parse_args().bug

    def make(pes: int, profile: str) -> Any:
        platform = Platform.reference(pes=pes, profile=profile)
        d = Dispatcher(platform, FirmwareInterrupts(platform.secure_interrupts))
        return SignalChecksTarget(d, platform.mpidrs) if bug == "signal" else d

    serve(make)


if __name__ == "__main__":
    main()

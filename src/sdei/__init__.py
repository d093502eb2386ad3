"""sdei: an executable model of Arm's Software Delegated Exception Interface (DEN0054)."""

__version__ = "0.1.0"

from sdei import accel as _accel

_accel.install()  # the compiled hot paths, when built for these sources (sdei.accel)

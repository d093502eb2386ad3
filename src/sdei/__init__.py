"""sdei: an executable model of Arm's Software Delegated Exception Interface (DEN0054)."""

__version__ = "0.1.0"

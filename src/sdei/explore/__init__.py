"""The explorer: strategies that search a scenario's interleavings for violations, and the
counterexamples they find (shortened, replayable, drawn).

    from sdei.explore import explore
    report = explore("examples/scenarios/counter.py::lost_update", strategy="dfs")
    report.status(); report.counterexample
"""

from sdei.explore.api import PROFILES, STRATEGIES, Report, UsageError, explore, save
from sdei.explore.budget import Budget
from sdei.explore.counterexample import (
    Counterexample,
    ReplayFileError,
    ReplayOutcome,
    explain,
    replay,
)
from sdei.explore.target import Target

__all__ = [
    "PROFILES",
    "STRATEGIES",
    "Budget",
    "Counterexample",
    "ReplayFileError",
    "ReplayOutcome",
    "Report",
    "Target",
    "UsageError",
    "explain",
    "explore",
    "replay",
    "save",
]

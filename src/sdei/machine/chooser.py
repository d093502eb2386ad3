"""One place for all nondeterminism: `choose(kind, options) -> index`.

A run is fully determined by its scenario and its list of choices. The engine records every
choice it asks for; replaying the recorded indices reproduces the run step for step.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol

from sdei.text import counted


class Chooser(Protocol):
    def choose(self, kind: str, options: Sequence[Any]) -> int: ...


class Offered(list):  # type: ignore[type-arg]
    """The machine's options for a step, with where the first one that is not a context's
    step is (an SDEI event, an interrupt or a wake-up), or None: the machine knows it without
    a scan."""

    __slots__ = ("first_take",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.first_take: int | None = None


class DefaultChooser:
    """Deterministic and fair: an offered SDEI delivery or interrupt is taken at once,
    otherwise PEs take turns (round robin over the options)."""

    def __init__(self) -> None:
        self._turn = 0

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        if kind != "step":
            return 0
        if type(options) is Offered:
            if options.first_take is not None:
                return options.first_take
        else:
            for i, option in enumerate(options):
                if option[0] != "run":
                    return i
        self._turn += 1
        return self._turn % len(options)


class RandomChooser:
    """Seeded uniform choices; the same seed gives the same run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        return self._random.randrange(len(options))


class Divergence(Exception):
    """A replay asked for a choice that is not available."""

    def __init__(self, position: int, kind: str, wanted: int | None, available: int) -> None:
        if wanted is None:
            detail = f"the replay has no choice left ({available} options offered)"
        else:
            detail = f"the replay chose option {wanted} but only {available} were offered"
        super().__init__(f"diverged at choice {position} ({kind}): {detail}")
        self.position = position
        self.kind = kind

    @classmethod
    def leftover(cls, position: int, remaining: int) -> Divergence:
        error = cls(position, "end", None, 0)
        error.args = (
            f"diverged at choice {position}: the run ended with "
            f"{counted(remaining, 'recorded choice')} unused",
        )
        return error


class ReplayChooser:
    """Replays recorded indices; after they run out, falls back to `then` (or diverges)."""

    def __init__(self, choices: Sequence[int], then: Chooser | None = None) -> None:
        self._choices = list(choices)
        self._position = 0
        self._then = then

    @property
    def remaining(self) -> int:
        """Recorded choices not used yet (a replay that ends with some left has diverged)."""
        return max(0, len(self._choices) - self._position)

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        if self._position >= len(self._choices):
            if self._then is None:
                raise Divergence(self._position, kind, None, len(options))
            return self._then.choose(kind, options)
        wanted = self._choices[self._position]
        if not 0 <= wanted < len(options):
            raise Divergence(self._position, kind, wanted, len(options))
        self._position += 1
        return wanted

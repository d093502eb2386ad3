"""Fixtures for the dispatcher tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import PROFILES, Profile, Rig, make_rig


@pytest.fixture(params=PROFILES)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """A fresh 3-PE reference dispatcher with its own interrupt port, once per profile."""
    profile: Profile = request.param
    yield make_rig(profile)

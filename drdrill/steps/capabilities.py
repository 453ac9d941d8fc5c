"""What a step does when the target lacks a capability it needs: skip, saying why."""

from __future__ import annotations

from typing import TypeVar

import pytest

from drdrill.errors import CapabilityMissing
from drdrill.orchestration.drill import Drill
from drdrill.targets.base import require

__all__ = ["needs"]

C = TypeVar("C")


def needs(drill: Drill, capability: type[C], what: str) -> C:
    """The drill's target as ``capability``; the scenario is skipped, saying why, without it."""
    try:
        return require(drill.target, capability, what)
    except CapabilityMissing as exc:
        pytest.skip(str(exc))

"""How a Chaos Toolkit activity finds the drill it belongs to."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from drdrill.config import DrillConfig, load_config
from drdrill.stopping import StopButton
from drdrill.targets import open_target
from drdrill.targets.base import Target
from drdrill.timeline import Timeline

__all__ = ["ChaosContext", "context_from"]


@dataclass
class ChaosContext:
    """The running drill, handed to activities through the ``drill`` configuration key."""

    target: Target
    config: DrillConfig
    timeline: Timeline | None = None
    stop: StopButton | None = None
    """The drill's stop button: SIGTERM inside an experiment presses it (see the control)."""
    acknowledged: Callable[[], Collection[str]] | None = None
    """The ids of the writes customers were told succeeded so far (the drill's ledger):
    the failback checks each is on both databases before traffic moves."""


def context_from(configuration: Mapping[str, Any] | None) -> ChaosContext:
    """The drill's context, or one built from the configuration under plain ``chaos run``."""
    configuration = configuration or {}
    drill = configuration.get("drill")
    if isinstance(drill, ChaosContext):
        return drill
    config = load_config(configuration.get("drill_config") or None)
    target = open_target(
        config,
        str(configuration.get("target") or "lab"),
        confirm=str(configuration.get("confirm", "")).lower() in {"1", "true", "yes"},
    )
    return ChaosContext(target, config)

"""How a Chaos Toolkit activity finds the drill it belongs to.

Inside a drill the activity gets the drill's context, and the drill holds the target's
lock. Under plain ``chaos run`` there is no drill: the experiment's first drdrill
activity takes the target's lock (``drdrill.support.lock``) for the rest of the ``chaos``
process — its method and its rollbacks — so an experiment is refused at once, naming
the holder, while a drill or a lab command holds the target, and a drill is refused
while the experiment runs. An experiment a drill starts in its own process, or in a
child process (``DRDRILL_LOCK`` inherited), runs under the drill's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from drdrill.config import DrillConfig, load_config
from drdrill.orchestration.stopping import StopButton
from drdrill.records.timeline import Timeline
from drdrill.support.lock import TargetLock
from drdrill.targets import open_target, target_lock
from drdrill.targets.base import Target

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
    name = str(configuration.get("target") or "lab")
    _hold(config, name)
    target = open_target(
        config,
        name,
        confirm=str(configuration.get("confirm", "")).lower() in {"1", "true", "yes"},
    )
    return ChaosContext(target, config)


_HELD: list[TargetLock] = []
"""The target locks plain ``chaos run`` took: kept until the process ends."""


def _hold(config: DrillConfig, name: str) -> None:
    """Take target ``name``'s lock for the rest of this process (``TargetBusy`` naming
    the holder when a drill or another command has it)."""
    lock = target_lock(config, name, command="chaos run")
    if all(held.path != lock.path for held in _HELD):
        _HELD.append(lock.acquire())

"""Chaos Toolkit probes: the steady state a drill starts from, and where a failback stands."""

from __future__ import annotations

from chaoslib.types import Configuration, Secrets

from drdrill.chaos.context import context_from
from drdrill.records.timeline import NOTE
from drdrill.targets.base import FailbackTarget, ReplicationMonitor

__all__ = ["replica_lag_under_alarm", "services_healthy", "serving_region"]


def services_healthy(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Health and critical flows pass through the global endpoint."""
    return context_from(configuration).target.verify_services().ok


def replica_lag_under_alarm(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """The DR replica streams with a lag under the plan's alarm (300 s by default).
    A target that cannot report its lag passes, with a note in the drill's timeline."""
    ctx = context_from(configuration)
    if not isinstance(ctx.target, ReplicationMonitor):
        if ctx.timeline is not None:
            ctx.timeline.record(NOTE, "replica_lag_unknown", target=ctx.target.name)
        return True
    lag = ctx.target.replication_lag_s()
    return lag is not None and lag < ctx.config.alarms.replica_lag


def serving_region(configuration: Configuration = None, secrets: Secrets = None) -> str | None:
    """The region whose database the platform writes to (None: the target cannot say)."""
    target = context_from(configuration).target
    return target.serving_region() if isinstance(target, FailbackTarget) else None

"""Chaos Toolkit actions: inject the disaster, run the plan's DR activation phases, and
carry the platform home again (the failback phases).

Each is a plain function, domain arguments first, ``configuration``/``secrets``
last. A failure raises ``ActivityFailed`` so the experiment records it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from drdrill.chaos.context import ChaosContext, context_from
from drdrill.errors import DrillError
from drdrill.records.notes import ConsistencyChecked, SwitchoverMeasured
from drdrill.records.timeline import FAULT_INJECTED, NOTE
from drdrill.targets.base import FAILURE_MODES, FailbackTarget

__all__ = [
    "confirm_region_down",
    "fail_over_dns",
    "fail_region",
    "promote_database",
    "rebuild_database",
    "repoint_applications",
    "restore_region",
    "scale_down_region",
    "scale_region",
    "shift_traffic",
    "switchover",
    "validate_standby",
    "verify_region_for_failback",
    "verify_services",
]


@contextlib.contextmanager
def _as_activity_failure(doing: str = "") -> Iterator[None]:
    """A drdrill error inside an activity is that activity's failure in the journal
    (``doing``: what could not be done, said before the error)."""
    try:
        yield
    except DrillError as exc:
        raise ActivityFailed(f"{doing}: {exc}" if doing else str(exc)) from exc


def fail_region(
    region: str = "primary",
    mode: str = "power-off",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Fail a whole region: power-off (everything killed), blackhole (frozen: requests
    hang) or partition (cut off from the other region and the edge). The moment this
    returns success is the drill's t_fault."""
    if mode not in FAILURE_MODES:
        raise ActivityFailed(f"mode {mode!r}: expected one of {', '.join(FAILURE_MODES)}")
    ctx = context_from(configuration)
    with _as_activity_failure():
        ctx.target.fail_region(region, mode)
    t_fault = ctx.timeline.record(FAULT_INJECTED, region, mode=mode).t_ns if ctx.timeline else None
    return {"region": region, "mode": mode, "t_fault_ns": t_fault}


def restore_region(
    region: str = "primary", configuration: Configuration = None, secrets: Secrets = None
) -> None:
    """Undo a region failure (the rollback of the region-failure experiment)."""
    ctx = context_from(configuration)
    with _as_activity_failure():
        ctx.target.restore_region(region)


def confirm_region_down(
    region: str = "primary",
    checks: int = 3,
    interval_s: float = 0.1,
    timeout_s: float = 0.3,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Phase 1, assessment: confirm the region is truly unavailable (``checks`` failed
    verifications in a row, started ``interval_s`` apart or back to back when one takes
    longer, each given ``timeout_s``) before activating DR; fails if the region is healthy."""
    ctx = context_from(configuration)
    failures = []
    for n in range(checks):
        started = time.monotonic()
        try:
            result = ctx.target.verify_services(region, timeout_s)
        except DrillError as exc:
            failures.append(str(exc))
        else:
            if result.ok:
                raise ActivityFailed(f"region {region} answers: no disaster to recover from")
            failures.append(next(c.detail for c in result.checks if not c.ok))
        if n + 1 < checks:
            time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    if ctx.timeline is not None:
        ctx.timeline.record(NOTE, "dr_activation_started", region=region)
    return {"region": region, "confirmed_down": True, "evidence": failures[:3]}


def fail_over_dns(
    to_region: str = "dr", configuration: Configuration = None, secrets: Secrets = None
) -> None:
    """Phase 2: point the global record at ``to_region`` (the DR plan's
    ``failover-to-dr.json`` UPSERT, docs/dr-plan.md)."""
    ctx = context_from(configuration)
    with _as_activity_failure():
        ctx.target.fail_over_dns(to_region)


def scale_region(
    region: str = "dr",
    replicas: int = 0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> None:
    """Phase 3: scale the region's application tier to ``replicas`` (0: the target's own
    serving size — the lab's ``dr_scaled_workers``, the aws profile's replicas)."""
    ctx = context_from(configuration)
    with _as_activity_failure():
        ctx.target.scale_region(region, replicas or None)


def promote_database(
    region: str = "dr", configuration: Configuration = None, secrets: Secrets = None
) -> None:
    """Phase 4: promote the region's read replica to a writable primary."""
    ctx = context_from(configuration)
    with _as_activity_failure():
        ctx.target.promote_database(region)


def repoint_applications(
    region: str = "dr",
    database_region: str = "dr",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> None:
    """Phase 5: set the applications' DATABASE_URL to the promoted database and roll out."""
    ctx = context_from(configuration)
    with _as_activity_failure():
        ctx.target.repoint_applications(region, database_region)


def verify_services(
    region: str = "",
    timeout_s: float = 60.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Phase 6: health and critical flows pass (through the global endpoint when
    ``region`` is empty); retried until ``timeout_s``."""
    ctx = context_from(configuration)
    deadline = time.monotonic() + timeout_s
    while True:
        result = ctx.target.verify_services(region or None)
        if result.ok:
            return {c.name: round(c.latency_s, 4) for c in result.checks}
        if time.monotonic() > deadline:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in result.checks if not c.ok)
            raise ActivityFailed(f"services not verified after {timeout_s}s: {failed}")
        time.sleep(0.1)


# -- failback (the plan's Failback Procedures) ---------------------------------------


def _failback(configuration: Configuration) -> tuple[ChaosContext, FailbackTarget]:
    ctx = context_from(configuration)
    if not isinstance(ctx.target, FailbackTarget):
        name = ctx.target.name
        raise ActivityFailed(f"target {name!r} cannot fail back (it lacks FailbackTarget)")
    return ctx, ctx.target


def rebuild_database(
    region: str = "primary", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Failback 1, prepare: rebuild ``region``'s database as a replica of the serving one
    (the lab: pg_rewind of the old primary when its timeline allows, else a base backup).
    Refuses while the region is still down."""
    ctx, target = _failback(configuration)
    with _as_activity_failure():
        done = target.rebuild_database(region)
    if ctx.timeline is not None:
        ctx.timeline.record(NOTE, "database_rebuilt", **done)
    return done


def verify_region_for_failback(
    region: str = "primary",
    timeout_s: float = 60.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Failback 2, verify: ``region``'s health and critical flows pass through its own
    entry point, and both databases agree — census of orders by commit time, and every
    write acknowledged so far (the drill's ledger) present on both. An inconsistency fails
    the activity, naming the rows, so no traffic moves."""
    ctx, target = _failback(configuration)
    services = verify_services(region, timeout_s, configuration, secrets)
    acknowledged = list(ctx.acknowledged()) if ctx.acknowledged is not None else []
    with _as_activity_failure("no traffic moved, the databases could not be compared"):
        consistency = target.check_consistency(acknowledged)
    if ctx.timeline is not None:
        ConsistencyChecked(
            consistent=consistency.consistent,
            as_of=consistency.as_of.isoformat(),
            acknowledged=consistency.acknowledged,
            lost_before=tuple(consistency.lost_before),
            problems=tuple(consistency.problems()),
        ).record(ctx.timeline)
    if not consistency.consistent:
        raise ActivityFailed(
            "the databases differ, no traffic moved: " + "; ".join(consistency.problems())
        )
    return {"services": services, "consistency": consistency.to_json()}


def shift_traffic(
    to_region: str = "primary",
    percent: int = 100,
    dwell_s: float = -1.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Failback 3, one traffic step: ``percent`` % of customers to ``to_region`` (weighted
    records; 100 restores the failover records), then hold it ``dwell_s`` (negative: the
    configuration's ``failback.step_dwell``) so the step's error rate is measured."""
    ctx, target = _failback(configuration)
    with _as_activity_failure():
        target.shift_traffic(to_region, int(percent))
    hold = float(ctx.config.failback.step_dwell) if dwell_s < 0 else dwell_s
    time.sleep(hold)
    return {"to_region": to_region, "percent": int(percent), "held_s": hold}


def switchover(
    to_region: str = "primary", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Failback 4: planned switchover of the database to ``to_region`` — fence writes,
    wait for the replica, promote it, repoint the applications, re-attach the former
    serving database as its replica. The fence → writable time goes into the timeline."""
    ctx, target = _failback(configuration)
    with _as_activity_failure():
        fenced_s = target.switchover(to_region)
    if ctx.timeline is not None:
        SwitchoverMeasured(to_region, fenced_s).record(ctx.timeline)
    return {"to_region": to_region, "fenced_s": fenced_s}


def scale_down_region(
    region: str = "dr", configuration: Configuration = None, secrets: Secrets = None
) -> None:
    """Failback 5: scale ``region`` back down to its warm-standby size."""
    _, target = _failback(configuration)
    with _as_activity_failure():
        target.scale_down_region(region)


def validate_standby(
    region: str = "dr", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Failback 6: ``region`` is ready for the next activation — its database replicates
    from the primary again with a lag under the plan's alarm."""
    _, target = _failback(configuration)
    with _as_activity_failure():
        lag = target.validate_standby(region)
    return {"region": region, "lag_s": lag}

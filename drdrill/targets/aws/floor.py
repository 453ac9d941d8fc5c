"""The activation's floor on AWS: the least each phase can take, from the profile.

Before a drill, a team wants to know whether a target is reachable at all. AWS puts a
floor under every phase that no runbook can beat:

- **assessment** — Route 53 marks the primary unhealthy only after
  ``failure threshold`` consecutive failed checks, ``interval`` apart;
- **dns_failover** — the UPSERT takes seconds, but resolvers keep the old answer for the
  record's TTL;
- **scale_dr** — nodes beyond the warm standby's must launch and join the cluster, then
  the replicas start; with enough warm nodes only the replicas start;
- **database_promotion** — the read replica's promotion until it is writable;
- **repoint_applications** — a rolling restart with the new database variable;
- **service_verification** — one round of checks: no floor of AWS's own.

The figures are ``AwsProfile.timings`` (typical values by default; replace them with
what your account measured). The floor is a lower bound of the customer-visible RTO:
the phases run one after another.

The failback has a floor too (``failback_floor``), by ``failback.method``:

- **prepare_primary** — snapshot: the DR instance's snapshot, its copy into the primary
  region and the restore (writes refused throughout); read-replica: the cross-region
  replica's creation; then a rollout of the primary region's deployments;
- **verify_primary** — one census of both databases: no floor of AWS's own;
- **traffic_shift** — per step, resolvers follow the new weights only after the TTL;
- **switchover** — the fence applied, a ``ReplicaLag`` period reported after it
  (read-replica only) and the promotion, a rollout; then DR's new replica is created.
  The customer-visible outage of writes is the part before the rollout ended
  (``switchover_outage_floor``);
- **scale_down_dr** — no floor of AWS's own (nodes and replicas only go);
- **validate_dr** — one ``ReplicaLag`` period for a datapoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from drdrill.measurement.phases import ACTIVATION_PHASES, FAILBACK_PHASES
from drdrill.targets.aws.profile import AwsProfile

__all__ = ["PhaseFloor", "activation_floor", "failback_floor", "switchover_outage_floor"]


@dataclass(frozen=True)
class PhaseFloor:
    """The least one activation phase can take on this platform, and why."""

    phase: str
    seconds: float
    why: str


def _scale_dr(profile: AwsProfile) -> tuple[float, str]:
    dr = profile.regions["dr"]
    timings = profile.timings
    warm = dr.standby_scaling.desired_size if dr.standby_scaling else dr.scaling.desired_size
    serving = dr.scaling.desired_size
    if serving > warm:
        return (
            timings.node_launch_s + timings.pod_start_s,
            f"nodegroup {dr.nodegroup} {warm} -> {serving} nodes: node launch "
            f"{timings.node_launch_s:g} s + replica start {timings.pod_start_s:g} s",
        )
    return timings.pod_start_s, (
        f"nodegroup {dr.nodegroup} already at {warm} nodes: replica start {timings.pod_start_s:g} s"
    )


def activation_floor(profile: AwsProfile) -> list[PhaseFloor]:
    """The floor of every activation phase, in the plan's order."""
    t = profile.timings
    detection = t.health_check_interval_s * t.health_check_failure_threshold
    scale_s, scale_why = _scale_dr(profile)
    dr = profile.regions["dr"]
    floors = {
        "assessment": (
            detection,
            f"Route 53 health check: {t.health_check_failure_threshold} failures x "
            f"{t.health_check_interval_s} s interval",
        ),
        "dns_failover": (
            float(profile.dns.ttl),
            f"resolvers keep the old answer for the record TTL ({profile.dns.ttl} s)",
        ),
        "scale_dr": (scale_s, scale_why),
        "database_promotion": (
            t.rds_promotion_s,
            f"promote-read-replica of {dr.rds_instance} (estimate {t.rds_promotion_s:g} s)",
        ),
        "repoint_applications": (
            t.rollout_s,
            f"rolling restart of {', '.join(dr.deployments)} (estimate {t.rollout_s:g} s)",
        ),
        "service_verification": (0.0, "one round of checks: no floor of AWS's own"),
    }
    return [PhaseFloor(p.name, *floors[p.name]) for p in ACTIVATION_PHASES]


def switchover_outage_floor(profile: AwsProfile) -> tuple[float, str]:
    """The least the switchover's outage of writes can last: fence → rolled out."""
    t = profile.timings
    if profile.failback.method == "snapshot":
        return t.rollout_s, (
            f"writes already refused since the snapshot: rollout {t.rollout_s:g} s "
            "(the freeze itself lasts the whole failback)"
        )
    return t.parameter_apply_s + t.metric_period_s + t.rds_promotion_s + t.rollout_s, (
        f"fence {t.parameter_apply_s:g} s + a ReplicaLag period {t.metric_period_s:g} s + "
        f"promotion {t.rds_promotion_s:g} s + rollout {t.rollout_s:g} s"
    )


def failback_floor(profile: AwsProfile, steps: tuple[int, ...]) -> list[PhaseFloor]:
    """The floor of every failback phase, in the plan's order (``steps``: the traffic
    steps' percentages)."""
    t = profile.timings
    if profile.failback.method == "snapshot":
        prepare = t.rds_snapshot_s + t.rds_snapshot_copy_s + t.rds_restore_s + t.rollout_s
        prepare_why = (
            f"snapshot {t.rds_snapshot_s:g} s + cross-region copy {t.rds_snapshot_copy_s:g} s"
            f" + restore {t.rds_restore_s:g} s + rollout {t.rollout_s:g} s"
        )
    else:
        prepare = t.rds_replica_create_s + t.rollout_s
        prepare_why = (
            f"cross-region read replica {t.rds_replica_create_s:g} s + rollout {t.rollout_s:g} s"
        )
    outage, outage_why = switchover_outage_floor(profile)
    ttl = float(profile.dns.ttl)
    floors = {
        "prepare_primary": (prepare, prepare_why),
        "verify_primary": (0.0, "one census of both databases: no floor of AWS's own"),
        "traffic_shift": (
            ttl * len(steps),
            f"{len(steps)} steps x record TTL {profile.dns.ttl} s (resolvers follow the weights)",
        ),
        "switchover": (
            outage + t.rds_replica_create_s,
            f"{outage_why}; then DR's new replica {t.rds_replica_create_s:g} s",
        ),
        "scale_down_dr": (0.0, "nodes and replicas only go: no floor of AWS's own"),
        "validate_dr": (t.metric_period_s, f"a ReplicaLag datapoint ({t.metric_period_s:g} s)"),
    }
    return [PhaseFloor(p.name, *floors[p.name]) for p in FAILBACK_PHASES]

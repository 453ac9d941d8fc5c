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
"""

from __future__ import annotations

from dataclasses import dataclass

from drdrill.phases import ACTIVATION_PHASES
from drdrill.targets.aws.profile import AwsProfile

__all__ = ["PhaseFloor", "activation_floor"]


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

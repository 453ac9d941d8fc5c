"""Configuration of an AWS target profile (``targets.<name>`` with ``kind: aws``).

A complete example is in docs/aws.md. Regions are the logical ``primary`` and
``dr``; each names its AWS region, EKS cluster and nodegroup, kube context,
deployments, RDS instance and S3 buckets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AwsProfile",
    "AwsRegion",
    "AwsTimings",
    "DnsSettings",
    "FailureMethod",
    "RecordTarget",
    "RegionName",
    "Scaling",
    "Waiters",
]

RegionName = Literal["primary", "dr"]
FailureMethod = Literal["scale-nodegroups", "stop-instances", "fis"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scaling(_Model):
    """An EKS nodegroup scaling config (``update-nodegroup-config --scaling-config``)."""

    min_size: int = Field(ge=0)
    max_size: int = Field(ge=1)
    desired_size: int = Field(ge=0)


class AwsRegion(_Model):
    """One side of the platform: where it runs and what it is made of."""

    name: str
    """The AWS region, e.g. us-east-1."""
    eks_cluster: str
    nodegroup: str
    scaling: Scaling
    """Capacity when this region serves (the plan: 9 nodes)."""
    standby_scaling: Scaling | None = None
    """Warm-standby capacity (the plan: 3 nodes); None for the primary."""
    kube_context: str
    namespace: str = "production"
    deployments: tuple[str, ...] = ("order-service", "customer-service", "product-service")
    replicas: int = Field(9, ge=1)
    rds_instance: str
    """The primary instance (region primary) or its cross-region read replica (dr)."""
    database_url: str
    """What the applications' database variable becomes when they use this region's database."""
    reader_dsn: str | None = None
    """A read-only DSN the harness may use to check the write ledger (optional)."""
    s3_buckets: tuple[str, ...] = ()
    """Versioned buckets held in this region (the first is the region's data bucket)."""
    endpoint: str | None = None
    """The region's own entry point (its load balancer), for region-level checks
    (phase 1 confirms the failed region is down through it); default: the global one."""
    fis_template_id: str | None = None
    """The AWS FIS experiment template that fails this region (failure_method fis)."""
    instance_ids: tuple[str, ...] = ()
    """EC2 instances to stop (failure_method stop-instances); empty: every running
    instance tagged ``eks:cluster-name=<eks_cluster>``."""


class RecordTarget(_Model):
    """Where the global name points when a region serves."""

    value: str
    """The record value, or the alias DNS name when ``alias_hosted_zone_id`` is set."""
    alias_hosted_zone_id: str | None = None
    """The load balancer's hosted zone: makes the record an alias (the plan's records)."""
    evaluate_target_health: bool = True
    health_check_id: str | None = None
    """The Route 53 health check attached to this region's record."""


def _set_identifiers() -> dict[RegionName, str]:
    return {"primary": "Primary", "dr": "Secondary"}


class DnsSettings(_Model):
    """The Route 53 records of the global name (failover, or weighted for a gradual shift)."""

    hosted_zone_id: str
    record_name: str
    record_type: Literal["A", "AAAA", "CNAME"] = "CNAME"
    ttl: int = Field(60, ge=0)
    routing: Literal["failover", "weighted"] = "failover"
    targets: dict[RegionName, RecordTarget]
    set_identifiers: dict[RegionName, str] = Field(default_factory=_set_identifiers)
    health_check_ids: tuple[str, ...] = ()
    """Further health checks to probe (besides those on the records)."""

    @model_validator(mode="after")
    def _both_regions(self) -> DnsSettings:
        for mapping in ("targets", "set_identifiers"):
            missing = {"primary", "dr"} - set(getattr(self, mapping))
            if missing:
                raise ValueError(f"{mapping} needs an entry for {sorted(missing)}")
        return self

    def all_health_check_ids(self) -> tuple[str, ...]:
        """Every configured health check, record checks first, without duplicates."""
        ids = [t.health_check_id for t in self.targets.values() if t.health_check_id]
        return tuple(dict.fromkeys([*ids, *self.health_check_ids]))


class Waiters(_Model):
    """Timeouts (seconds) of every wait the target performs, and how often it polls."""

    poll_s: float = Field(15.0, gt=0)
    nodegroup_s: float = Field(1800.0, gt=0)
    database_s: float = Field(3600.0, gt=0)
    snapshot_s: float = Field(3600.0, gt=0)
    rollout_s: float = Field(900.0, gt=0)
    experiment_s: float = Field(600.0, gt=0)
    dns_s: float = Field(600.0, gt=0)
    """A Route 53 change until it is INSYNC (on every authoritative server): the
    plan's "verify DNS propagation" in phase 2."""
    kube_poll_s: float = Field(2.0, gt=0)


class AwsTimings(_Model):
    """What AWS itself takes, in seconds: the estimates behind the activation's floor that
    ``drdrill plan`` prints (``drdrill.targets.aws.floor``). The defaults are typical
    figures, not promises; replace them with what your account measured.

    The health-check settings must be the ones your Route 53 health checks use.
    """

    health_check_interval_s: Literal[10, 30] = 30
    """Route 53's ``RequestInterval`` (10 = fast health checks)."""
    health_check_failure_threshold: int = Field(3, ge=1, le=10)
    """Route 53's ``FailureThreshold``: consecutive failures before unhealthy."""
    node_launch_s: float = Field(180.0, ge=0)
    """An EC2 node from the nodegroup's scale-up to Ready in the cluster."""
    pod_start_s: float = Field(30.0, ge=0)
    """A replica from scheduled to ready (image pull, start, readiness probe)."""
    rds_promotion_s: float = Field(300.0, ge=0)
    """``promote-read-replica`` until the instance is available and writable."""
    rollout_s: float = Field(60.0, ge=0)
    """A rolling restart of the deployments with the new database variable."""


class AwsProfile(_Model):
    """An AWS platform drdrill may drill, with its safety allow-list."""

    kind: Literal["aws"] = "aws"
    allowed_account_ids: tuple[str, ...] = Field(min_length=1)
    global_endpoint: str
    dns: DnsSettings
    regions: dict[RegionName, AwsRegion]
    failure_method: FailureMethod = "scale-nodegroups"
    database_env_var: str = "DATABASE_URL"
    """The environment variable that points the applications at their database."""
    kubeconfig: Path | None = None
    """Default: ``$KUBECONFIG`` or ``~/.kube/config``."""
    endpoint_url: str | None = None
    """Send every AWS call here (an emulator); default: boto3's own resolution, which
    honours ``AWS_ENDPOINT_URL``."""
    waiters: Waiters = Waiters()
    timings: AwsTimings = AwsTimings()
    """AWS's own durations, for the activation's expected floor (``drdrill plan``)."""
    max_attempts: int = Field(8, ge=1)
    """botocore's total attempts per call (adaptive retry mode) before giving up."""
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> AwsProfile:
        missing = {"primary", "dr"} - set(self.regions)
        if missing:
            raise ValueError(f"regions needs an entry for {sorted(missing)}")
        if self.failure_method == "fis" and self.regions["primary"].fis_template_id is None:
            raise ValueError("failure_method fis needs regions.primary.fis_template_id")
        return self

    def region(self, logical: str) -> AwsRegion:
        """The region called ``logical`` (KeyError if there is none)."""
        return self.regions[logical]  # type: ignore[index]

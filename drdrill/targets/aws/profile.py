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
    "AwsFailback",
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
    standby_replicas: int = Field(1, ge=0)
    """Replicas of each deployment while the region is a warm standby (what the failback's
    scale-down leaves running)."""
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
    rds_snapshot_s: float = Field(900.0, ge=0)
    """``create-db-snapshot`` of the serving instance until the snapshot is available."""
    rds_snapshot_copy_s: float = Field(1800.0, ge=0)
    """``copy-db-snapshot`` into the other region until the copy is available."""
    rds_restore_s: float = Field(1200.0, ge=0)
    """``restore-db-instance-from-db-snapshot`` until the new instance is available."""
    rds_replica_create_s: float = Field(2400.0, ge=0)
    """A cross-region ``create-db-instance-read-replica`` until the replica is available."""
    parameter_apply_s: float = Field(10.0, ge=0)
    """A dynamic parameter change (the write fence) until the instance reports in-sync."""
    metric_period_s: float = Field(60.0, ge=0)
    """CloudWatch's ``ReplicaLag`` period: a fresh datapoint comes once per period."""


class AwsFailback(_Model):
    """How the planned failback carries the data home (``drdrill.targets.aws.failback``).

    ``method``: ``snapshot`` is the plan's Step 1 (docs/dr-plan.md) — a snapshot of the serving DR
    instance, copied to the primary region and restored as a new instance. Every write
    after the snapshot would be lost, so it refuses unless ``freeze_writes`` is true:
    then the DR database is fenced read-only *before* the snapshot and stays so until
    the switchover (writes are refused for the whole failback). ``read-replica`` makes
    the new primary a cross-region read replica of the DR instance instead: it streams
    every write, and writes stop only for the switchover itself.
    """

    method: Literal["snapshot", "read-replica"] = "snapshot"
    freeze_writes: bool = False
    """The snapshot method's explicit consent to refuse writes from the snapshot until
    the switchover (the only way it loses nothing)."""
    fence_parameter_group: str | None = None
    """The DB parameter group of the DR instance (a custom one, used by that instance
    only): the fence sets ``default_transaction_read_only`` there. Required to fail back."""
    primary_instance: str | None = None
    """The new primary instance; default ``<regions.primary.rds_instance>-new``."""
    dr_replica_instance: str | None = None
    """The new DR read replica of the new primary; default ``<regions.dr.rds_instance>-new``."""
    snapshot_prefix: str = "pre-failback"
    """Snapshot method: the snapshot is ``<prefix>-<UTC yyyymmddHHMMSS>`` (never reused)."""
    instance_class: str | None = None
    """New instances' class; default: RDS's (the source's, for a replica or restore)."""
    db_subnet_group: str | None = None
    """The primary region's DB subnet group for the new primary (default: RDS's)."""
    dr_db_subnet_group: str | None = None
    """The DR region's DB subnet group for the new DR replica (default: RDS's)."""
    primary_parameter_group: str | None = None
    """The new primary's DB parameter group (default: RDS's). Never the fenced group."""
    standby_parameter_group: str | None = None
    """The new DR replica's DB parameter group (default: RDS's). Never the fenced group:
    promoted at the next activation it would refuse writes."""
    multi_az: bool = True
    """The new primary is Multi-AZ (the plan's primary is)."""
    kms_key_id: str | None = None
    """The primary region's KMS key for an encrypted source (cross-region copies need one)."""
    dr_kms_key_id: str | None = None
    """The DR region's KMS key for the new DR replica of an encrypted primary."""

    @model_validator(mode="after")
    def _fence_not_reused(self) -> AwsFailback:
        fence = self.fence_parameter_group
        for key in ("primary_parameter_group", "standby_parameter_group"):
            if fence is not None and getattr(self, key) == fence:
                raise ValueError(f"{key} must not be the fence_parameter_group {fence!r}")
        return self


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
    service_endpoints: dict[str, str] = {}
    """Per-service endpoints that win over ``endpoint_url`` for that service (``s3:`` an
    S3 VPC endpoint, or the AWS twin's S3 on the lab's object store)."""
    waiters: Waiters = Waiters()
    timings: AwsTimings = AwsTimings()
    """AWS's own durations, for the activation's expected floor (``drdrill plan``)."""
    failback: AwsFailback = AwsFailback()
    """How the planned failback rebuilds the primary's database and fences writes."""
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

"""Configuration of an AWS target profile (``targets.<name>`` with ``kind: aws``).

A complete example is in docs/aws.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AwsProfile", "AwsRegion", "DnsSettings", "Scaling"]


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
    database_url: str
    """What DATABASE_URL becomes when applications use this region's database."""
    reader_dsn: str | None = None
    """A read-only DSN the harness may use to check the write ledger (optional)."""
    s3_bucket: str | None = None
    endpoint: str | None = None
    """The region's own entry point (its load balancer), for region-level checks
    (phase 1 confirms the failed region is down through it); default: the global one."""


class DnsSettings(_Model):
    """The Route 53 failover records of the global name."""

    hosted_zone_id: str
    record_name: str
    record_type: Literal["A", "CNAME"] = "CNAME"
    ttl: int = Field(60, ge=0)
    primary_target: str
    dr_target: str
    primary_health_check_id: str | None = None


class AwsProfile(_Model):
    """An AWS platform drdrill may drill, with its safety allow-list."""

    kind: Literal["aws"] = "aws"
    allowed_account_ids: tuple[str, ...] = Field(min_length=1)
    global_endpoint: str
    dns: DnsSettings
    regions: dict[Literal["primary", "dr"], AwsRegion]
    failure_method: Literal["scale-nodegroups", "fis"] = "scale-nodegroups"
    fis_template_id: str | None = None
    kubeconfig: Path | None = None
    endpoint_url: str | None = None
    """Send every AWS call here (a local emulator); default: boto3's own resolution."""
    waiter_timeout_s: float = Field(1800.0, gt=0)
    max_attempts: int = Field(8, ge=1)

"""The ``aws`` target: the plan's DR activation through boto3 and the kubernetes client.

Route 53 failover records for DNS failover, EKS nodegroup scaling and Kubernetes
deployment scaling for "scale DR", RDS ``promote_read_replica`` for promotion,
``DATABASE_URL`` set on the deployments (and a rollout waited for) to repoint,
HTTP checks of the global endpoint to verify; RDS snapshots, cross-region copies
and point-in-time restores, and S3 object versions, for the backup drills. Every
mutating call passes the safety interlocks (``drdrill.targets.aws.safety``); every
waiter has a timeout.
"""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from drdrill.audit import AuditTrail
from drdrill.errors import ConfigError, TargetError, UnknownRegionError
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.profile import AwsProfile, AwsRegion, Scaling
from drdrill.targets.aws.safety import Guard, PlannedCall
from drdrill.targets.base import (
    FailureMode,
    ObjectVersion,
    RestoredDatabase,
    ServiceCheck,
    Snapshot,
    object_versions,
)
from drdrill.verify import verify_http

if TYPE_CHECKING:
    from drdrill.config import DrillConfig

__all__ = ["AwsTarget"]

OTHER = {"primary": "dr", "dr": "primary"}


class AwsTarget:
    """A real AWS + EKS platform, behind the safety interlocks."""

    def __init__(
        self,
        profile: AwsProfile,
        name: str,
        *,
        confirm: bool = False,
        dry_run: bool = False,
        audit: AuditTrail | None = None,
    ) -> None:
        self.profile = profile
        self.name = name
        self.clients = Clients(profile)
        self.guard = Guard(
            profile, self.clients, name, confirm=confirm, dry_run=dry_run, audit=audit
        )

    @classmethod
    def from_profile(
        cls,
        profile: AwsProfile,
        config: DrillConfig,
        *,
        name: str,
        confirm: bool = False,
        dry_run: bool = False,
        audit: AuditTrail | None = None,
    ) -> AwsTarget:
        return cls(profile, name, confirm=confirm, dry_run=dry_run, audit=audit)

    @property
    def plan(self) -> list[PlannedCall]:
        """What a dry run would have done, in order."""
        return self.guard.plan

    def _region(self, region: str) -> AwsRegion:
        try:
            return self.profile.regions[region]  # type: ignore[index]
        except KeyError:
            raise UnknownRegionError(
                f"unknown region {region!r}; targets.{self.name}.regions has "
                f"{sorted(self.profile.regions)}"
            ) from None

    def _waiter_config(self, delay: float = 15.0) -> dict[str, int]:
        return {
            "Delay": max(1, int(delay)),
            "MaxAttempts": max(1, int(self.profile.waiter_timeout_s / max(1.0, delay))),
        }

    # -- the target protocol -------------------------------------------------

    def endpoint(self) -> str:
        return self.profile.global_endpoint

    def fail_region(self, region: str, mode: FailureMode) -> None:
        """Take the region's capacity away: its nodegroup scaled to zero, or an AWS FIS
        experiment (e.g. AZ power interruption) started from the configured template."""
        side = self._region(region)
        if self.profile.failure_method == "fis":
            if not self.profile.fis_template_id:
                raise ConfigError(
                    "failure_method fis needs fis_template_id", key=f"targets.{self.name}"
                )
            fis = self.clients.aws("fis", side.name)
            self.guard.mutate(
                "fis",
                "start_experiment",
                side.name,
                self.profile.fis_template_id,
                lambda: fis.start_experiment(experimentTemplateId=self.profile.fis_template_id),
                experimentTemplateId=self.profile.fis_template_id,
                mode=mode,
            )
            return
        self._scale_nodegroup(
            side, Scaling(min_size=0, max_size=side.scaling.max_size, desired_size=0)
        )

    def restore_region(self, region: str) -> None:
        side = self._region(region)
        self._scale_nodegroup(side, side.standby_scaling or side.scaling)

    def fail_over_dns(self, to_region: str) -> None:
        """UPSERT the failover records so ``to_region`` is PRIMARY (failover-to-dr.json)."""
        self._region(to_region)
        dns = self.profile.dns
        targets = {"primary": dns.primary_target, "dr": dns.dr_target}
        changes = []
        for role, region in (("PRIMARY", to_region), ("SECONDARY", OTHER[to_region])):
            record: dict[str, Any] = {
                "Name": dns.record_name,
                "Type": dns.record_type,
                "SetIdentifier": "Primary" if role == "PRIMARY" else "Secondary",
                "Failover": role,
                "TTL": dns.ttl,
                "ResourceRecords": [{"Value": targets[region]}],
            }
            if role == "PRIMARY" and dns.primary_health_check_id and region == "primary":
                record["HealthCheckId"] = dns.primary_health_check_id
            changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
        route53 = self.clients.aws("route53", "us-east-1")
        batch = {"Comment": f"drdrill: fail over to {to_region}", "Changes": changes}
        self.guard.mutate(
            "route53",
            "change_resource_record_sets",
            "global",
            dns.hosted_zone_id,
            lambda: route53.change_resource_record_sets(
                HostedZoneId=dns.hosted_zone_id, ChangeBatch=batch
            ),
            HostedZoneId=dns.hosted_zone_id,
            ChangeBatch=batch,
        )

    def health_check_status(self) -> list[str]:
        """The Route 53 health checkers' view of the primary (a probe; read-only)."""
        check_id = self.profile.dns.primary_health_check_id
        if not check_id:
            return []
        route53 = self.clients.aws("route53", "us-east-1")
        status = self.guard.read(
            "route53",
            "get_health_check_status",
            "global",
            check_id,
            lambda: route53.get_health_check_status(HealthCheckId=check_id),
        )
        return [o["StatusReport"]["Status"] for o in status.get("HealthCheckObservations", [])]

    def _scale_nodegroup(self, side: AwsRegion, scaling: Scaling) -> None:
        eks = self.clients.aws("eks", side.name)
        config = {
            "minSize": scaling.min_size,
            "maxSize": scaling.max_size,
            "desiredSize": scaling.desired_size,
        }
        self.guard.mutate(
            "eks",
            "update_nodegroup_config",
            side.name,
            f"{side.eks_cluster}/{side.nodegroup}",
            lambda: eks.update_nodegroup_config(
                clusterName=side.eks_cluster, nodegroupName=side.nodegroup, scalingConfig=config
            ),
            clusterName=side.eks_cluster,
            nodegroupName=side.nodegroup,
            scalingConfig=config,
        )
        if not self.guard.dry_run:
            self.guard.read(
                "eks",
                "wait nodegroup_active",
                side.name,
                side.nodegroup,
                lambda: eks.get_waiter("nodegroup_active").wait(
                    clusterName=side.eks_cluster,
                    nodegroupName=side.nodegroup,
                    WaiterConfig=self._waiter_config(),
                ),
            )

    def scale_region(self, region: str, replicas: int) -> None:
        """Scale the EKS nodegroup to its serving size, then every deployment to
        ``replicas`` (0: the profile's), and wait until they are ready."""
        side = self._region(region)
        count = replicas or side.replicas
        self._scale_nodegroup(side, side.scaling)
        apps = self.clients.apps(side.kube_context)
        for deployment in side.deployments:
            self.guard.mutate(
                "kubernetes",
                "patch_namespaced_deployment_scale",
                side.name,
                f"{side.namespace}/{deployment}",
                partial(
                    apps.patch_namespaced_deployment_scale,
                    deployment,
                    side.namespace,
                    {"spec": {"replicas": count}},
                ),
                context=side.kube_context,
                deployment=deployment,
                replicas=count,
            )
        if not self.guard.dry_run:
            self._wait_deployments(side, count)

    def _wait_deployments(self, side: AwsRegion, replicas: int | None = None) -> None:
        apps = self.clients.apps(side.kube_context)
        deadline = time.monotonic() + self.profile.waiter_timeout_s
        pending = list(side.deployments)
        while pending:
            still = []
            for deployment in pending:
                d = apps.read_namespaced_deployment_status(deployment, side.namespace)
                want = replicas if replicas is not None else (d.spec.replicas or 0)
                status = d.status
                generation = d.metadata.generation or 0
                done = status is not None and (
                    (status.ready_replicas or 0) >= want
                    and (status.updated_replicas or 0) >= want
                    and (status.observed_generation or 0) >= generation
                )
                if not done:
                    still.append(deployment)
            pending = still
            if pending and time.monotonic() > deadline:
                raise TargetError(
                    f"deployments not ready after {self.profile.waiter_timeout_s}s: {pending}",
                    region=side.name,
                    resource=side.namespace,
                )
            if pending:
                time.sleep(1.0)

    def promote_database(self, region: str) -> None:
        """RDS ``promote_read_replica``, then wait until the instance is available."""
        side = self._region(region)
        rds = self.clients.aws("rds", side.name)
        self.guard.mutate(
            "rds",
            "promote_read_replica",
            side.name,
            side.rds_instance,
            lambda: rds.promote_read_replica(DBInstanceIdentifier=side.rds_instance),
            DBInstanceIdentifier=side.rds_instance,
        )
        if not self.guard.dry_run:
            self.guard.read(
                "rds",
                "wait db_instance_available",
                side.name,
                side.rds_instance,
                lambda: rds.get_waiter("db_instance_available").wait(
                    DBInstanceIdentifier=side.rds_instance, WaiterConfig=self._waiter_config(30)
                ),
            )

    def repoint_applications(self, region: str, database_region: str) -> None:
        """Set DATABASE_URL on every deployment of ``region`` and wait for the rollout."""
        side = self._region(region)
        url = self._region(database_region).database_url
        apps = self.clients.apps(side.kube_context)
        for deployment in side.deployments:
            current = self.guard.read(
                "kubernetes",
                "read_namespaced_deployment",
                side.name,
                deployment,
                partial(apps.read_namespaced_deployment, deployment, side.namespace),
            )
            containers = []
            for container in current.spec.template.spec.containers:
                env = [e for e in (container.env or []) if e.name != "DATABASE_URL"]
                env.append({"name": "DATABASE_URL", "value": url})
                body = apps.api_client.sanitize_for_serialization(container)
                body["env"] = [
                    e if isinstance(e, dict) else apps.api_client.sanitize_for_serialization(e)
                    for e in env
                ]
                containers.append(body)
            patch = {
                "metadata": {"namespace": side.namespace},
                "spec": {"template": {"spec": {"containers": containers}}},
            }
            self.guard.mutate(
                "kubernetes",
                "patch_namespaced_deployment",
                side.name,
                f"{side.namespace}/{deployment}",
                partial(apps.patch_namespaced_deployment, deployment, side.namespace, patch),
                context=side.kube_context,
                deployment=deployment,
                DATABASE_URL=url,
            )
        if not self.guard.dry_run:
            self._wait_deployments(side)

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """Health and critical flows through the global endpoint, or a region's own."""
        base = self.profile.global_endpoint
        if region is not None:
            base = self._region(region).endpoint or base
        return verify_http(base.rstrip("/"), region, timeout_s)

    def database_dsn(self, region: str) -> str:
        dsn = self._region(region).reader_dsn
        if dsn is None:
            raise TargetError(
                f"targets.{self.name}.regions.{region}.reader_dsn is not set: "
                "the write ledger cannot be checked",
                region=region,
            )
        return dsn

    def fail_back(self) -> None:
        """Back to steady state: primary capacity restored, DNS to primary, dr to standby.
        (The plan's multi-day failback — data sync, gradual traffic shift — is its own drill.)"""
        self.restore_region("primary")
        self.fail_over_dns("primary")
        dr = self._region("dr")
        if dr.standby_scaling is not None:
            self._scale_nodegroup(dr, dr.standby_scaling)

    # -- backups -------------------------------------------------------------

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        side = self._region(region)
        rds = self.clients.aws("rds", side.name)
        self.guard.mutate(
            "rds",
            "create_db_snapshot",
            side.name,
            side.rds_instance,
            lambda: rds.create_db_snapshot(
                DBInstanceIdentifier=side.rds_instance, DBSnapshotIdentifier=name
            ),
            DBInstanceIdentifier=side.rds_instance,
            DBSnapshotIdentifier=name,
        )
        if self.guard.dry_run:
            return Snapshot(name, region, datetime.now().astimezone(), None, side.rds_instance)
        self.guard.read(
            "rds",
            "wait db_snapshot_available",
            side.name,
            name,
            lambda: rds.get_waiter("db_snapshot_available").wait(
                DBSnapshotIdentifier=name, WaiterConfig=self._waiter_config(30)
            ),
        )
        return next(s for s in self.list_snapshots(region) if s.name == name)

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        side = self._region(region)
        rds = self.clients.aws("rds", side.name)
        found = self.guard.read(
            "rds",
            "describe_db_snapshots",
            side.name,
            side.rds_instance,
            lambda: rds.describe_db_snapshots(),
        )
        snapshots = [
            Snapshot(
                s["DBSnapshotIdentifier"],
                region,
                s.get("SnapshotCreateTime") or datetime.now().astimezone(),
                (s.get("AllocatedStorage") or 0) * 1024**3,
                s.get("SourceDBSnapshotIdentifier") or s.get("DBInstanceIdentifier", ""),
            )
            for s in found.get("DBSnapshots", [])
        ]
        return sorted(snapshots, key=lambda s: s.created)

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        """``copy-db-snapshot`` from the primary's region to ``to_region`` (as in the plan)."""
        source, target = self._region("primary"), self._region(to_region)
        src = self.guard.read(
            "rds",
            "describe_db_snapshots",
            source.name,
            name,
            lambda: self.clients.aws("rds", source.name).describe_db_snapshots(
                DBSnapshotIdentifier=name
            ),
        )
        arn = src["DBSnapshots"][0]["DBSnapshotArn"]
        rds = self.clients.aws("rds", target.name)
        self.guard.mutate(
            "rds",
            "copy_db_snapshot",
            target.name,
            name,
            lambda: rds.copy_db_snapshot(
                SourceDBSnapshotIdentifier=arn,
                TargetDBSnapshotIdentifier=name,
                SourceRegion=source.name,
            ),
            SourceDBSnapshotIdentifier=arn,
            TargetDBSnapshotIdentifier=name,
            SourceRegion=source.name,
        )
        return Snapshot(name, to_region, datetime.now().astimezone(), None, arn)

    def restore_snapshot(
        self, name: str, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        side = self._region(region)
        rds = self.clients.aws("rds", side.name)
        started = time.monotonic()
        self.guard.mutate(
            "rds",
            "restore_db_instance_from_db_snapshot",
            side.name,
            instance,
            lambda: rds.restore_db_instance_from_db_snapshot(
                DBInstanceIdentifier=instance, DBSnapshotIdentifier=name
            ),
            DBInstanceIdentifier=instance,
            DBSnapshotIdentifier=name,
        )
        return RestoredDatabase(
            instance, f"rds:{side.name}:{instance}", time.monotonic() - started, None, name
        )

    def restore_to_point_in_time(
        self, when: datetime, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        side = self._region(region)
        rds = self.clients.aws("rds", side.name)
        started = time.monotonic()
        self.guard.mutate(
            "rds",
            "restore_db_instance_to_point_in_time",
            side.name,
            instance,
            lambda: rds.restore_db_instance_to_point_in_time(
                SourceDBInstanceIdentifier=side.rds_instance,
                TargetDBInstanceIdentifier=instance,
                RestoreTime=when,
            ),
            SourceDBInstanceIdentifier=side.rds_instance,
            TargetDBInstanceIdentifier=instance,
            RestoreTime=when.isoformat(),
        )
        return RestoredDatabase(
            instance, f"rds:{side.name}:{instance}", time.monotonic() - started, when, "pitr"
        )

    def list_object_versions(self, bucket: str, prefix: str = "") -> list[ObjectVersion]:
        region = self.profile.regions["primary"].name
        s3 = self.clients.aws("s3", region)
        raw = self.guard.read(
            "s3",
            "list_object_versions",
            region,
            bucket,
            lambda: s3.list_object_versions(Bucket=bucket, Prefix=prefix),
        )
        return object_versions(bucket, raw)

    def restore_object_version(self, bucket: str, key: str, version_id: str) -> None:
        """Copy ``version_id`` over the current version (``s3api copy-object``)."""
        region = self.profile.regions["primary"].name
        s3 = self.clients.aws("s3", region)
        source = {"Bucket": bucket, "Key": key, "VersionId": version_id}
        self.guard.mutate(
            "s3",
            "copy_object",
            region,
            f"{bucket}/{key}",
            lambda: s3.copy_object(Bucket=bucket, Key=key, CopySource=source),
            Bucket=bucket,
            Key=key,
            CopySource=source,
        )

"""The ``aws`` target: the plan's DR activation through boto3 and the kubernetes client.

Route 53 failover records for DNS failover (``dns``), EKS nodegroup and Kubernetes
deployment scaling for "scale DR" and the database variable set on the
deployments to repoint (``compute``), RDS promotion, snapshots, copies and
restores (``database``), S3 object versions (``objects``), region failures by
the configured method (``faults``), the planned failback (``failback``). Every
mutating call passes the safety interlocks (``safety``); every wait has a timeout.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from drdrill.errors import TargetError, UnknownRegionError
from drdrill.observation.verify import verify_http
from drdrill.records.audit import AuditTrail
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.compute import Compute
from drdrill.targets.aws.database import Databases
from drdrill.targets.aws.dns import Dns
from drdrill.targets.aws.failback import Failback
from drdrill.targets.aws.faults import Faults
from drdrill.targets.aws.objects import Objects
from drdrill.targets.aws.profile import AwsProfile, AwsRegion
from drdrill.targets.aws.safety import Guard, PlannedCall
from drdrill.targets.base import (
    Consistency,
    FailureMode,
    ObjectVersion,
    RestoredDatabase,
    ServiceCheck,
    Snapshot,
)

if TYPE_CHECKING:
    from drdrill.config import DrillConfig

__all__ = ["AwsTarget"]


class AwsTarget:
    """A real AWS + EKS platform, behind the safety interlocks.

    ``confirm`` must be True for any mutating call; ``dry_run`` makes none and
    records each in ``plan`` (and the audit trail, outcome ``dry-run``) instead.
    """

    def __init__(
        self,
        profile: AwsProfile,
        name: str,
        *,
        confirm: bool = False,
        dry_run: bool = False,
        audit: AuditTrail | None = None,
        clients: Clients | None = None,
        replica_lag_alarm_s: float = 300.0,
    ) -> None:
        self.profile = profile
        self.name = name
        self.clients = clients or Clients(profile)
        self.guard = Guard(
            profile, self.clients, name, confirm=confirm, dry_run=dry_run, audit=audit
        )
        self.dns = Dns(profile, self.clients, self.guard, name)
        self.compute = Compute(profile, self.clients, self.guard)
        self.databases = Databases(profile, self.clients, self.guard)
        self.objects = Objects(profile, self.clients, self.guard)
        self.faults = Faults(profile, self.clients, self.guard, self.compute, name)
        self.failback = Failback(
            profile,
            self.clients,
            self.guard,
            name,
            compute=self.compute,
            databases=self.databases,
            faults=self.faults,
            audit=audit,
        )
        self.replica_lag_alarm_s = replica_lag_alarm_s
        """The plan's replica-lag alarm: DR is validated under it after a failback."""

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
        """The target of profile ``name`` (what ``open_target`` calls)."""
        return cls(
            profile,
            name,
            confirm=confirm,
            dry_run=dry_run,
            audit=audit,
            replica_lag_alarm_s=float(config.alarms.replica_lag),
        )

    @property
    def plan(self) -> list[PlannedCall]:
        """What a dry run would have done, in order."""
        return self.guard.plan

    def _region(self, region: str) -> AwsRegion:
        try:
            return self.profile.region(region)
        except KeyError:
            raise UnknownRegionError(
                f"unknown region {region!r}; targets.{self.name}.regions has "
                f"{sorted(self.profile.regions)}"
            ) from None

    # -- the target protocol -------------------------------------------------

    def endpoint(self) -> str:
        """The global endpoint customers use."""
        return self.profile.global_endpoint

    def fail_region(self, region: str, mode: FailureMode) -> None:
        """Fail the region by the profile's ``failure_method`` (``mode`` is recorded)."""
        self.faults.fail(self._region(region), mode)

    def restore_region(self, region: str) -> None:
        """Undo ``fail_region``."""
        self.faults.restore(self._region(region))

    def fail_over_dns(self, to_region: str) -> None:
        """UPSERT the global name's records so ``to_region`` serves (docs/dr-plan.md, phase 2)."""
        self._region(to_region)
        self.dns.fail_over(to_region)

    def scale_region(self, region: str, replicas: int | None = None) -> None:
        """Scale the EKS nodegroup to its serving size, then every deployment to
        ``replicas`` (None: the profile's serving size), and wait until they are ready."""
        side = self._region(region)
        self.compute.scale_nodegroup(side, side.scaling)
        self.compute.scale_deployments(side, replicas or side.replicas)

    def promote_database(self, region: str) -> None:
        """RDS ``promote_read_replica``, then wait until the instance is available."""
        self.databases.promote(self._region(region))

    def repoint_applications(self, region: str, database_region: str) -> None:
        """Set the database variable on ``region``'s deployments to ``database_region``'s
        URL — a region's, or an instance this target restored — and wait for the rollout."""
        side = self._region(region)
        if database_region in self.profile.regions:
            url = self._region(database_region).database_url
        else:
            url = self.databases.url_of(database_region, side)
        self.compute.set_database_url(side, url)

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """Health and critical flows through the global endpoint, or a region's own."""
        base = self.profile.global_endpoint
        if region is not None:
            base = self._region(region).endpoint or base
        return verify_http(base.rstrip("/"), region, timeout_s)

    def database_dsn(self, region: str) -> str:
        """The region's reader DSN (for the write ledger); after this target's failback
        switched over, the one of the region's new instance."""
        side = self._region(region)
        if side.reader_dsn is None:
            raise TargetError(
                f"targets.{self.name}.regions.{region}.reader_dsn is not set: "
                "the write ledger cannot be checked",
                region=region,
            )
        if region in self.failback.moved:
            return self.databases.url_of(self.failback.moved[region], side, dsn=True, connect=True)
        return side.reader_dsn

    def fail_back(self) -> None:
        """Back to steady state with the data DR holds carried home: the fault undone;
        when DR serves, the primary's database prepared and switched over to (the
        profile's ``failback`` settings; the snapshot method refuses without its write
        freeze); DNS back to primary; DR scaled down to warm standby (when the profile
        gives its ``standby_scaling``). The timed, stepped
        return is the failback experiment (``FailbackTarget``)."""
        self.restore_region("primary")
        if self.serving_region() == "dr":
            self.rebuild_database("primary")
            self.switchover("primary")
        self.fail_over_dns("primary")
        if self.profile.regions["dr"].standby_scaling is not None:
            self.scale_down_region("dr")

    # -- failback (FailbackTarget) ---------------------------------------------

    def serving_region(self) -> str:
        """``dr`` while any application uses the DR database, else ``primary``."""
        return self.failback.serving_region()

    def rebuild_database(self, region: str) -> dict[str, Any]:
        """A new primary instance holding what DR wrote: by snapshot (with the write
        freeze) or as a cross-region read replica of DR (``failback.method``)."""
        self._region(region)
        return self.failback.prepare(region)

    def check_consistency(self, acknowledged: Collection[str] = ()) -> Consistency:
        """Order census and acknowledged writes of the serving and the other database,
        through the regions' reader DSNs."""
        return self.failback.check_consistency(acknowledged)

    def shift_traffic(self, to_region: str, percent: int) -> None:
        """The plan's gradual failback: ``percent`` % to ``to_region`` (weighted records;
        100 with failover routing: the failover records back, ``to_region`` PRIMARY).
        Refused while this target holds ``to_region`` failed."""
        side = self._region(to_region)
        down = self.faults.failed(side)
        if down is not None:
            raise TargetError(
                f"cannot shift traffic to {to_region}: it is still down ({down}); expected "
                f"it restored (restore_region({to_region!r}) first); nothing changed",
                region=side.name,
            )
        self.dns.shift_traffic(to_region, percent)

    def switchover(self, to_region: str) -> float:
        """Fence DR, wait for the new primary to catch up, promote it, repoint every
        deployment, re-attach DR as its replica; seconds fence → rolled out."""
        self._region(to_region)
        return self.failback.switchover(to_region)

    def scale_down_region(self, region: str) -> None:
        """The region's deployments to ``standby_replicas``, its nodegroup to
        ``standby_scaling``."""
        self.failback.scale_down(self._region(region), region)

    def validate_standby(self, region: str) -> float:
        """DR's new replica follows the new primary with ``ReplicaLag`` under the alarm."""
        self._region(region)
        return self.failback.validate(region, self.replica_lag_alarm_s)

    # -- backups -------------------------------------------------------------

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        """``create_db_snapshot`` of the region's instance, waited for."""
        return self.databases.snapshot(self._region(region), region, name)

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        """The region's snapshots, oldest first."""
        return self.databases.list_snapshots(self._region(region), region)

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        """``copy_db_snapshot`` from the primary's region to ``to_region`` (as in the plan)."""
        source, target = self._region("primary"), self._region(to_region)
        return self.databases.copy(source, target, to_region, name)

    def restore_snapshot(
        self, name: str, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        """A new RDS instance from a snapshot held in ``region``."""
        return self.databases.restore_snapshot(self._region(region), name, instance)

    def restore_to_point_in_time(
        self, when: datetime, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        """A new RDS instance: the region's database as of ``when``."""
        return self.databases.restore_to_point_in_time(self._region(region), when, instance)

    def list_object_versions(self, bucket: str, prefix: str = "") -> list[ObjectVersion]:
        """Every version (and delete marker) of the objects under ``prefix``."""
        return self.objects.list_versions(bucket, prefix)

    def restore_object_version(
        self, bucket: str, key: str, version_id: str, source_bucket: str | None = None
    ) -> None:
        """Make ``version_id`` (of ``source_bucket``, default ``bucket``) current again."""
        self.objects.restore_version(bucket, key, version_id, source_bucket)

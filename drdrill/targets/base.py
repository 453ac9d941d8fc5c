"""The target protocol: what a drill may ask of the system under drill.

Steps and experiments speak only to this protocol; ``lab`` and ``aws`` implement
it. Regions are logical names (``primary``, ``dr``); a target maps them to its
own (lab processes, AWS regions). Every method blocks until the action is done
(or its timeout passes) and raises ``TargetError`` (or a subclass) on failure.

``Target`` is what every target does. What only some targets can do is an
optional capability, a ``Protocol`` of its own checked with ``isinstance``
(never ``getattr``): ``BackupTarget``, ``ObjectStoreTarget``,
``ObjectReplicationTarget``, ``SelfProvisioning``, ``ReplicationMonitor``,
``RoutingObserver``, ``DataDisasterTarget``, ``FailbackTarget``,
``SplitBrainWitness``, ``Releasable``. A step that needs a capability the
target lacks says which and is skipped (``require``). Every change a target
makes to data or infrastructure is one of its methods, so it is audited and a
dry run can stop it; steps never write to a database themselves.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from drdrill.errors import CapabilityMissing
from drdrill.measurement.split_brain import DivergentWrite
from drdrill.observation.integrity import Consistency
from drdrill.records.backup_records import RestoredDatabase, Snapshot

__all__ = [
    "FAILURE_MODES",
    "REGIONS",
    "BackupTarget",
    "CapabilityMissing",
    "CheckResult",
    "Consistency",
    "DataDisasterTarget",
    "FailbackTarget",
    "FailureMode",
    "ObjectReplicationTarget",
    "ObjectStoreTarget",
    "ObjectVersion",
    "Releasable",
    "ReplicaStream",
    "ReplicationMonitor",
    "RestoredDatabase",
    "RoutingObserver",
    "SelfProvisioning",
    "ServiceCheck",
    "Snapshot",
    "SplitBrainWitness",
    "SwitchoverGoal",
    "Target",
    "object_versions",
    "require",
]

FailureMode = Literal["power-off", "blackhole", "partition"]
FAILURE_MODES: tuple[FailureMode, ...] = ("power-off", "blackhole", "partition")
REGIONS: tuple[str, ...] = ("primary", "dr")


@dataclass(frozen=True)
class CheckResult:
    """One verification: a health endpoint or a critical user flow."""

    name: str
    ok: bool
    latency_s: float
    detail: str = ""


@dataclass(frozen=True)
class ServiceCheck:
    """The outcome of ``verify_services``."""

    region: str | None
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


@dataclass(frozen=True)
class ObjectVersion:
    """One version of an object in a versioned bucket."""

    bucket: str
    key: str
    version_id: str
    last_modified: datetime
    is_latest: bool
    is_delete_marker: bool = False
    size: int = 0
    etag: str = field(default="")


def object_versions(bucket: str, listing: Mapping[str, Any]) -> list[ObjectVersion]:
    """Versions and delete markers of an S3 ``list_object_versions`` answer, by key and age."""
    found = [
        ObjectVersion(
            bucket,
            v["Key"],
            v["VersionId"],
            v["LastModified"],
            v["IsLatest"],
            False,
            v.get("Size", 0),
            v.get("ETag", ""),
        )
        for v in listing.get("Versions", [])
    ]
    found += [
        ObjectVersion(bucket, m["Key"], m["VersionId"], m["LastModified"], m["IsLatest"], True)
        for m in listing.get("DeleteMarkers", [])
    ]
    return sorted(found, key=lambda v: (v.key, v.last_modified))


@runtime_checkable
class Target(Protocol):
    """The system under drill."""

    name: str

    def endpoint(self) -> str:
        """The global endpoint customers use (URL)."""
        ...

    def fail_region(self, region: str, mode: FailureMode) -> None:
        """Inject a region failure; returns when the injection has taken effect."""
        ...

    def restore_region(self, region: str) -> None:
        """Undo ``fail_region`` (the rollback of the failure experiment)."""
        ...

    def fail_over_dns(self, to_region: str) -> None:
        """Point the global endpoint at ``to_region`` (failover record change)."""
        ...

    def scale_region(self, region: str, replicas: int | None = None) -> None:
        """Scale the region's application tier and wait until it is ready. ``replicas``
        None: the target's own serving size (the lab's ``dr_scaled_workers``, the aws
        profile's deployment replicas)."""
        ...

    def promote_database(self, region: str) -> None:
        """Promote the region's replica to a writable primary and wait for it."""
        ...

    def repoint_applications(self, region: str, database_region: str) -> None:
        """Make the region's applications use ``database_region``'s database."""
        ...

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """Health and critical flows, through the global endpoint (region None) or a region."""
        ...

    def database_dsn(self, region: str) -> str:
        """A connection string the harness can read the region's orders from (no password)."""
        ...

    def fail_back(self) -> None:
        """Return the platform to its steady state: primary serving, dr warm standby — a
        drill's rollback, from whatever state it stopped in, keeping every acknowledged
        write; ``RollbackIncomplete`` (the data left intact) when it cannot."""
        ...


@runtime_checkable
class BackupTarget(Protocol):
    """A target whose backups (snapshots, PITR, object versions) a drill can restore."""

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        """Take a named snapshot of the region's database."""
        ...

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        """Snapshots held in the region's backup store, newest last."""
        ...

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        """Copy a snapshot to another region's backup store."""
        ...

    def restore_snapshot(
        self, name: str, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        """Restore a snapshot into a new database instance (never over an existing one)."""
        ...

    def restore_to_point_in_time(
        self, when: datetime, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        """Restore the region's database as of ``when`` into a new instance."""
        ...


@runtime_checkable
class ObjectStoreTarget(Protocol):
    """A target with versioned object storage (S3) whose versions a drill can restore."""

    def bucket(self, region: str) -> str:
        """The name of the region's order-document bucket."""
        ...

    def put_object(self, bucket: str, key: str, body: bytes) -> str:
        """Store an object (audited); its version id."""
        ...

    def get_object(self, bucket: str, key: str) -> bytes | None:
        """The current body of ``key`` (None when deleted or absent)."""
        ...

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete ``key`` (a delete marker in a versioned bucket; audited)."""
        ...

    def list_object_versions(self, bucket: str, prefix: str = "") -> list[ObjectVersion]:
        """Every version (and delete marker) of the objects under ``prefix``."""
        ...

    def restore_object_version(
        self, bucket: str, key: str, version_id: str, source_bucket: str | None = None
    ) -> None:
        """Make ``version_id`` (of ``source_bucket``, default ``bucket``) current again."""
        ...


@runtime_checkable
class ObjectReplicationTarget(Protocol):
    """A target whose cross-region object replication a drill can watch and stop."""

    object_replication_delay_s: float
    """How long after a write its copy reaches the DR bucket (the replication time)."""

    def wait_objects_replicated(self, keys: list[str], timeout_s: float = 30.0) -> float:
        """Block until every key's current body is in the DR bucket; seconds waited."""
        ...

    def stop_object_replication(self) -> None:
        """The primary region's replication stops with it (audited)."""
        ...


@runtime_checkable
class SelfProvisioning(Protocol):
    """A target drdrill can bring up itself (the lab); others are provisioned by their owners."""

    def ensure_up(self) -> None:
        """Bring the platform up unless it runs."""
        ...

    def process_marker(self) -> dict[str, str]:
        """Environment entries for a process a drill starts beside the platform (Locust):
        tearing the platform down then ends it too, whatever killed the drill."""
        ...


@runtime_checkable
class Releasable(Protocol):
    """A target that runs helpers of its own during a drill (the AWS twin's controller)."""

    def release(self) -> None:
        """End them: the drill is over (the platform itself stays as it is)."""
        ...


@dataclass(frozen=True)
class ReplicaStream:
    """The DR replica's stream, as one reading judged it."""

    state: str
    """``streaming``, ``stalled``, ``stopped``..., ``none`` when no database is a replica."""
    lag_s: float | None
    """How far the replica's replay is behind the primary (never 0 while stalled)."""
    stalled: str | None
    """Why the stream does not flow; None while it does."""


@runtime_checkable
class ReplicationMonitor(Protocol):
    """A target whose database replication a drill can read."""

    def replication_lag_s(self) -> float | None:
        """How far the DR replica's replay is behind the primary; None when none streams."""
        ...

    def replica_stream(self) -> ReplicaStream:
        """The DR replica's stream: flowing or stalled (and why), and its lag."""
        ...


@runtime_checkable
class RoutingObserver(Protocol):
    """A target that can say which region the global endpoint answers from right now."""

    def answering_region(self) -> str | None:
        """The region serving the global endpoint (None when nothing answers)."""
        ...


@runtime_checkable
class SwitchoverGoal(Protocol):
    """A target whose planned switchover is judged by a customer-visible outage goal of
    its own instead of ``failback.switchover_outage`` (the AWS twin: its switchover is
    the lab's plus the emulated control plane's protocol, see docs/aws-twin.md)."""

    def switchover_outage_goal(self) -> float:
        """Seconds the switchover's customer-visible outage may last on this target."""
        ...


@runtime_checkable
class DataDisasterTarget(Protocol):
    """A target on which a drill may stage a data disaster (staging and the lab only)."""

    def corrupt_orders(self, region: str = "primary") -> int:
        """A bad change: delete every third canary order and zero Locust's orders
        (audited); how many rows it touched."""
        ...

    def destroy_primary_data(self) -> None:
        """Ransomware: the primary database, its WAL archive and local backups destroyed."""
        ...


@runtime_checkable
class FailbackTarget(Protocol):
    """A target that carries the platform home after a DR activation, step by step, as the
    plan's Failback Procedures do: rebuild the failed region's database from the serving
    one, verify the two agree, shift traffic back, switch the database over (planned: no
    acknowledged write lost), scale DR down to its warm standby and validate it. Each
    call is idempotent and refuses, changing nothing, while a region is still down."""

    def serving_region(self) -> str:
        """The region whose database the platform writes to now."""
        ...

    def rebuild_database(self, region: str) -> dict[str, Any]:
        """Make ``region``'s database a replica of the serving one again; what was done
        (``method``: rewind, basebackup or already; ``seconds``)."""
        ...

    def check_consistency(self, acknowledged: Collection[str] = ()) -> Consistency:
        """Once the replica has replayed everything the serving database wrote, compare
        the two: order census by commit time, and every ``acknowledged`` write on both."""
        ...

    def shift_traffic(self, to_region: str, percent: int) -> None:
        """One traffic step: ``percent`` % of customers to ``to_region`` (weighted records);
        100 restores the normal failover records with ``to_region`` primary."""
        ...

    def switchover(self, to_region: str) -> float:
        """Planned switchover of the writable database to ``to_region`` (fence writes, wait
        for the replica, promote, repoint, re-attach the former as its replica); seconds
        from the fence until the applications wrote again (0: nothing had to move)."""
        ...

    def scale_down_region(self, region: str) -> None:
        """Scale ``region``'s application tier back to its warm-standby size."""
        ...

    def validate_standby(self, region: str) -> float:
        """``region``'s database replicates from the serving one with its lag under the
        plan's alarm; the lag in seconds (``TargetError`` otherwise)."""
        ...


@runtime_checkable
class SplitBrainWitness(Protocol):
    """A target whose ``restore_region`` fences a database superseded by a promoted replica
    before the region's network heals, and counts what it acknowledged after the promotion
    that the serving database lacks, before anything can discard it."""

    def divergent_writes(self, region: str) -> tuple[DivergentWrite, ...] | None:
        """The divergent writes of ``region``'s old primary counted when ``region`` was last
        restored, in acknowledgement order (None: nothing was counted)."""
        ...


C = TypeVar("C")


def require(target: Target, capability: type[C], what: str) -> C:
    """``target`` as ``capability``, or ``CapabilityMissing`` saying it cannot do ``what``."""
    if not isinstance(target, capability):
        raise CapabilityMissing(
            f"target {target.name!r} cannot {what} (it lacks {capability.__name__})"
        )
    return target

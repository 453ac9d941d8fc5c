"""The ``aws-twin`` target: the lab drilled through the aws target's calls.

Every activation and planned-failback step is the aws target's (``drdrill.targets.aws``):
its boto3 calls go to moto in server mode and its Kubernetes calls to an emulator per
cluster, all on 127.0.0.1 (``emulators``), seeded to mirror the lab (``seed``); a
controller makes the lab follow what that control plane was told (``controller``),
and reports back what only the lab knows (replica lag). Customers, probes, the
write ledger and so RTO and RPO stay on the lab's data plane, where they are measured.
Each step returns once the lab has followed: a phase's time is the aws target's calls
plus the lab doing what they asked.

Safety: the inner aws target keeps every interlock. Its calls pass ``Guard.call``:
audited, and refused unless STS answers with an allow-listed account — the twin's
allow-list is moto's account only, and its clients are pinned to the twin's own
emulator (``endpoint_url``, the twin's kubeconfig) with placeholder credentials from a
session of their own, so no call and no credential can reach a real account. Like
the lab, the twin lives on this machine: no ``--confirm`` and no approver (the twin
confirms its inner target itself); a real ``kind: aws`` profile is untouched by this.

What the twin cannot prove: AWS's own timings (Route 53 propagation and health-check
intervals, node launches, RDS promotion — moto answers at once; ``drdrill plan``
prints their floor), IAM permissions, service quotas and throttling, nor that the
real controllers (EKS, Kubernetes, RDS) behave as this controller plays them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import Any

from drdrill.config import DrillConfig
from drdrill.errors import TargetError
from drdrill.lab import Lab
from drdrill.observation.integrity import Consistency
from drdrill.records.audit import AuditTrail
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.target import AwsTarget
from drdrill.targets.base import (
    FailureMode,
    ObjectVersion,
    ReplicaStream,
    RestoredDatabase,
    ServiceCheck,
    Snapshot,
)
from drdrill.targets.lab_target import LabTarget
from drdrill.targets.twin.controller import Controller
from drdrill.targets.twin.emulators import ControlPlane
from drdrill.targets.twin.profile import AwsTwinProfile
from drdrill.targets.twin.seed import seed

__all__ = ["AwsTwinTarget"]


class AwsTwinTarget:
    """The lab behind an emulated AWS control plane, drilled by the aws target."""

    def __init__(
        self,
        profile: AwsTwinProfile,
        config: DrillConfig,
        *,
        name: str = "aws-twin",
        dry_run: bool = False,
        audit: AuditTrail | None = None,
    ) -> None:
        self.name = name
        self.twin = profile
        self.config = config
        self.dry_run = dry_run
        self.audit = audit
        self.data_plane = LabTarget(Lab.from_config(config), config, audit)
        self.lab = self.data_plane.lab
        self._aws: AwsTarget | None = None
        self._controller: Controller | None = None
        self._modes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._data_destroyed = False

    # -- the control plane ------------------------------------------------------

    @property
    def aws(self) -> AwsTarget:
        """The aws target drilling the twin (its emulators started and seeded on first use)."""
        with self._lock:
            if self._aws is None:
                self._aws = self._start()
            return self._aws

    def _start(self) -> AwsTarget:
        self.lab.require_up()
        plane = ControlPlane.start(self.lab, self.twin)
        profile = seed(plane, self.lab, self.config, self.twin)
        clients = Clients(profile, session=plane.session())
        target = AwsTarget(
            profile,
            self.name,
            confirm=True,
            dry_run=self.dry_run,
            audit=self.audit,
            clients=clients,
            replica_lag_alarm_s=float(self.config.alarms.replica_lag),
        )
        self._controller = Controller(
            self.lab,
            plane,
            profile,
            interval_s=float(self.twin.follow_interval),
            failure_mode=lambda region: self._modes.get(region, "power-off"),
            audit=self.audit,
            target_name=self.name,
        )
        if self.audit is not None:
            self.audit.record(
                "twin_started",
                target=self.name,
                outcome="succeeded",
                parameters={
                    "aws_endpoint": plane.aws_url,
                    "kube_contexts": plane.contexts,
                    "hosted_zone_id": profile.dns.hosted_zone_id,
                },
            )
        return target

    @contextlib.contextmanager
    def _step(self) -> Iterator[AwsTarget]:
        """One step of the aws target; it returns once the lab does what the control plane
        was told (the controller follows while the step runs, and once after it)."""
        aws = self.aws
        assert self._controller is not None
        if self.dry_run:
            yield aws
            return
        with self._controller.following():
            yield aws

    def release(self) -> None:
        """Forget the control plane's clients (the emulators stay with the lab: ``lab
        down`` ends them; the next drill seeds them afresh)."""
        with self._lock:
            self._controller, self._aws = None, None

    # -- SelfProvisioning, and what the lab's data plane answers ------------------

    def ensure_up(self) -> None:
        """The lab up, then the twin's control plane started and seeded to mirror it."""
        self.data_plane.ensure_up()
        self.aws  # noqa: B018 (started on first use)

    def process_marker(self) -> dict[str, str]:
        return self.data_plane.process_marker()

    def endpoint(self) -> str:
        return self.lab.edge_url

    def database_dsn(self, region: str) -> str:
        """The lab's database: the write ledger and RPO are checked on the data plane."""
        return self.data_plane.database_dsn(region)

    def answering_region(self) -> str | None:
        return self.data_plane.answering_region()

    def replication_lag_s(self) -> float | None:
        return self.data_plane.replication_lag_s()

    def replica_stream(self) -> ReplicaStream:
        return self.data_plane.replica_stream()

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """The aws target's HTTP checks (its endpoints are the lab's edge and gateways);
        the lab's own when the control plane is not running (after ``release``)."""
        if self._aws is None:
            return self.data_plane.verify_services(region, timeout_s)
        return self._aws.verify_services(region, timeout_s)

    # -- the target protocol, through the aws target ------------------------------

    def fail_region(self, region: str, mode: FailureMode) -> None:
        """The aws target's failure method (nodegroup to zero, or FIS); the lab region
        fails by ``mode`` once the control plane shows it."""
        self._modes[region] = mode
        with self._step() as aws:
            aws.fail_region(region, mode)

    def restore_region(self, region: str) -> None:
        with self._step() as aws:
            aws.restore_region(region)

    def fail_over_dns(self, to_region: str) -> None:
        with self._step() as aws:
            aws.fail_over_dns(to_region)

    def scale_region(self, region: str, replicas: int | None = None) -> None:
        with self._step() as aws:
            aws.scale_region(region, replicas)

    def promote_database(self, region: str) -> None:
        with self._step() as aws:
            aws.promote_database(region)

    def repoint_applications(self, region: str, database_region: str) -> None:
        with self._step() as aws:
            aws.repoint_applications(region, database_region)

    def fail_back(self) -> None:
        """The aws target's fail back (fault undone; when DR serves, its data carried home
        by the aws target's prepare and switchover; DNS to primary; dr to standby
        capacity), followed by the lab; then the lab's own fail back, which finds it
        steady (or puts it back whatever the control plane did), and the control plane
        seeded afresh by the next drill."""
        error: BaseException | None = None
        try:
            # (none: the aws target changed nothing to undo; the primary's data destroyed:
            # the lab rolls back below on its own and the next drill seeds the control plane)
            if self._aws is not None and not self._data_destroyed:
                with self._step() as aws:
                    aws.fail_back()
        except Exception as exc:  # the lab is put back whatever the control plane did
            error = exc
        finally:
            self.release()
            self._data_destroyed = False
            self.data_plane.fail_back()
        if error is not None:
            raise error

    # -- the planned failback (FailbackTarget) -----------------------------------
    #
    # The aws target's failback (a new primary instance as a cross-region read replica of
    # DR, weighted records, the fence in DR's parameter group, ReplicaLag, the promotion,
    # DATABASE_URL, a new DR replica), the lab following each call (``controller``).
    # What is read off the databases themselves stays on the lab's data plane: the
    # serving region, and the consistency check (the aws target's would connect to the
    # new instance's RDS endpoint, which moto makes up).

    def serving_region(self) -> str:
        return self.data_plane.serving_region()

    def rebuild_database(self, region: str) -> dict[str, Any]:
        """The aws target's prepare (``create_db_instance_read_replica`` of DR in the
        primary region, the primary's ``DATABASE_URL`` to DR's); the lab rebuilds its
        database as a standby of DR."""
        with self._step() as aws:
            return aws.rebuild_database(region)

    def check_consistency(self, acknowledged: Collection[str] = ()) -> Consistency:
        return self.data_plane.check_consistency(acknowledged)

    def shift_traffic(self, to_region: str, percent: int) -> None:
        """The aws target's traffic step (WEIGHTED records; 100: the failover records
        back), followed by the lab's edge."""
        with self._step() as aws:
            aws.shift_traffic(to_region, percent)

    def switchover(self, to_region: str) -> float:
        """The aws target's switchover (fence, ReplicaLag 0, promotion, ``DATABASE_URL``
        rolled out, DR re-attached), the lab following each call; the aws target's
        seconds from its fence until the rollout."""
        with self._step() as aws:
            return aws.switchover(to_region)

    def scale_down_region(self, region: str) -> None:
        """The aws target's scale down: the region's deployments to the lab's warm-standby
        size, its nodegroup to its warm-standby scaling."""
        with self._step() as aws:
            aws.scale_down_region(region)

    def switchover_outage_goal(self) -> float:
        """The twin's own goal (``targets.<twin>.switchover_outage``): its switchover is
        the lab's plus the aws target's protocol as the twin plays it."""
        return float(self.twin.switchover_outage)

    def validate_standby(self, region: str) -> float:
        """The aws target's validation: DR's new replica follows the new primary and its
        ``ReplicaLag`` (the lab's lag, as the controller reports it) is under the alarm."""
        with self._step() as aws:
            return aws.validate_standby(region)

    # -- backups (BackupTarget), through the aws target's RDS calls ----------------
    #
    # The controller follows each RDS call with the lab's own backup action (a base
    # backup, its copy into the other region's store, a restore into a real PostgreSQL
    # named as the RDS instance); a restore returns the lab's instance, whose data the
    # drill checks, and the time of the whole step (the aws calls plus the lab's work).

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        with self._step() as aws:
            return aws.snapshot(name, region)

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        return self.aws.list_snapshots(region)

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        with self._step() as aws:
            return aws.copy_snapshot(name, to_region)

    def restore_snapshot(
        self, name: str, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        return self._restore(instance, lambda aws: aws.restore_snapshot(name, instance, region))

    def restore_to_point_in_time(
        self, when: datetime, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        return self._restore(
            instance, lambda aws: aws.restore_to_point_in_time(when, instance, region)
        )

    def _restore(
        self, instance: str, ask: Callable[[AwsTarget], RestoredDatabase]
    ) -> RestoredDatabase:
        """The aws target's restore, then the instance the lab restored as it followed."""
        started = time.monotonic()
        with self._step() as aws:
            asked = ask(aws)
        if self.dry_run:
            return asked
        assert self._controller is not None
        if instance not in self._controller.restored:
            raise TargetError(
                f"RDS restored {instance!r} but the lab did not follow it: expected a "
                "restore in the control plane's trail; see the audit trail's twin_follow",
                resource=instance,
            )
        return dataclasses.replace(
            asked,
            dsn=self.lab.restored_dsn(instance),
            restore_duration_s=time.monotonic() - started,
        )

    # -- data disasters (DataDisasterTarget), staged on the data plane --------------

    def corrupt_orders(self, region: str = "primary") -> int:
        """The bad change is a deploy's SQL on the lab's database (not a control-plane call)."""
        return self.data_plane.corrupt_orders(region)

    def destroy_primary_data(self) -> None:
        """Ransomware: the primary region fails through the aws target (power-off), then
        the lab's primary database, WAL archive and local backups are destroyed. The
        control plane is not failed back afterwards: the lab rolls back on its own."""
        self.fail_region("primary", "power-off")
        self._data_destroyed = True
        self.data_plane.act("destroy_primary_data", self.lab.backups().destroy_primary_data)

    # -- order documents (ObjectStoreTarget, ObjectReplicationTarget) ---------------
    #
    # Customers' writes and the bad deploy are the data plane's (the lab's object store);
    # listing versions and restoring them are the aws target's S3 calls, to that store.

    def bucket(self, region: str) -> str:
        return self.data_plane.bucket(region)

    def put_object(self, bucket: str, key: str, body: bytes) -> str:
        return self.data_plane.put_object(bucket, key, body)

    def get_object(self, bucket: str, key: str) -> bytes | None:
        return self.data_plane.get_object(bucket, key)

    def delete_object(self, bucket: str, key: str) -> None:
        self.data_plane.delete_object(bucket, key)

    def list_object_versions(self, bucket: str, prefix: str = "") -> list[ObjectVersion]:
        return self.aws.list_object_versions(bucket, prefix)

    def restore_object_version(
        self, bucket: str, key: str, version_id: str, source_bucket: str | None = None
    ) -> None:
        self.aws.restore_object_version(bucket, key, version_id, source_bucket)

    @property
    def object_replication_delay_s(self) -> float:
        return self.data_plane.object_replication_delay_s

    def wait_objects_replicated(self, keys: list[str], timeout_s: float = 30.0) -> float:
        return self.data_plane.wait_objects_replicated(keys, timeout_s)

    def stop_object_replication(self) -> None:
        self.data_plane.stop_object_replication()

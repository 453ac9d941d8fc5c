"""The ``lab`` target's data: backups and restores, the object store and its replication,
and the data disasters (a bad change, ransomware) the backup drills recover from.

The capabilities ``BackupTarget``, ``ObjectStoreTarget``, ``ObjectReplicationTarget`` and
``DataDisasterTarget`` of ``drdrill.targets.base`` on the lab; every mutating call is
audited (``drdrill.targets.lab_audit``).
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from drdrill.lab import backups as lab_backups
from drdrill.lab.objects import BUCKETS, ObjectStore
from drdrill.targets.base import ObjectVersion, RestoredDatabase, Snapshot, object_versions
from drdrill.targets.lab_audit import AuditedLab

__all__ = ["LabDataTarget"]


class LabDataTarget(AuditedLab):
    """The lab's backups, objects and data disasters, audited."""

    # -- backups (drdrill.targets.base.BackupTarget) ---------------------------

    def _backups(self) -> lab_backups.LabBackups:
        return self.lab.backups()

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        return self.act(
            "snapshot", lambda: self._backups().snapshot(name, region), name=name, region=region
        )

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        return self._backups().list_snapshots(region)

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        return self.act(
            "copy_snapshot",
            lambda: self._backups().copy_snapshot(name, to_region),
            name=name,
            to_region=to_region,
        )

    def restore_snapshot(
        self, name: str, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        return self.act(
            "restore_snapshot",
            lambda: self._backups().restore_snapshot(name, instance, region),
            name=name,
            instance=instance,
            region=region,
        )

    def restore_to_point_in_time(
        self, when: datetime, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        return self.act(
            "restore_to_point_in_time",
            lambda: self._backups().restore_to_point_in_time(when, instance, region),
            when=when.isoformat(),
            instance=instance,
            region=region,
        )

    # -- objects (ObjectStoreTarget, ObjectReplicationTarget) -------------------

    def _objects(self) -> ObjectStore:
        """The lab's object store, started on first use (and again after a reset)."""
        if self._store is None:
            self._store = self.lab.objects()
        self._store.ensure_up()
        return self._store

    def bucket(self, region: str) -> str:
        return BUCKETS[region]

    def put_object(self, bucket: str, key: str, body: bytes) -> str:
        s3 = self._objects().client()
        reply = self.act(
            "put_object",
            lambda: s3.put_object(Bucket=bucket, Key=key, Body=body),
            bucket=bucket,
            key=key,
            size=len(body),
        )
        return str(reply["VersionId"])

    def get_object(self, bucket: str, key: str) -> bytes | None:
        s3 = self._objects().client()
        try:
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return body

    def delete_object(self, bucket: str, key: str) -> None:
        s3 = self._objects().client()
        self.act(
            "delete_object",
            lambda: s3.delete_object(Bucket=bucket, Key=key),
            bucket=bucket,
            key=key,
        )

    def list_object_versions(self, bucket: str, prefix: str = "") -> list[ObjectVersion]:
        s3 = self._objects().client()
        return object_versions(bucket, s3.list_object_versions(Bucket=bucket, Prefix=prefix))

    def restore_object_version(
        self, bucket: str, key: str, version_id: str, source_bucket: str | None = None
    ) -> None:
        """Make ``version_id`` (of ``source_bucket``, default ``bucket``) current again."""
        s3 = self._objects().client()
        source = {"Bucket": source_bucket or bucket, "Key": key, "VersionId": version_id}
        self.act(
            "restore_object_version",
            lambda: s3.copy_object(Bucket=bucket, Key=key, CopySource=source),
            bucket=bucket,
            key=key,
            source=source,
        )

    @property
    def object_replication_delay_s(self) -> float:
        return float(self.config.lab.object_replication_delay)

    def wait_objects_replicated(self, keys: list[str], timeout_s: float = 30.0) -> float:
        return self._objects().wait_replicated(keys, timeout_s)

    def stop_object_replication(self) -> None:
        self.act("stop_object_replication", self._objects().fail_primary)

    # -- data disasters (DataDisasterTarget) -----------------------------------

    def corrupt_orders(self, region: str = "primary") -> int:
        """The bad change of the data-corruption drill, as a deploy gone wrong would do it."""

        def bad_change() -> int:
            with psycopg.connect(self.lab.db_dsn(region), autocommit=True) as conn:
                deleted = conn.execute(
                    "DELETE FROM orders WHERE client = 'canary' AND seq % 3 = 0"
                ).rowcount
                zeroed = conn.execute(
                    "UPDATE orders SET quantity = 0, total_cents = 0 WHERE client = 'locust'"
                ).rowcount
            return deleted + zeroed

        touched: int = self.act("corrupt_orders", bad_change, region=region)
        return touched

    def destroy_primary_data(self) -> None:
        """Ransomware on the lab: primary database, WAL archive and local backups destroyed."""
        self.act("destroy_primary_data", self.lab.destroy_primary_data)

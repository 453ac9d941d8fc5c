"""RDS: promote the DR replica; snapshots, cross-region copies, restores, PITR.

Every RDS wait is a botocore waiter (``db_instance_available``,
``db_snapshot_available``) with the profile's timeout. Restores always create a
new instance, never overwrite one.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from drdrill.targets.aws.clients import Clients, waiter_config
from drdrill.targets.aws.profile import AwsProfile, AwsRegion
from drdrill.targets.aws.safety import Guard
from drdrill.targets.base import RestoredDatabase, Snapshot

__all__ = ["Databases", "with_host"]


def with_host(url: str, host: str, port: int | None, *, password: bool = True) -> str:
    """``url`` pointing at ``host:port`` instead (user, database, options kept; the
    password too unless ``password`` is False)."""
    prefix = ""
    if url.startswith("jdbc:"):
        prefix, url = "jdbc:", url[len("jdbc:") :]
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    if not password:
        userinfo = userinfo.partition(":")[0]
    netloc = f"{userinfo}@" if userinfo else ""
    netloc += f"{host}:{port}" if port else host
    return prefix + urlunsplit(parts._replace(netloc=netloc))


class Databases:
    """The RDS side of a target."""

    def __init__(self, profile: AwsProfile, clients: Clients, guard: Guard) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard
        self.restored: dict[str, AwsRegion] = {}
        """Instances restored by this target, by id (they may be repointed to)."""

    def wait_available(self, side: AwsRegion, instance: str) -> None:
        """The ``db_instance_available`` waiter on ``instance`` (nothing in dry-run)."""
        waiters = self.profile.waiters
        self._wait(
            side, "db_instance_available", "DBInstanceIdentifier", instance, waiters.database_s
        )

    def wait_snapshot(self, side: AwsRegion, name: str) -> None:
        """The ``db_snapshot_available`` waiter on snapshot ``name`` in ``side``'s region
        (nothing in dry-run)."""
        waiters = self.profile.waiters
        self._wait(side, "db_snapshot_available", "DBSnapshotIdentifier", name, waiters.snapshot_s)

    def _wait(self, side: AwsRegion, waiter: str, key: str, resource: str, max_s: float) -> None:
        """RDS's ``waiter`` on ``resource`` (its ``key`` parameter) for up to ``max_s``,
        polled at the profile's interval; audited as a read, nothing in dry-run."""
        if self.guard.dry_run:
            return
        rds = self.clients.aws("rds", side.name)
        config = waiter_config(max_s, self.profile.waiters.poll_s)
        self.guard.read(
            "rds",
            f"wait {waiter}",
            side.name,
            resource,
            lambda: rds.get_waiter(waiter).wait(**{key: resource}, WaiterConfig=config),
        )

    def describe(self, side: AwsRegion, instance: str) -> dict[str, Any] | None:
        """The instance as RDS describes it, None when there is none (a dry run: None)."""
        if self.guard.dry_run:
            return None
        rds = self.clients.aws("rds", side.name)
        found = self.guard.read(
            "rds",
            "describe_db_instances",
            side.name,
            instance,
            lambda: rds.describe_db_instances(
                Filters=[{"Name": "db-instance-id", "Values": [instance]}]
            ),
        )
        instances: list[dict[str, Any]] = found.get("DBInstances", [])
        return instances[0] if instances else None

    def promote(self, side: AwsRegion) -> None:
        """``promote_read_replica`` on the region's replica, then wait until available."""
        rds = self.clients.aws("rds", side.name)
        self.guard.call(
            rds,
            "promote_read_replica",
            side.name,
            side.rds_instance,
            DBInstanceIdentifier=side.rds_instance,
        )
        self.wait_available(side, side.rds_instance)

    def url_of(
        self, instance: str, template: AwsRegion, *, dsn: bool = False, connect: bool = False
    ) -> str:
        """The database URL of a restored ``instance``: ``template``'s URL (its reader
        DSN if ``dsn``: without password unless ``connect``, the harness's own
        connection) with the instance's endpoint as host (read-only; a placeholder host
        in dry-run)."""
        side = self.restored.get(instance, template)
        password = not dsn or connect
        url = (side.reader_dsn or side.database_url) if dsn else side.database_url
        if self.guard.dry_run:
            return with_host(url, f"<endpoint of {instance}>", None, password=password)
        rds = self.clients.aws("rds", side.name)
        found = self.guard.read(
            "rds",
            "describe_db_instances",
            side.name,
            instance,
            lambda: rds.describe_db_instances(DBInstanceIdentifier=instance),
        )
        endpoint = found["DBInstances"][0].get("Endpoint") or {}
        return with_host(url, endpoint["Address"], endpoint.get("Port"), password=password)

    def snapshot(self, side: AwsRegion, logical: str, name: str) -> Snapshot:
        """``create_db_snapshot`` of the region's instance, waited until available."""
        rds = self.clients.aws("rds", side.name)
        self.guard.call(
            rds,
            "create_db_snapshot",
            side.name,
            side.rds_instance,
            DBInstanceIdentifier=side.rds_instance,
            DBSnapshotIdentifier=name,
        )
        if self.guard.dry_run:
            return Snapshot(name, logical, datetime.now().astimezone(), None, side.rds_instance)
        self.wait_snapshot(side, name)
        return next(s for s in self.list_snapshots(side, logical) if s.name == name)

    def list_snapshots(self, side: AwsRegion, logical: str) -> list[Snapshot]:
        """Every manual and automated snapshot held in the region, oldest first."""
        rds = self.clients.aws("rds", side.name)
        found = self.guard.read(
            "rds", "describe_db_snapshots", side.name, side.name, rds.describe_db_snapshots
        )
        snapshots = [_snapshot(s, logical) for s in found.get("DBSnapshots", [])]
        return sorted(snapshots, key=lambda s: s.created)

    def copy(
        self, source: AwsRegion, target: AwsRegion, logical: str, name: str, **options: Any
    ) -> Snapshot:
        """``copy_db_snapshot`` of ``name`` from ``source``'s region into ``target``'s
        (``options``: more of its parameters, e.g. ``KmsKeyId``)."""
        if self.guard.dry_run:
            account = self.guard.account or "/".join(self.profile.allowed_account_ids)
            arn = f"arn:aws:rds:{source.name}:{account}:snapshot:{name}"
        else:
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
        self.guard.call(
            rds,
            "copy_db_snapshot",
            target.name,
            name,
            SourceDBSnapshotIdentifier=arn,
            TargetDBSnapshotIdentifier=name,
            SourceRegion=source.name,
            **options,
        )
        return Snapshot(name, logical, datetime.now().astimezone(), None, arn)

    def restore_snapshot(self, side: AwsRegion, name: str, instance: str) -> RestoredDatabase:
        """A new instance ``instance`` from snapshot ``name``, waited until available."""
        rds = self.clients.aws("rds", side.name)
        started = time.monotonic()
        self.guard.call(
            rds,
            "restore_db_instance_from_db_snapshot",
            side.name,
            instance,
            DBInstanceIdentifier=instance,
            DBSnapshotIdentifier=name,
        )
        self.wait_available(side, instance)
        self.restored[instance] = side
        return RestoredDatabase(
            instance, self.url_of(instance, side, dsn=True), time.monotonic() - started, None, name
        )

    def restore_to_point_in_time(
        self, side: AwsRegion, when: datetime, instance: str
    ) -> RestoredDatabase:
        """A new instance ``instance``: the region's database as of ``when``."""
        rds = self.clients.aws("rds", side.name)
        started = time.monotonic()
        self.guard.call(
            rds,
            "restore_db_instance_to_point_in_time",
            side.name,
            instance,
            SourceDBInstanceIdentifier=side.rds_instance,
            TargetDBInstanceIdentifier=instance,
            RestoreTime=when,
        )
        self.wait_available(side, instance)
        self.restored[instance] = side
        return RestoredDatabase(
            instance,
            self.url_of(instance, side, dsn=True),
            time.monotonic() - started,
            when,
            "pitr",
        )


def _snapshot(raw: dict[str, Any], logical: str) -> Snapshot:
    return Snapshot(
        raw["DBSnapshotIdentifier"],
        logical,
        raw.get("SnapshotCreateTime") or datetime.now().astimezone(),
        (raw.get("AllocatedStorage") or 0) * 1024**3 or None,
        raw.get("SourceDBSnapshotIdentifier") or raw.get("DBInstanceIdentifier", ""),
    )

"""The planned failback's new RDS instances: the new primary and DR's new replica.

RDS cannot make the old primary instance follow the promoted DR instance (there is no
rewind), so the failback creates instances instead of reusing any:

- the **new primary** (``failback.primary_instance``) in the primary region, restored
  from a snapshot of the DR instance copied into the primary region (a snapshot lives in
  one region), or a cross-region read replica of the DR instance;
- after the switchover, **DR's new replica** (``failback.dr_replica_instance``): a
  cross-region read replica of the new primary.

Both replicas are made by one call (``create_replica``), with the settings of the
region they are made in. Every call goes through the target's ``Guard`` (audited,
refused without ``--confirm``, planned in a dry run).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drdrill.errors import TargetError
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.database import Databases
from drdrill.targets.aws.profile import AwsProfile, AwsRegion
from drdrill.targets.aws.safety import Guard

__all__ = ["NewInstances"]


def _options(**optional: Any) -> dict[str, Any]:
    """The settings given (a setting left unset is not sent: RDS's default)."""
    return {k: v for k, v in optional.items() if v is not None}


class NewInstances:
    """Creates the failback's new instances (module docstring) and waits until each is
    available."""

    def __init__(
        self, profile: AwsProfile, clients: Clients, guard: Guard, databases: Databases
    ) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard
        self.databases = databases
        self.primary = profile.regions["primary"]
        self.dr = profile.regions["dr"]

    @property
    def primary_instance(self) -> str:
        """The new primary instance."""
        return self.profile.failback.primary_instance or f"{self.primary.rds_instance}-new"

    @property
    def dr_replica_instance(self) -> str:
        """The new DR read replica of the new primary."""
        return self.profile.failback.dr_replica_instance or f"{self.dr.rds_instance}-new"

    def restore_primary_from_snapshot(self) -> str:
        """The new primary from a snapshot of the DR instance, copied into the primary
        region; the snapshot's name."""
        settings = self.profile.failback
        primary, dr = self.primary, self.dr
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        name = f"{settings.snapshot_prefix}-{stamp}"
        self.databases.snapshot(dr, "dr", name)
        self.databases.copy(dr, primary, "dr", name, **_options(KmsKeyId=settings.kms_key_id))
        rds = self.clients.aws("rds", primary.name)
        self.databases.wait_snapshot(primary, name)
        self.guard.call(
            rds,
            "restore_db_instance_from_db_snapshot",
            primary.name,
            self.primary_instance,
            DBInstanceIdentifier=self.primary_instance,
            DBSnapshotIdentifier=name,
            MultiAZ=settings.multi_az,
            **_options(
                DBInstanceClass=settings.instance_class,
                DBSubnetGroupName=settings.db_subnet_group,
                DBParameterGroupName=settings.primary_parameter_group,
            ),
        )
        self.databases.wait_available(primary, self.primary_instance)
        return name

    def replicate_dr_as_primary(self) -> None:
        """The new primary as a cross-region read replica of the DR instance (it streams
        every write DR takes until the switchover promotes it)."""
        settings = self.profile.failback
        self.create_replica(
            self.primary,
            self.primary_instance,
            (self.dr, self.dr.rds_instance),
            MultiAZ=settings.multi_az,
            DBInstanceClass=settings.instance_class,
            DBSubnetGroupName=settings.db_subnet_group,
            DBParameterGroupName=settings.primary_parameter_group,
            KmsKeyId=settings.kms_key_id,
        )
        self.databases.wait_available(self.primary, self.primary_instance)

    def replicate_primary_to_dr(self) -> None:
        """DR's new replica of the new primary (unless it exists already: a rerun),
        waited for until available."""
        settings = self.profile.failback
        if self.databases.describe(self.dr, self.dr_replica_instance) is None:
            self.create_replica(
                self.dr,
                self.dr_replica_instance,
                (self.primary, self.primary_instance),
                DBInstanceClass=settings.instance_class,
                DBSubnetGroupName=settings.dr_db_subnet_group,
                DBParameterGroupName=settings.standby_parameter_group,
                KmsKeyId=settings.dr_kms_key_id,
            )
        self.databases.wait_available(self.dr, self.dr_replica_instance)

    def create_replica(
        self, side: AwsRegion, name: str, source: tuple[AwsRegion, str], **settings: Any
    ) -> None:
        """``create_db_instance_read_replica`` of ``source`` (its region and instance) as
        ``name`` in ``side``'s region, with the ``settings`` given (None: not sent)."""
        source_side, source_instance = source
        self.guard.call(
            self.clients.aws("rds", side.name),
            "create_db_instance_read_replica",
            side.name,
            name,
            DBInstanceIdentifier=name,
            SourceDBInstanceIdentifier=self._arn(source_side, source_instance),
            SourceRegion=source_side.name,
            **_options(**settings),
        )

    def _arn(self, side: AwsRegion, instance: str) -> str:
        found = self.databases.describe(side, instance)
        if found is not None:
            return str(found["DBInstanceArn"])
        if not self.guard.dry_run:
            raise TargetError(f"no RDS instance {instance}", region=side.name, resource=instance)
        account = self.guard.account or "/".join(self.profile.allowed_account_ids)
        return f"arn:aws:rds:{side.name}:{account}:db:{instance}"

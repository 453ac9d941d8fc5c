"""The lab follows the planned failback's and the backups' RDS calls, in trail order.

- ``CreateDBInstanceReadReplica`` in a region → that region's lab database rebuilt as a
  standby of the serving one (the new instance stands for it from then on);
- ``ModifyDBParameterGroup`` of the fence group setting ``default_transaction_read_only``
  → the lab's DR database fenced (and the standby waited for until it replayed all DR
  wrote) or unfenced;
- ``PromoteReadReplica`` of such a new replica → the switchover's promotion of that
  region's standby;
- ``CreateDBSnapshot`` / ``CopyDBSnapshot`` / ``RestoreDBInstanceFromDBSnapshot`` /
  ``RestoreDBInstanceToPointInTime`` → the lab's backups take, copy and restore the same
  (named as RDS was told; a restored instance is a real PostgreSQL of the lab, which a
  ``DATABASE_URL`` naming it then points to).
"""

from __future__ import annotations

from datetime import datetime

from drdrill.lab import Lab
from drdrill.lab.topology import OTHER
from drdrill.targets.aws.fence import READ_ONLY
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.desired import BACKUP_CALLS
from drdrill.targets.twin.lab_actions import LabActions
from drdrill.targets.twin.trail import Call

__all__ = ["RdsFollower"]

REGIONS = ("primary", "dr")
FENCED = "dr"
"""The region whose database the aws target's failback fences (the DR instance's group)."""


class RdsFollower:
    """What RDS was told, done by the lab (module docstring), and what the lab database
    each RDS instance stands for."""

    def __init__(self, lab: Lab, profile: AwsProfile, actions: LabActions) -> None:
        self.lab = lab
        self.profile = profile
        self.actions = actions
        self.replicas: dict[str, str] = {}
        """Read replicas the failback created (not promoted yet), their lab region."""
        self.fenced = False
        """The lab's DR database fenced (and its standby caught up) by this follower."""
        self.restored: set[str] = set()
        """Instances the lab restored as it followed RDS restores (named as RDS's)."""
        self._database_of_instance: dict[str, str] = {
            side.rds_instance: str(r) for r, side in profile.regions.items()
        }
        """The lab database each RDS instance stands for (the failback's new ones too)."""
        self._region_of: dict[str, str] = {side.name: str(r) for r, side in profile.regions.items()}

    def database_of(self, instance: str) -> str | None:
        """The lab database the RDS instance ``instance`` stands for (None: no known one)."""
        return self._database_of_instance.get(instance)

    def follow(self, call: Call) -> bool:
        """The lab follows ``call``; whether it was one the lab acts on (the rollouts
        made meanwhile are then followed at once)."""
        instance = call.param("DBInstanceIdentifier")
        do = self.actions.do
        if call.action == "CreateDBInstanceReadReplica":
            region = self._region_of.get(call.region)
            if region is None or not instance:
                return False
            self._database_of_instance[instance] = region
            self.replicas[instance] = region
            do("read replica created", self.lab.rebuild_region_database, region)
        elif call.action == "PromoteReadReplica" and instance in self.replicas:
            region = self.replicas.pop(instance)
            do("read replica promoted", self.lab.promote_standby, region)
            self.fenced = False
        elif call.action in BACKUP_CALLS:
            self._follow_backup(call)
        elif call.action == "ModifyDBParameterGroup" and (
            call.param("DBParameterGroupName") == self.profile.failback.fence_parameter_group
        ):
            return self._follow_fence(call)
        else:
            return False
        return True

    def _follow_fence(self, call: Call) -> bool:
        """The fence group's ``default_transaction_read_only`` → the lab's DR database
        fenced or unfenced; whether the call set it."""
        values = [
            m.get("ParameterValue", "")
            for m in call.members("Parameters.Parameter")
            if m.get("ParameterName") == READ_ONLY
        ]
        if not values:
            return False
        do = self.actions.do
        if values[-1].lower() in ("1", "on", "true"):
            self.fenced = do("write fence set", self.lab.fence_database, FENCED) and do(
                "write fence set", self.lab.catch_up, OTHER[FENCED]
            )
        else:
            do("write fence lifted", self.lab.unfence_database, FENCED)
            self.fenced = False
        return True

    def _follow_backup(self, call: Call) -> None:
        """The lab's backups do what RDS was asked (module docstring)."""
        backups = self.lab.backups()
        do = self.actions.do
        region = self._region_of.get(call.region)
        if call.action == "CreateDBSnapshot":
            source = self.database_of(call.param("DBInstanceIdentifier"))
            if source in REGIONS:
                name = call.param("DBSnapshotIdentifier")
                do("DB snapshot created", backups.snapshot, name, source)
        elif call.action == "CopyDBSnapshot" and region is not None:
            name = call.param("TargetDBSnapshotIdentifier")
            do("DB snapshot copied", backups.copy_snapshot, name, region)
        elif call.action == "RestoreDBInstanceFromDBSnapshot" and region is not None:
            instance = call.param("DBInstanceIdentifier")
            name = call.param("DBSnapshotIdentifier")
            signal = "DB instance restored from a snapshot"
            if do(signal, backups.restore_snapshot, name, instance, region):
                self._restored(instance)
        elif call.action == "RestoreDBInstanceToPointInTime":
            source = self.database_of(call.param("SourceDBInstanceIdentifier"))
            instance = call.param("TargetDBInstanceIdentifier")
            when = datetime.fromisoformat(call.param("RestoreTime"))
            signal = "DB instance restored to a point in time"
            if source in REGIONS and do(
                signal, backups.restore_to_point_in_time, when, instance, source
            ):
                self._restored(instance)

    def _restored(self, instance: str) -> None:
        self.restored.add(instance)
        self._database_of_instance[instance] = instance

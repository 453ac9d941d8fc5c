"""The write fence of a failback: the DR database refuses writes.

``default_transaction_read_only`` set to on (``ApplyMethod: immediate``: a dynamic
parameter, no reboot) in the DR instance's own DB parameter group
(``failback.fence_parameter_group``), then waited for until the instance reports the
group in-sync. Before changing anything the group is checked to be the DR instance's:
changing another group would fence nothing. RDS PostgreSQL applies the default to new
transactions after its reload; a session that sets ``transaction_read_only`` off
itself, or a superuser, is not stopped by it — the applications' role must not do so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from drdrill.errors import ConfigError, TargetError
from drdrill.support.wait import poll
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.database import Databases
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.aws.safety import Guard

__all__ = ["READ_ONLY", "WriteFence"]

READ_ONLY = "default_transaction_read_only"


class WriteFence:
    """The fence on the DR database, and when it took (this process)."""

    def __init__(
        self,
        profile: AwsProfile,
        clients: Clients,
        guard: Guard,
        databases: Databases,
        name: str,
    ) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard
        self.databases = databases
        self.name = name
        self.fenced_at: float | None = None
        """Monotonic time the fence took, for the switchover's outage (None: not fenced)."""
        self.fenced_wall: datetime | None = None
        """The same moment in UTC (metrics after it count)."""

    def group(self) -> str:
        """The fence's parameter group (``ConfigError`` naming the key when unset)."""
        group = self.profile.failback.fence_parameter_group
        if group is None:
            raise ConfigError(
                "a failback fences writes on the DR database and needs its DB parameter "
                "group (a custom one, the DR instance's only); expected a group name, got none",
                key=f"targets.{self.name}.failback.fence_parameter_group",
            )
        return group

    def on(self) -> None:
        """The DR database refuses writes; idempotent."""
        self._set_read_only(True)
        self.fenced_at = time.monotonic()
        self.fenced_wall = datetime.now(UTC)

    def off(self) -> None:
        """Lift the fence (a switchover that could not complete gives writes back to DR)."""
        self._set_read_only(False)
        self.fenced_at = self.fenced_wall = None

    def _set_read_only(self, on: bool) -> None:
        group = self.group()
        dr = self.profile.regions["dr"]
        found = self.databases.describe(dr, dr.rds_instance)
        if found is not None:
            groups = [g["DBParameterGroupName"] for g in found.get("DBParameterGroups", [])]
            if group not in groups:
                raise TargetError(
                    f"the DR instance uses the parameter groups {groups}, not "
                    f"targets.{self.name}.failback.fence_parameter_group {group!r}: changing "
                    "it would not fence the DR database; nothing changed",
                    region=dr.name,
                    resource=dr.rds_instance,
                )
        elif not self.guard.dry_run:
            raise TargetError("no DR instance to fence", region=dr.name, resource=dr.rds_instance)
        rds = self.clients.aws("rds", dr.name)
        parameter = {
            "ParameterName": READ_ONLY,
            "ParameterValue": "1" if on else "0",
            "ApplyMethod": "immediate",
        }
        self.guard.call(
            rds,
            "modify_db_parameter_group",
            dr.name,
            group,
            DBParameterGroupName=group,
            Parameters=[parameter],
        )
        if self.guard.dry_run:
            return

        def in_sync() -> bool | None:
            now = self.databases.describe(dr, dr.rds_instance) or {}
            statuses = [
                g.get("ParameterApplyStatus")
                for g in now.get("DBParameterGroups", [])
                if g["DBParameterGroupName"] == group
            ]
            return True if statuses == ["in-sync"] else None

        waiters = self.profile.waiters
        if poll(in_sync, waiters.database_s, interval_s=waiters.poll_s) is None:
            raise TargetError(
                f"parameter group {group} not in-sync after {waiters.database_s:g}s",
                region=dr.name,
                resource=dr.rds_instance,
            )

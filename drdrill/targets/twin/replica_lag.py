"""What only the lab knows, reported back as CloudWatch would: the replicas' ``ReplicaLag``.

Every replica the failback created gets the lab's replication lag of its region's
standby as its ``ReplicaLag`` (``put_metric_data``), stamped no later than the pass read
the trail: a datapoint never claims a time before the lab followed a fence the trail
already held.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from drdrill.lab import Lab
from drdrill.lab.replication import replication_state
from drdrill.lab.topology import OTHER
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.lab_actions import LabActions
from drdrill.targets.twin.rds_calls import RdsFollower

__all__ = ["ReplicaLagPublisher"]

LAG_EVERY_S = 1.0
"""How often a replica's ``ReplicaLag`` is published (every pass while the lab is fenced)."""


class ReplicaLagPublisher:
    """Publishes the ``ReplicaLag`` of the replicas ``rds`` followed (module docstring)."""

    def __init__(
        self,
        lab: Lab,
        profile: AwsProfile,
        actions: LabActions,
        rds: RdsFollower,
        *,
        aws: Callable[[str, str], Any],
    ) -> None:
        self.lab = lab
        self.profile = profile
        self.actions = actions
        self.rds = rds
        self._aws = aws
        self._published: dict[str, float] = {}
        self._second_published = 0

    def second_due(self) -> bool:
        """Whether a ``publish_on_the_second`` is due: while the lab is fenced, right after
        each whole second (CloudWatch times are whole seconds, so a wait for a datapoint
        after the fence takes the first one of the next second)."""
        return self.rds.fenced and int(time.time()) > self._second_published

    def publish_on_the_second(self) -> None:
        """The replicas' ``ReplicaLag`` once more, stamped now (``second_due``)."""
        self._second_published = int(time.time())
        self.publish(datetime.now(UTC))

    def publish(self, read_at: datetime) -> None:
        """Each replica the failback created: the lab's replication lag of its region's
        standby as its CloudWatch ``ReplicaLag`` (nothing while it does not stream, as a
        broken replica reports nothing). Stamped when this pass read the trail, or now once
        the lab followed a fence (its standby caught up since)."""
        if not self.rds.replicas:
            return
        state = self.actions.state()
        fenced = self.rds.fenced
        for instance, region in self.rds.replicas.items():
            due = self._published.get(instance, 0.0) + LAG_EVERY_S
            if state.failures[region] is not None or (not fenced and time.monotonic() < due):
                continue
            self._published[instance] = time.monotonic()
            stamp = datetime.now(UTC) if fenced else read_at
            found = replication_state(self.lab.db_dsn(region), self.lab.db_dsn(OTHER[region]))
            if found.state != "streaming":
                continue
            self._aws("cloudwatch", self.profile.region(region).name).put_metric_data(
                Namespace="AWS/RDS",
                MetricData=[
                    {
                        "MetricName": "ReplicaLag",
                        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
                        "Timestamp": stamp,
                        "Value": found.lag_s,
                        "Unit": "Seconds",
                    }
                ],
            )

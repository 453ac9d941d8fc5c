"""How far a replica is behind: CloudWatch's RDS ``ReplicaLag``, and the WAL replay
position over SQL.

``ReplicaLag`` (seconds, one datapoint a minute) is what AWS reports without a
database login: the switchover waits for a period that begins after the fence and
reports 0 (a datapoint whose period began before the fence is ignored: it may hold
lag from before the writes stopped), and DR's validation reads the latest one. The
SQL comparison (``wait_replayed``: the replica's ``pg_last_wal_replay_lsn()`` reaches
the serving database's ``pg_current_wal_lsn()``) is exact, and is what the data
consistency check waits on before it compares the two databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from drdrill.errors import TargetError
from drdrill.support.wait import poll
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.profile import AwsProfile, AwsRegion
from drdrill.targets.aws.safety import Guard

__all__ = ["LAG_PERIOD_S", "ReplicaLagMetric", "wait_replayed"]

LAG_PERIOD_S = 60
"""CloudWatch publishes RDS ``ReplicaLag`` once a minute."""


class ReplicaLagMetric:
    """CloudWatch's ``ReplicaLag`` of the target's instances (read-only)."""

    def __init__(self, profile: AwsProfile, clients: Clients, guard: Guard) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard

    def points(self, side: AwsRegion, instance: str, since: datetime) -> list[dict[str, Any]]:
        """The datapoints (``Maximum`` per period) of periods beginning at or after
        ``since``, oldest first."""
        cloudwatch = self.clients.aws("cloudwatch", side.name)
        found = self.guard.read(
            "cloudwatch",
            "get_metric_statistics",
            side.name,
            instance,
            lambda: cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName="ReplicaLag",
                Dimensions=[{"Name": "DBInstanceIdentifier", "Value": instance}],
                StartTime=(since + timedelta(seconds=1)).replace(microsecond=0),
                EndTime=datetime.now(UTC) + timedelta(seconds=LAG_PERIOD_S),
                Period=LAG_PERIOD_S,
                Statistics=["Maximum"],
            ),
        )
        points = [p for p in found.get("Datapoints", []) if p["Timestamp"] >= since]
        return sorted(points, key=lambda p: p["Timestamp"])

    def wait_zero(self, side: AwsRegion, instance: str, since: datetime) -> bool:
        """Until a period beginning after ``since`` (the fence) reports a lag of 0: True,
        or False once ``waiters.database_s`` passed. (A dry run: True, waiting for nothing.)"""
        if self.guard.dry_run:
            return True
        waiters = self.profile.waiters

        def caught_up() -> bool | None:
            points = self.points(side, instance, since)
            return True if any(p["Maximum"] == 0 for p in points) else None

        return poll(caught_up, waiters.database_s, interval_s=waiters.poll_s) is not None

    def latest(self, side: AwsRegion, instance: str) -> float:
        """The latest lag of the last ten periods, waited for up to ``waiters.database_s``
        (a new replica publishes its first datapoint after a while)."""
        since = datetime.now(UTC) - timedelta(seconds=10 * LAG_PERIOD_S)
        waiters = self.profile.waiters

        def newest() -> dict[str, Any] | None:
            points = self.points(side, instance, since)
            return points[-1] if points else None

        latest = poll(newest, waiters.database_s, interval_s=waiters.poll_s)
        if latest is None:
            raise TargetError(
                f"no ReplicaLag datapoint within {waiters.database_s:g}s",
                region=side.name,
                resource=instance,
            )
        return float(latest["Maximum"])


def wait_replayed(
    serving: str, replica: str, region: str, timeout_s: float, interval_s: float
) -> None:
    """Until the ``replica`` DSN's database replayed the WAL position the ``serving`` one
    had when this was called (``TargetError`` after ``timeout_s``)."""
    try:
        with psycopg.connect(serving, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        position = row[0] if row else None

        def replayed() -> bool | None:
            with psycopg.connect(replica, connect_timeout=5) as conn:
                got = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,)
                ).fetchone()
            return True if got and got[0] else None

        done = poll(replayed, timeout_s, interval_s=interval_s)
    except psycopg.Error as exc:
        raise TargetError(f"cannot compare WAL replay positions: {exc}", region=region) from exc
    if done is None:
        raise TargetError(
            f"the {region} database did not replay the serving one's WAL position "
            f"{position} within {timeout_s:g}s",
            region=region,
        )

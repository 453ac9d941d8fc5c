"""The planned failback on AWS: the plan's Failback Procedures through boto3 and kubernetes.

Definitions used here:

- **serving region** — the region whose database the applications write to: ``dr`` while
  any deployment of either region has its database variable on the DR database's host,
  else ``primary``.
- **new primary** — RDS cannot make the old primary instance follow the promoted DR
  instance (there is no rewind), so the primary region gets a new instance,
  ``failback.primary_instance``. The old one is never touched: what it holds (writes
  it took after the promotion, if a partition left clients writing to it) stays for
  the team to examine.
- **fence** — the DR database refuses writes (``drdrill.targets.aws.fence``).
- **prepare** (``rebuild_database``) by ``failback.method``:
  ``snapshot`` (the plan's Step 1, docs/dr-plan.md): fence, ``create_db_snapshot`` of
  the DR instance,
  ``copy_db_snapshot`` into the primary region (a snapshot lives in one region),
  ``restore_db_instance_from_db_snapshot`` as the new primary. Every write after the
  snapshot would be lost, so it refuses unless ``failback.freeze_writes`` is true, and
  then says in its result (the timeline) and the audit trail that writes stay refused
  until the switchover. ``read-replica``: ``create_db_instance_read_replica`` of the DR
  instance in the primary region — it streams every write; no freeze.
  Either way the primary region's applications then use the serving DR database, so
  traffic shifted to them writes where everyone writes.
- **switchover** — fence (the snapshot method's is already on), wait until CloudWatch
  reports ``ReplicaLag`` 0 for the new primary in a period after the fence
  (``drdrill.targets.aws.replication``; on a timeout
  the fence is lifted and nothing is promoted), ``promote_read_replica``, the database
  variable of both regions' deployments set to the new primary and rolled out; its
  outage is fence → rolled out. Then DR is re-attached: a cross-region read replica of
  the new primary, ``failback.dr_replica_instance``.
- **validate DR** — that replica is a replica of the new primary and its latest
  ``ReplicaLag`` is under the plan's alarm.

The new instances are created by ``drdrill.targets.aws.failback_instances``.

Every action checks what it needs before it changes anything (the primary region not
still failed by this target, the settings it needs) and skips what is already done.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from drdrill.errors import ConfigError, TargetError
from drdrill.observation.integrity import Consistency, committed_ids, compare_databases
from drdrill.records.audit import AuditTrail
from drdrill.targets.aws.clients import Clients
from drdrill.targets.aws.compute import Compute
from drdrill.targets.aws.database import Databases
from drdrill.targets.aws.failback_instances import NewInstances
from drdrill.targets.aws.faults import Faults
from drdrill.targets.aws.fence import WriteFence
from drdrill.targets.aws.profile import AwsProfile, AwsRegion
from drdrill.targets.aws.replication import ReplicaLagMetric, wait_replayed
from drdrill.targets.aws.safety import Guard

__all__ = ["SNAPSHOT_LOSS", "Failback"]

SNAPSHOT_LOSS = (
    "snapshot method: every write after the snapshot would be lost, so writes to the DR "
    "database are refused (fenced read-only) from before the snapshot until the switchover"
)


def _host(url: str) -> str:
    return (urlsplit(url.removeprefix("jdbc:")).hostname or "").lower()


class Failback:
    """The failback actions of one AWS target (see the module docstring)."""

    def __init__(
        self,
        profile: AwsProfile,
        clients: Clients,
        guard: Guard,
        name: str,
        *,
        compute: Compute,
        databases: Databases,
        faults: Faults,
        audit: AuditTrail | None,
    ) -> None:
        self.profile = profile
        self.clients = clients
        self.guard = guard
        self.name = name
        self.compute = compute
        self.databases = databases
        self.faults = faults
        self.audit = audit
        self.primary = profile.regions["primary"]
        self.dr = profile.regions["dr"]
        self.fence = WriteFence(profile, clients, guard, databases, name)
        self.moved: dict[str, str] = {}
        """Regions whose database is a new instance since this target's switchover, to it."""
        self.lag = ReplicaLagMetric(profile, clients, guard)
        self.instances = NewInstances(profile, clients, guard, databases)

    # -- names and checks ------------------------------------------------------

    @property
    def primary_instance(self) -> str:
        """The new primary instance."""
        return self.instances.primary_instance

    @property
    def dr_replica_instance(self) -> str:
        """The new DR read replica of the new primary."""
        return self.instances.dr_replica_instance

    def _key(self, key: str) -> str:
        return f"targets.{self.name}.failback.{key}"

    def check_up(self, action: str) -> None:
        """Refuse, changing nothing, while the primary region is still failed by this
        target."""
        down = self.faults.failed(self.primary)
        if down is not None:
            raise TargetError(
                f"cannot {action}: the primary region is still down ({down}); expected it "
                "restored (restore_region('primary') first); nothing changed",
                region=self.primary.name,
            )

    def check_ready(self, action: str) -> None:
        """``check_up``, and refuse while a setting the failback needs is missing."""
        self.check_up(action)
        self.fence.group()
        settings = self.profile.failback
        if settings.method == "snapshot" and not settings.freeze_writes:
            raise ConfigError(
                "the snapshot method loses every write the DR database takes after its "
                "snapshot; expected true (writes refused from the snapshot until the "
                "switchover), or failback.method: read-replica (no freeze); nothing changed",
                key=self._key("freeze_writes"),
            )

    def _note(self, action: str, **detail: Any) -> None:
        if self.audit is not None:
            self.audit.record(action, target=self.name, outcome="noted", **detail)

    # -- serving region ----------------------------------------------------------

    def serving_region(self) -> str:
        """``dr`` while any application's database variable is on the DR database's host
        (a dry run assumes the activation's end: ``dr``)."""
        if self.guard.dry_run:
            return "dr"
        dr_host = _host(self.dr.database_url)
        for side in (self.primary, self.dr):
            if any(_host(url) == dr_host for url in self.compute.database_urls(side).values()):
                return "dr"
        return "primary"

    # -- 1. prepare the primary region --------------------------------------------

    def prepare(self, region: str) -> dict[str, Any]:
        """Give the primary region a database that holds everything DR wrote (module
        docstring); what was done: ``method`` (snapshot, read-replica or already),
        ``instance``, ``seconds``, and for the snapshot method the write freeze."""
        if region != "primary":
            raise TargetError(
                f"the aws failback rebuilds the primary region's database, not {region!r}",
                region=region,
            )
        self.check_ready("prepare the primary region")
        started = time.monotonic()
        method = self.profile.failback.method
        done: dict[str, Any] = {"region": "primary", "source": "dr", "method": method}
        done["instance"] = self.primary_instance
        if self.serving_region() == "primary":  # switched over already: nothing to prepare
            done.update(method="already", seconds=0.0)
            return done
        if self.databases.describe(self.primary, self.primary_instance) is not None:
            done["method"] = "already"
            self.databases.wait_available(self.primary, self.primary_instance)
        elif method == "snapshot":
            done["write_freeze"] = SNAPSHOT_LOSS
            self._note("failback_write_freeze", region=self.dr.name, warning=SNAPSHOT_LOSS)
            self.fence.on()
            done["snapshot"] = self.instances.restore_primary_from_snapshot()
        else:
            self.instances.replicate_dr_as_primary()
        self.databases.restored[self.primary_instance] = self.primary
        # until the switchover, traffic shifted home writes where everyone writes
        self.compute.set_database_url(self.primary, self.dr.database_url)
        done["seconds"] = round(time.monotonic() - started, 3)
        return done

    # -- 2. verify: both databases agree ------------------------------------------

    def _reader(self, region: str, url: str | None) -> str:
        if url is None:
            raise TargetError(
                f"targets.{self.name}.regions.{region}.reader_dsn is not set: the two "
                "databases cannot be compared",
                region=region,
            )
        return url

    def check_consistency(self, acknowledged: Collection[str] = ()) -> Consistency:
        """The serving database and the other one at one moment ``as_of``: the replica
        waited for (a read replica: until it replayed the serving one's WAL position
        read after ``as_of``; a frozen snapshot copy: no wait), then the order ids of each
        read through the regions' reader DSNs."""
        serving = self.serving_region()
        if serving == "dr":
            self._reader("primary", self.primary.reader_dsn)
            urls = {
                "dr": self._reader("dr", self.dr.reader_dsn),
                "primary": self.databases.url_of(
                    self.primary_instance, self.primary, dsn=True, connect=True
                ),
            }
            replica = "primary"
        else:
            self._reader("dr", self.dr.reader_dsn)
            self.databases.restored[self.dr_replica_instance] = self.dr
            urls = {
                "primary": self.databases.url_of(
                    self.primary_instance, self.primary, dsn=True, connect=True
                ),
                "dr": self.databases.url_of(
                    self.dr_replica_instance, self.dr, dsn=True, connect=True
                ),
            }
            replica = "dr"
        as_of = datetime.now(UTC)
        time.sleep(0.05)  # a commit stamped before as_of is in the WAL a moment later
        streams = serving == "primary" or self.profile.failback.method == "read-replica"
        if streams:
            waiters = self.profile.waiters
            wait_replayed(
                urls[serving], urls[replica], replica, waiters.database_s, waiters.kube_poll_s
            )
        committed, present = {}, {}
        for region, url in urls.items():
            committed[region], present[region] = committed_ids(url, as_of)
        return compare_databases(as_of, committed, present, acknowledged)

    # -- 4. switchover --------------------------------------------------------------

    def switchover(self, to_region: str) -> float:
        """Planned switchover to the new primary (module docstring); seconds from the
        fence until every deployment was rolled out on it (0: nothing had to move)."""
        if to_region != "primary":
            raise TargetError(
                f"the aws failback switches over to the primary region, not {to_region!r}",
                region=to_region,
            )
        self.check_ready("switch over")
        if self.serving_region() == "primary":
            self.moved["primary"] = self.primary_instance
            self.reattach()
            return 0.0
        primary, new = self.primary, self.primary_instance
        found = self.databases.describe(primary, new)
        if found is None and not self.guard.dry_run:
            raise TargetError(
                f"no new primary instance {new}: prepare the primary region first "
                "(rebuild_database); nothing changed",
                region=primary.name,
                resource=new,
            )
        # a restored snapshot is a standalone instance; a replica lists its source until
        # promoted (a rerun after the promotion skips it)
        replica = self.profile.failback.method == "read-replica" and (
            self.guard.dry_run or "ReadReplicaSourceDBInstanceIdentifier" in (found or {})
        )
        if replica or self.fence.fenced_at is None:
            self.fence.on()
        fenced_at = self.fence.fenced_at or time.monotonic()
        if replica:
            since = self.fence.fenced_wall or datetime.now(UTC)
            if not self.lag.wait_zero(primary, new, since):
                self.fence.off()
                raise TargetError(
                    f"no ReplicaLag of 0 after the fence within "
                    f"{self.profile.waiters.database_s:g}s: not promoted, the fence lifted "
                    "(DR serves on)",
                    region=primary.name,
                    resource=new,
                )
            rds = self.clients.aws("rds", primary.name)
            self.guard.call(
                rds, "promote_read_replica", primary.name, new, DBInstanceIdentifier=new
            )
            self.databases.wait_available(primary, new)
        self.databases.restored[new] = primary
        url = self.databases.url_of(new, primary)
        self.compute.set_database_url(primary, url)
        self.compute.set_database_url(self.dr, url)
        fenced_s = 0.0 if self.guard.dry_run else round(time.monotonic() - fenced_at, 3)
        self.moved["primary"] = new
        self._note("switchover_measured", region=primary.name, resource=new, fenced_s=fenced_s)
        self.reattach()
        return fenced_s

    def reattach(self) -> None:
        """DR's database becomes a cross-region read replica of the new primary."""
        self.instances.replicate_primary_to_dr()
        self.databases.restored[self.dr_replica_instance] = self.dr
        self.moved["dr"] = self.dr_replica_instance

    # -- 5. scale down, 6. validate ---------------------------------------------------

    def scale_down(self, side: AwsRegion, logical: str) -> None:
        """Deployments to ``standby_replicas``, then the nodegroup to ``standby_scaling``."""
        if side.standby_scaling is None:
            raise ConfigError(
                "scaling down to warm standby needs the standby's nodegroup size; "
                "expected min_size/max_size/desired_size, got none",
                key=f"targets.{self.name}.regions.{logical}.standby_scaling",
            )
        self.compute.scale_deployments(side, side.standby_replicas)
        self.compute.scale_nodegroup(side, side.standby_scaling)

    def validate(self, region: str, alarm_s: float) -> float:
        """The DR replica follows the new primary and its latest ``ReplicaLag`` (waited
        for up to ``waiters.database_s``) is under ``alarm_s``; the lag (0 in a dry run)."""
        if region != "dr":
            raise TargetError(f"the aws failback validates dr, not {region!r}", region=region)
        if self.guard.dry_run:
            return 0.0
        dr, name = self.dr, self.dr_replica_instance
        found = self.databases.describe(dr, name)
        source = (found or {}).get("ReadReplicaSourceDBInstanceIdentifier", "")
        if found is None or source.split(":")[-1] != self.primary_instance:
            raise TargetError(
                f"{name} is not a read replica of the new primary {self.primary_instance} "
                f"(source: {source or 'none'}): DR is not ready for the next activation",
                region=dr.name,
                resource=name,
            )
        lag = self.lag.latest(dr, name)
        if lag > alarm_s:
            raise TargetError(
                f"ReplicaLag {lag:g}s is over the alarm's {alarm_s:g}s",
                region=dr.name,
                resource=name,
            )
        return lag

"""The ``lab`` target: the target protocol on the embedded two-region lab.

It adapts the lab (a simulated platform that knows nothing of drills) to the
harness: every capability of ``drdrill.targets.base`` is implemented here (the data ones,
backups, objects and data disasters, in ``drdrill.targets.lab_data``), and every
mutating call is written to the audit trail before and after
(``drdrill.targets.lab_audit``).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from drdrill.config import DrillConfig
from drdrill.errors import DrillError, RollbackIncomplete, UnknownRegionError
from drdrill.lab import Lab
from drdrill.lab.topology import OTHER
from drdrill.measurement.split_brain import DivergentWrite
from drdrill.observation.integrity import Consistency, committed_ids, compare_databases
from drdrill.observation.verify import verify_http
from drdrill.records.audit import AuditTrail
from drdrill.support.http import call
from drdrill.targets.base import REGIONS, FailureMode, ReplicaStream, ServiceCheck
from drdrill.targets.lab_data import LabDataTarget

__all__ = ["LabTarget"]


class LabTarget(LabDataTarget):
    """Drills the local lab. Every mutating call is written to the audit trail."""

    @classmethod
    def from_config(cls, config: DrillConfig, audit: AuditTrail | None = None) -> LabTarget:
        return cls(Lab.from_config(config), config, audit)

    def endpoint(self) -> str:
        return self.lab.edge_url

    def process_marker(self) -> dict[str, str]:
        return self.lab.process_marker()

    def ensure_up(self) -> None:
        """Bring the lab up unless it runs."""
        if not self.lab.is_running():
            self.act("lab_up", self.lab.up)

    def fail_region(self, region: str, mode: FailureMode) -> None:
        self.act(
            "fail_region", lambda: self.lab.fail_region(region, mode), region=region, mode=mode
        )

    def restore_region(self, region: str) -> None:
        """Undo the region's failure; after a partition its superseded old primary is fenced
        and its divergent writes counted first (audited: ``divergent_writes``)."""
        self.act("restore_region", lambda: self.lab.restore_region(region), region=region)
        divergence = self.lab.divergence(region)
        if divergence is not None and self.audit is not None:
            self.audit.record(
                "divergent_writes",
                target=self.name,
                outcome="counted",
                parameters={"region": region},
                count=divergence.count,
                acknowledged_in_region=divergence.acknowledged,
                ids=[w.id for w in divergence.writes],
            )

    def divergent_writes(self, region: str) -> tuple[DivergentWrite, ...] | None:
        """What ``region``'s old primary acknowledged to in-region clients after the
        promotion and DR lacks, counted when its partition healed (None: none healed)."""
        divergence = self.lab.divergence(region)
        if divergence is None:
            return None
        return tuple(DivergentWrite(w.id, w.ack_ns, w.committed_ns) for w in divergence.writes)

    def fail_over_dns(self, to_region: str) -> None:
        self.act("fail_over_dns", lambda: self.lab.fail_over_dns(to_region), to_region=to_region)

    def scale_region(self, region: str, replicas: int | None = None) -> None:
        """Run ``replicas`` workers in ``region`` (None: the configured serving size,
        ``dr_scaled_workers`` for dr, ``primary_workers`` for primary)."""
        count = replicas or (
            self.config.lab.dr_scaled_workers if region == "dr" else self.config.lab.primary_workers
        )
        self.act(
            "scale_region",
            lambda: self.lab.scale_region(region, count),
            region=region,
            replicas=count,
        )

    def promote_database(self, region: str) -> None:
        self.act("promote_database", lambda: self.lab.promote_database(region), region=region)

    def repoint_applications(self, region: str, database_region: str) -> None:
        self.act(
            "repoint_applications",
            lambda: self.lab.repoint_applications(region, database_region),
            region=region,
            database_region=database_region,
            DATABASE_URL=self.lab.app_dsn(region, database_region),
        )

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """Health, then the critical flows (order, read back, browse), through the edge or,
        for a region, through its gateway (as the outside world reaches it). Stops at the
        first failed check."""
        if region is not None and region not in REGIONS:
            raise UnknownRegionError(
                f"unknown region {region!r}; expected one of {', '.join(REGIONS)}"
            )
        self.lab.require_up()
        topology = self.lab.topology
        base = topology.edge_url if region is None else topology.gateway_url(region, 0)
        return verify_http(base, region, timeout_s)

    def database_dsn(self, region: str) -> str:
        """The region's database, or a restored instance's (backup drills)."""
        return self.lab.db_dsn(region) if region in REGIONS else self.lab.restored_dsn(region)

    def answering_region(self) -> str | None:
        """The region whose worker answered the global endpoint's health check."""
        reply = call("GET", f"{self.lab.edge_url}/health", timeout=1.0)
        region = reply.headers.get("x-drdrill-region") if reply.ok else None
        return region or None

    def replication_lag_s(self) -> float | None:
        """The standby's replay delay, None when no standby streams."""
        return self.replica_stream().lag_s

    def replica_stream(self) -> ReplicaStream:
        """What ``lab status`` says of the standby's stream (``drdrill.lab.replication``)."""
        rep = self.lab.status()["replication"]
        lag = rep["lag_s"]
        return ReplicaStream(
            str(rep["state"]), None if lag is None else float(lag), rep.get("stalled")
        )

    # -- failback (FailbackTarget) ---------------------------------------------

    def serving_region(self) -> str:
        return self.lab.serving_region()

    def rebuild_database(self, region: str) -> dict[str, Any]:
        """pg_rewind of the old data dir when its timeline allows, else a fresh base backup."""
        done = self.act(
            "rebuild_database", lambda: self.lab.rebuild_region_database(region), region=region
        )
        return {
            "region": done.region,
            "source": done.source,
            "method": done.method,
            "seconds": done.seconds,
        }

    def check_consistency(self, acknowledged: Collection[str] = ()) -> Consistency:
        """Both databases at one moment ``as_of``: the replica waited for until it replayed
        all the serving one wrote after ``as_of``, then the ids of each read."""
        serving = self.lab.serving_region()
        replica = OTHER[serving]
        as_of = datetime.now(UTC)
        time.sleep(0.05)  # a commit stamped before as_of is in the WAL a moment later
        self.lab.catch_up(replica)
        committed, present = {}, {}
        for region in (serving, replica):
            committed[region], present[region] = committed_ids(self.lab.db_dsn(region), as_of)
        return compare_databases(as_of, committed, present, acknowledged)

    def shift_traffic(self, to_region: str, percent: int) -> None:
        self.act(
            "shift_traffic",
            lambda: self.lab.set_traffic_weight(to_region, percent),
            to_region=to_region,
            percent=percent,
        )

    def switchover(self, to_region: str) -> float:
        done = self.act("switchover", lambda: self.lab.switchover(to_region), to_region=to_region)
        if self.audit is not None:
            self.audit.record(
                "switchover_measured",
                target=self.name,
                outcome="succeeded",
                parameters={"to_region": to_region},
                fenced_s=done.fenced_s,
                catch_up_s=done.catch_up_s,
                promote_s=done.promote_s,
                reattach=None if done.reattach is None else done.reattach.method,
            )
        return done.fenced_s

    def scale_down_region(self, region: str) -> None:
        """Back to the region's ``lab up`` size (dr: ``lab.dr_workers``, the warm standby)."""
        self.act(
            "scale_down_region",
            lambda: self.lab.scale_down_region(region),
            region=region,
            replicas=self.lab.standby_size(region),
        )

    def validate_standby(self, region: str) -> float:
        alarm = float(self.config.alarms.replica_lag)
        return self.lab.validate_standby(region, max_lag_s=alarm).lag_s

    def fail_back(self) -> None:
        """Steady state again, primary serving and dr its warm standby, in place from
        whatever state the drill left (``Lab.roll_back``): the database holding the newest
        acknowledged writes serves, the other becomes its standby; the lab is never
        re-created. Audited as ``fail_back`` with ``how`` (what was done); when it cannot
        be done without risking acknowledged writes, the ``RollbackIncomplete`` raised
        (and audited as failed) says why, and every database is left as it was found."""
        if self.audit is not None:
            self.audit.record("fail_back", target=self.name, outcome="started")
        started = time.monotonic()
        try:
            done = self.lab.roll_back(float(self.config.alarms.replica_lag))
        except DrillError as exc:
            incomplete = RollbackIncomplete(str(exc))
            if self.audit is not None:
                self.audit.record(
                    "fail_back",
                    target=self.name,
                    outcome="failed",
                    error=str(incomplete),
                    duration_s=round(time.monotonic() - started, 3),
                )
            raise incomplete from exc
        if self.audit is not None:
            self.audit.record(
                "fail_back",
                target=self.name,
                outcome="succeeded",
                how=done.how,
                serving=done.newest,
                duration_s=round(time.monotonic() - started, 3),
            )

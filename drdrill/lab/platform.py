"""``Lab``: the local two-region platform behind one small facade (docs/lab.md).

The work is done by the lab's parts, each behind a narrow interface:
``topology`` (ports, paths, DSNs), ``state`` (lab.json), ``launch`` (processes),
``lifecycle`` (up, down, status), ``faults`` (region failures), ``dr_actions``
(the runbook's recovery actions), ``backups`` and ``objects``. ``Lab`` ties them
to one ``LabSettings``; the CLI, the lab target and the tests use it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from drdrill.lab import (
    dr_actions,
    failback,
    faults,
    lifecycle,
    rollback,
    split_brain,
    standby_rebuild,
    switchover,
)
from drdrill.lab.backups import LabBackups
from drdrill.lab.databases import LabDatabases
from drdrill.lab.objects import ObjectStore
from drdrill.lab.processes import MARKER
from drdrill.lab.replication import ReplicationState
from drdrill.lab.rollback import Rollback, RollbackError
from drdrill.lab.settings import LabSettings
from drdrill.lab.split_brain import Divergence
from drdrill.lab.standby_rebuild import Rebuild
from drdrill.lab.state import LabState
from drdrill.lab.status import LabStatus
from drdrill.lab.switchover import Switchover
from drdrill.lab.topology import Ports, Topology

__all__ = ["Divergence", "Lab", "Rebuild", "Rollback", "RollbackError", "Switchover"]

DEFAULT_TRAFFIC_STEPS: tuple[int, ...] = (10, 50, 100)
"""The plan's failback traffic shift: 10 %, 50 %, then all traffic back to the primary."""


class _HasLab(Protocol):
    @property
    def lab(self) -> LabSettings: ...


class Lab:
    """The local two-region platform: up, down, status, region failures, DR actions."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.topology = Topology.of(settings.base_port, settings.state_dir)

    @classmethod
    def from_config(cls, config: _HasLab) -> Lab:
        """The lab a drill configuration (anything with ``.lab`` settings) describes."""
        return cls(config.lab)

    # -- where things are ----------------------------------------------------

    @property
    def ports(self) -> Ports:
        return self.topology.ports

    @property
    def dir(self) -> Path:
        return self.topology.dir

    @property
    def pid_dir(self) -> Path:
        return self.topology.pid_dir

    @property
    def log_dir(self) -> Path:
        return self.topology.log_dir

    @property
    def edge_url(self) -> str:
        return self.topology.edge_url

    def db_dsn(self, region: str) -> str:
        """The region's own database (no password: trust auth on 127.0.0.1)."""
        return self.topology.db_dsn(region)

    def app_dsn(self, app_region: str, db_region: str) -> str:
        """How ``app_region``'s workers reach ``db_region``'s database (or a restored one)."""
        return self.topology.app_dsn(app_region, db_region)

    def restored_dsn(self, instance: str) -> str:
        """A database restored from a backup."""
        return self.topology.restored_dsn(instance)

    # -- up / down / status --------------------------------------------------

    def process_marker(self) -> dict[str, str]:
        """The environment entry that makes a process one of this lab's: ``lab down`` ends
        every process carrying it (also one a killed CLI started, e.g. Locust)."""
        return {MARKER: str(self.topology.dir)}

    def is_running(self) -> bool:
        """True when the lab was brought up and its edge process lives."""
        return lifecycle.is_running(self.topology)

    def require_up(self) -> LabState:
        """The running lab's state; ``LabError`` when it is not up."""
        return lifecycle.require_up(self.topology)

    def up(self) -> LabStatus:
        """Bring the whole lab up; returns its status. Refuses if it already runs."""
        return lifecycle.up(self.settings, self.topology)

    def down(self) -> None:
        """End every lab process and remove the state dir. Idempotent; works after a crash."""
        lifecycle.down(self.topology)

    def reset(self) -> LabStatus:
        """The lab re-created (down, then up): every database's data gone. Never a
        rollback (``roll_back`` is); for a human who wants a fresh lab."""
        self.down()
        return self.up()

    def status(self) -> LabStatus:
        """What ``drdrill lab status --json`` prints."""
        return lifecycle.status(self.topology)

    # -- region failures -----------------------------------------------------

    def fail_region(self, region: str, mode: str) -> None:
        """Inject a region failure: power-off, blackhole or partition (its in-region
        client group keeps writing through the region's own workers)."""
        faults.fail_region(self.topology, region, mode, self.settings)

    def restore_region(self, region: str) -> None:
        """Undo ``fail_region``. A database superseded by a promoted standby never writes
        again: killed after a blackhole, fenced after a partition (and its divergent
        writes counted: ``divergence``) before the network heals."""
        faults.restore_region(self.topology, region)

    def divergence(self, region: str = "primary") -> Divergence | None:
        """What ``region``'s old primary acknowledged to in-region clients after the
        promotion that the promoted database lacks, as counted when its partition healed
        (None: no partition of it healed since it was last partitioned)."""
        return split_brain.load_divergence(self.topology, region)

    def destroy_primary_data(self) -> None:
        """Ransomware: the primary region goes down with its database, WAL archive and
        local backups (the cross-region backup copies stay)."""
        self.fail_region("primary", "power-off")
        self.backups().destroy_primary_data()

    # -- DR actions ----------------------------------------------------------

    def fail_over_dns(self, to_region: str) -> None:
        """UPSERT the failover records so ``to_region`` is PRIMARY."""
        dr_actions.fail_over_dns(self.topology, to_region)

    def scale_region(self, region: str, workers: int) -> None:
        """Run ``workers`` order-service workers in ``region``; returns when they answer."""
        dr_actions.scale_region(self.topology, region, workers)

    def promote_database(self, region: str) -> float:
        """Promote the region's standby; returns seconds until it took writes."""
        return dr_actions.promote_database(self.topology, region)

    def repoint_applications(self, region: str, database_region: str) -> None:
        """Point ``region``'s workers at ``database_region``'s database (set env + rollout)."""
        dr_actions.repoint_applications(self.topology, region, database_region)

    # -- failback (drdrill.lab.failback, standby_rebuild, switchover) ----------

    def serving_region(self) -> str:
        """The region whose database the platform writes to now."""
        return standby_rebuild.serving_region(self.require_up())

    def rebuild_region_database(self, region: str) -> Rebuild:
        """Make ``region``'s database a streaming standby of the serving region's again
        (pg_rewind, else a fresh base backup); refuses while a region is down."""
        return standby_rebuild.rebuild_region_database(self.topology, region)

    def catch_up(self, standby_region: str, timeout: float = 10.0) -> float:
        """Wait until ``standby_region``'s database replayed all the serving one wrote."""
        return switchover.catch_up(self.topology, standby_region, timeout)

    def switchover(self, to_region: str) -> Switchover:
        """Planned switchover to ``to_region``: fence, catch up, promote, repoint, re-attach."""
        return switchover.switchover(self.topology, to_region)

    def fence_database(self, region: str) -> None:
        """The serving ``region``'s database refuses writes (a switchover's first step)."""
        switchover.fence_database(self.topology, region)

    def unfence_database(self, region: str) -> None:
        """Lift ``fence_database``: the serving database takes writes again."""
        switchover.unfence_database(self.topology, region)

    def promote_standby(self, region: str) -> float:
        """A switchover's promotion: ``region``'s standby becomes the serving database
        (the serving one fenced first); seconds it took."""
        return switchover.promote_standby(self.topology, region)

    def set_traffic_weight(self, to_region: str, percent: int) -> list[dict[str, Any]]:
        """One traffic-shift step: ``percent`` % of requests to ``to_region`` (100: the
        normal failover records, ``to_region`` PRIMARY)."""
        return failback.set_traffic_weight(self.topology, to_region, percent)

    def shift_traffic(
        self,
        weights: Sequence[int] = DEFAULT_TRAFFIC_STEPS,
        to_region: str = "primary",
        dwell_s: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Every step of ``weights`` in turn, ``dwell_s`` apart; the records at the end."""
        records: list[dict[str, Any]] = []
        for i, percent in enumerate(weights):
            if i and dwell_s:
                time.sleep(dwell_s)
            records = self.set_traffic_weight(to_region, percent)
        return records

    def steady_problems(self) -> list[str]:
        """How the lab differs from the steady state ``lab up`` leaves (empty: it is in it)."""
        return failback.steady_problems(self.topology, self._lab_up_workers())

    def fail_back(self, max_lag_s: float = 300.0) -> str:
        """Back to the steady state in place from any drill state, no acknowledged write
        lost (``roll_back``); what was done, in words."""
        return self.roll_back(max_lag_s).how

    def roll_back(self, max_lag_s: float = 300.0) -> Rollback:
        """Back to the steady state in place from wherever a drill stopped, keeping every
        acknowledged write: the database holding the newest history (read from the
        databases) serves, the other is re-attached as its standby (docs/rollback.md).
        ``RollbackError`` when that cannot be done without risking a write (nothing
        removed); never re-creates the lab."""
        return rollback.roll_back(self.topology, self._lab_up_workers(), max_lag_s)

    def _lab_up_workers(self) -> dict[str, int]:
        return {region: self.standby_size(region) for region in ("primary", "dr")}

    def standby_size(self, region: str) -> int:
        """The region's workers as ``lab up`` runs them (dr: the warm standby's size)."""
        return self.settings.dr_workers if region == "dr" else self.settings.primary_workers

    def scale_down_region(self, region: str) -> None:
        """Back to the region's ``lab up`` size (dr: the warm standby)."""
        self.scale_region(region, self.standby_size(region))

    def validate_standby(
        self, region: str, max_lag_s: float, timeout: float = 10.0
    ) -> ReplicationState:
        """``region``'s database streams from the serving one, lag under ``max_lag_s``."""
        return standby_rebuild.validate_standby(self.topology, region, max_lag_s, timeout)

    # -- backups and objects -------------------------------------------------

    def backups(self) -> LabBackups:
        """Snapshots, copies and restores of the running lab (``LabError`` if it is not up)."""
        return LabBackups(self.topology, LabDatabases.of(self.topology, self.require_up()))

    def objects(self) -> ObjectStore:
        """The running lab's object store, started on first use."""
        self.require_up()
        store = ObjectStore(self.topology, self.settings.object_replication_delay)
        store.ensure_up()
        return store

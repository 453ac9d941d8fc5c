"""``Lab``: the local two-region platform behind one small facade (docs/lab.md).

The work is done by the lab's parts, each behind a narrow interface:
``topology`` (ports, paths, DSNs), ``state`` (lab.json), ``launch`` (processes),
``lifecycle`` (up, down, status), ``faults`` (region failures), ``dr_actions``
(the runbook's recovery actions), ``backups`` and ``objects``. ``Lab`` ties them
to one ``LabSettings``; the CLI, the lab target and the tests use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from drdrill.lab import dr_actions, faults, lifecycle
from drdrill.lab.backups import LabBackups
from drdrill.lab.databases import LabDatabases
from drdrill.lab.objects import ObjectStore
from drdrill.lab.processes import MARKER
from drdrill.lab.settings import LabSettings
from drdrill.lab.state import LabState
from drdrill.lab.status import LabStatus
from drdrill.lab.topology import Ports, Topology

__all__ = ["Lab"]


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
        """Back to the steady state: the lab re-created (down, then up)."""
        self.down()
        return self.up()

    def status(self) -> LabStatus:
        """What ``drdrill lab status --json`` prints."""
        return lifecycle.status(self.topology)

    # -- region failures -----------------------------------------------------

    def fail_region(self, region: str, mode: str) -> None:
        """Inject a region failure: power-off, blackhole or partition."""
        faults.fail_region(self.topology, region, mode)

    def restore_region(self, region: str) -> None:
        """Undo ``fail_region`` (a database superseded by a promoted standby stays down)."""
        faults.restore_region(self.topology, region)

    def destroy_primary_data(self) -> None:
        """Ransomware: the primary region goes down with its database, WAL archive and
        local backups (the cross-region backup copies stay)."""
        self.fail_region("primary", "power-off")
        self.backups().destroy_primary_data()

    # -- DR actions ----------------------------------------------------------

    def fail_over_dns(self, to_region: str) -> None:
        """UPSERT the failover records so ``to_region`` is PRIMARY."""
        dr_actions.fail_over_dns(self.topology, to_region)

    def change_records(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lab's ``change-resource-record-sets``."""
        return dr_actions.change_records(self.topology, changes)

    def scale_region(self, region: str, workers: int) -> None:
        """Run ``workers`` order-service workers in ``region``; returns when they answer."""
        dr_actions.scale_region(self.topology, region, workers)

    def promote_database(self, region: str) -> float:
        """Promote the region's standby; returns seconds until it took writes."""
        return dr_actions.promote_database(self.topology, region)

    def repoint_applications(self, region: str, database_region: str) -> None:
        """Point ``region``'s workers at ``database_region``'s database (set env + rollout)."""
        dr_actions.repoint_applications(self.topology, region, database_region)

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

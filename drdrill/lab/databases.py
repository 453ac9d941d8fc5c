"""The lab's PostgreSQL servers, by region or restored instance: the one place one is built.

Every part of the lab that needs a ``PgServer`` (lifecycle, faults, DR actions,
backups) asks ``LabDatabases`` for it, so they all run the same binaries as the
same OS user, with their pid files and logs in the same lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drdrill.lab.pg_install import PgInstall
from drdrill.lab.postgres import PgServer
from drdrill.lab.processes import RunAs
from drdrill.lab.state import LabState
from drdrill.lab.topology import Topology, check_region

__all__ = ["LabDatabases"]


@dataclass(frozen=True)
class LabDatabases:
    """Builds the ``PgServer`` of each database of one lab (it need not run)."""

    topology: Topology
    install: PgInstall
    run_as: RunAs

    @classmethod
    def of(cls, topology: Topology, state: LabState) -> LabDatabases:
        """The databases of a lab brought up with ``state``."""
        return cls(topology, PgInstall(Path(state.pg_bin), state.pg_version), RunAs(state.pg_user))

    def server(self, name: str, data_dir: Path, port: int) -> PgServer:
        """A server called ``name`` (its pid file and log name) on ``data_dir`` and ``port``."""
        return PgServer(
            name,
            data_dir,
            port,
            self.install,
            self.run_as,
            pid_dir=self.topology.pid_dir,
            log_dir=self.topology.log_dir,
        )

    def region(self, region: str) -> PgServer:
        """The region's database (``pg-primary``, ``pg-dr``)."""
        check_region(region)
        return self.server(
            f"pg-{region}", self.topology.data_dir(region), self.topology.ports.database(region)
        )

    def restored(self, instance: str, port: int) -> PgServer:
        """A database restored from a backup into ``restored/<instance>``."""
        return self.server(f"restored-{instance}", self.topology.restored / instance, port)

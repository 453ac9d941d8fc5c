"""Lab processes: each in its own session, recorded in a pid file before anything waits on it.

A pid file is written the moment a process is spawned, so ``lab down`` can end
every process of the lab by its process group even after the CLI that started
it was ``kill -9``ed. Only processes the lab started are ever signalled: a pid
file's pid is checked against the process's start time recorded beside it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import LabError

__all__ = [
    "RunAs",
    "alive",
    "kill_marked",
    "kill_recorded",
    "process_start_time",
    "recorded",
    "signal_recorded",
    "spawn",
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
    """The kernel's start time of ``pid`` (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (zombies count as gone)."""
    return process_start_time(pid) is not None


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


def signal_recorded(pid_dir: Path, name: str, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group of the recorded process ``name``."""
    pid = recorded(pid_dir).get(name)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    return True


def kill_recorded(pid_dir: Path, names: Sequence[str] | None = None, timeout: float = 5.0) -> None:
    """SIGKILL the process groups of recorded processes (all, or ``names``) and forget them."""
    live = recorded(pid_dir)
    targets = {n: p for n, p in live.items() if names is None or n in names}
    for pid in targets.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    for pid in targets.values():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        while alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.01)
    for name in names if names is not None else [p.stem for p in pid_dir.glob("*.pid")]:
        with contextlib.suppress(FileNotFoundError):
            (pid_dir / f"{name}.pid").unlink()


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process whose environment carries ``DRDRILL_LAB=marker``; their pids."""
    needle = f"{MARKER}={marker}".encode()
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in killed) and time.monotonic() < deadline:
        time.sleep(0.01)
    return killed

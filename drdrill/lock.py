"""One drill or lab command per target at a time.

A ``TargetLock`` is an exclusive ``flock`` on a lock file named for the target (a lab
by its port plan, another target by its profile name) in a directory every user can
write (``$TMPDIR/drdrill-locks``). The holder writes who it is into the file — drill id,
command, pid, since — so a refused command says who holds the target. The kernel drops
a ``flock`` when its holder dies, whatever killed it, so a dead holder's lock is simply
taken over: there is no stale lock to clean.

A process started by the holder (``drdrill run`` starts pytest) inherits the lock: it
gets the locked file descriptor itself (so the lock outlives a holder killed with
``kill -9`` until the child's rollback is done) and ``DRDRILL_LOCK`` in its environment,
and names itself in the file as the holder. ``drdrill abort`` reads the holder's pid from
the file to stop the drill.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from drdrill.errors import DrillError

__all__ = ["LOCK_ENV", "Holder", "TargetBusy", "TargetLock", "lock_dir", "lock_path"]

LOCK_ENV = "DRDRILL_LOCK"
"""``<lock file>:<holder pid>``: set for the children of a lock holder."""


class TargetBusy(DrillError):
    """Another drill or lab command holds the target."""


@dataclass(frozen=True)
class Holder:
    """Who holds a target."""

    command: str
    pid: int
    since: str
    drill_id: str = ""

    def describe(self) -> str:
        what = f"drill {self.drill_id}" if self.drill_id else self.command
        return f"{what} (pid {self.pid}, since {self.since})"


def lock_dir() -> Path:
    """``$TMPDIR/drdrill-locks``, shared by every user of this machine."""
    path = Path(tempfile.gettempdir()) / "drdrill-locks"
    if not path.is_dir():
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o1777)
            path.chmod(0o1777)  # mkdir's mode is filtered by the umask
    return path


def lock_path(target: str) -> Path:
    """The lock file of ``target`` (``lab-24300``, ``aws-staging``...)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in target)
    return lock_dir() / f"{safe}.lock"


def _inherited(path: Path) -> bool:
    """True when an ancestor of this process holds ``path`` and said so in our environment."""
    held = os.environ.get(LOCK_ENV, "")
    file, _, pid = held.rpartition(":")
    if file != str(path) or not pid.isdigit():
        return False
    with contextlib.suppress(psutil.Error):
        return int(pid) in {p.pid for p in psutil.Process().parents()}
    return False


class TargetLock:
    """The exclusive lock of one target; ``acquire`` refuses at once when it is held."""

    def __init__(self, target: str, command: str, drill_id: str = "") -> None:
        self.target = target
        self.path = lock_path(target)
        self.command = command
        self.drill_id = drill_id
        self._fd: int | None = None
        self._inherited = False

    def holder(self) -> Holder | None:
        """Who holds the target now (None when nobody does)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(self.path)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def acquire(self) -> TargetLock:
        """Take the lock; ``TargetBusy`` naming the holder when another process has it."""
        if self._fd is not None or self._inherited:
            return self
        if _inherited(self.path):
            self._inherited = True
            self._announce()  # the one doing the work is the one to stop
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _read_holder(self.path)
            who = holder.describe() if holder else "another process"
            raise TargetBusy(
                f"target {self.target} is busy: {who} holds it ({self.path}); "
                "wait for it to finish, or stop it with `drdrill abort`"
            ) from None
        self._fd = fd
        self._announce()
        return self

    def _announce(self) -> None:
        holder = Holder(
            self.command,
            os.getpid(),
            datetime.now(UTC).isoformat(timespec="seconds"),
            self.drill_id,
        )
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(asdict(holder)).encode(), 0)
        finally:
            os.close(fd)

    def child_env(self) -> dict[str, str]:
        """Environment entries that let this process's children act under the lock."""
        return {LOCK_ENV: f"{self.path}:{os.getpid()}"}

    def pass_fds(self) -> tuple[int, ...]:
        """The locked descriptor, for ``subprocess.Popen(pass_fds=...)``: the child then
        holds the lock too, until it ends, whatever happens to this process."""
        return () if self._fd is None else (self._fd,)

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> TargetLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(path: Path) -> Holder | None:
    for _ in range(5):  # the holder writes its name just after it took the lock
        with contextlib.suppress(OSError, ValueError, TypeError):
            raw: Any = json.loads(path.read_text())
            return Holder(**raw)
        time.sleep(0.02)
    return None

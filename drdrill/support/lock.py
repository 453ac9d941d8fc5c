"""One drill or lab command per target at a time.

A ``TargetLock`` is an exclusive ``flock`` on a lock file named for the target: a lab by
its resolved state directory (``drdrill.targets.lock_name``: two configs naming the same
directory, whatever their ports or the path they spell it with, are one lab), a cloud
target by its profile name and allowed accounts. The holder writes who it is into the
file — drill id, command, pid, since — so a refused command says who holds the target.
The kernel drops a ``flock`` when its holder dies, whatever killed it, so a dead holder's
lock is simply taken over: there is no stale lock to clean.

Where the lock files live: ``/tmp/drdrill-locks`` (mode 1777), a fixed path, never
``$TMPDIR``. Two processes of the same user with different ``TMPDIR`` (a CI job, ``sudo``,
a shell that sets it) must meet on the same file, and ``/tmp`` is the one directory every
process on the machine sees. Not in or beside the state directory: ``lab down`` deletes
the state directory while holding the lock (a lock on a deleted file protects nothing: the
next process would lock a new file of the same name), the lock must exist before the
directory is claimed, a file beside it would land in the user's project, and a cloud target
has no directory. The file is named by a digest of the target's name (the name itself,
with its path, is in the refusal message). A process in its own mount namespace (systemd
``PrivateTmp=``, a container) has its own ``/tmp`` and is not seen. A lock directory that
cannot be used (not a directory, not writable) is a ``LockUnusable`` naming it: the CLI
prints one line and exits 2.

Within one process the lock is re-entrant: a second ``TargetLock`` of a target this
process already holds is granted at once (a Chaos Toolkit activity run by a drill in the
drill's own process must not refuse its own drill), and the first one stays the holder.

A process started by the holder (``drdrill run`` starts pytest) inherits the lock: it
gets the locked file descriptor itself (so the lock outlives a holder killed with
``kill -9`` until the child's rollback is done) and ``DRDRILL_LOCK`` in its environment,
and names itself in the file as the holder. ``drdrill abort`` reads the holder's pid from
the file to stop the drill.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from drdrill.errors import DrillError

__all__ = [
    "LOCK_DIR",
    "LOCK_ENV",
    "Holder",
    "LockUnusable",
    "TargetBusy",
    "TargetLock",
    "lock_dir",
    "lock_path",
]

LOCK_DIR = Path("/tmp/drdrill-locks")
"""Where every lock file lives, whatever ``$TMPDIR`` says (see the module)."""
LOCK_ENV = "DRDRILL_LOCK"
"""``<lock file>:<holder pid>``: set for the children of a lock holder."""


class TargetBusy(DrillError):
    """Another drill or lab command holds the target."""


class LockUnusable(DrillError):
    """The lock directory or file cannot be used (not a directory, not writable...)."""


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
    """``LOCK_DIR``, made (mode 1777: shared by every user of this machine) when missing;
    ``LockUnusable`` naming it when it is not a directory."""
    path = LOCK_DIR
    try:
        if not path.is_dir():
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o1777)
                path.chmod(0o1777)  # mkdir's mode is filtered by the umask
        if not stat.S_ISDIR(path.lstat().st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory (or a symlink)")
    except OSError as exc:
        raise _unusable(path, exc) from exc
    return path


def lock_path(target: str) -> Path:
    """The lock file of ``target`` (``lab at /srv/lab``, ``aws staging``...): a readable
    prefix and a digest of the whole name, so every spelling of a name maps to one file
    and two names never share one."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in target.split(" ")[0])[:32]
    digest = hashlib.sha256(target.encode()).hexdigest()[:20]
    return LOCK_DIR / f"{safe}-{digest}.lock"


def _unusable(path: Path, exc: OSError) -> LockUnusable:
    return LockUnusable(
        f"cannot use the lock {path} ({exc.strerror or exc}): expected {LOCK_DIR} to be a "
        "directory every drdrill user can write (mode 1777)"
    )


def _open(path: Path, flags: int) -> int:
    """``path`` opened (made, mode 0666, when missing); ``LockUnusable`` naming it.

    An existing file is opened without ``O_CREAT`` (``fs.protected_regular`` refuses that
    on another user's file in a sticky directory), never through a symlink."""
    lock_dir()
    try:
        try:
            return os.open(path, flags | os.O_NOFOLLOW)
        except FileNotFoundError:
            fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CREAT | os.O_EXCL, 0o666)
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, 0o666)  # the umask filtered the mode
            return fd
    except FileExistsError:  # made by another process between the two opens
        return _open(path, flags)
    except OSError as exc:
        raise _unusable(path, exc) from exc


_HELD_HERE: set[Path] = set()
"""The lock files this process holds (by a descriptor of its own)."""


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
        self._nested = False

    def holder(self) -> Holder | None:
        """Who holds the target now (None when nobody does)."""
        fd = _open(self.path, os.O_RDWR)
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
        if self._fd is not None or self._inherited or self._nested:
            return self
        if self.path in _HELD_HERE:
            self._nested = True  # the outer holder stays the one named in the file
            return self
        if _inherited(self.path):
            self._inherited = True
            self._announce()  # the one doing the work is the one to stop
            return self
        fd = _open(self.path, os.O_RDWR)
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
        _HELD_HERE.add(self.path)
        self._announce()
        return self

    def _announce(self) -> None:
        holder = Holder(
            self.command,
            os.getpid(),
            datetime.now(UTC).isoformat(timespec="seconds"),
            self.drill_id,
        )
        fd = _open(self.path, os.O_WRONLY)
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
        """Give the lock back (idempotent; a nested lock leaves the outer one held)."""
        self._nested = False
        if self._fd is not None:
            fd, self._fd = self._fd, None
            _HELD_HERE.discard(self.path)
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

"""The drill journal: where a drill is, written durably, so a drill whose process died can
still be put back.

A drill rewrites its journal at every step that matters (its state, what it is about to
inject and where, the target calls made so far, the processes it started): one JSON
file, replaced atomically (written beside, fsync'd, renamed, the directory fsync'd), so a
reader sees the previous journal or the next one, never half of one, whatever killed the
writer. The file is tied to the target as its lock is (``drdrill.support.lock``): for the lab
(and the AWS twin, which drives it) it lives next to the lab's state directory
(``<state_dir>.drill-journal.json``: ``lab down`` removes the state directory, not the
journal); for any other target in the reports directory
(``.drill-journals/<lock name>.json``).

A journal is **abandoned** when its drill did not reach ``done`` and the process that
wrote it (the lock's holder, recorded with its start time) is gone: nobody will roll it
back. Every command that could change the target then refuses to start, naming the drill
(``refuse_if_abandoned``), until ``drdrill recover`` has rolled it back
(``drdrill.orchestration.recovery``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from drdrill.errors import DrillAbandoned, DrillError
from drdrill.support.lock import TargetLock

if TYPE_CHECKING:
    from drdrill.config import DrillConfig

__all__ = [
    "DrillJournal",
    "GuardedLock",
    "Injection",
    "JournaledProcess",
    "abandoned_error",
    "clear",
    "is_abandoned",
    "journal_path",
    "read",
    "refuse_if_abandoned",
    "write",
]

_CREATE_TIME_SLACK_S = 0.01
"""psutil's create_time is read from the same kernel boot-relative tick each time; two
reads of one process agree to well under this, a reused pid started later does not."""


@dataclass(frozen=True)
class JournaledProcess:
    """One process, named so a reused pid is never mistaken for it: pid, process group,
    start time (``psutil``'s ``create_time``)."""

    role: str
    pid: int
    pgid: int
    create_time: float

    @classmethod
    def of(cls, pid: int, role: str) -> JournaledProcess | None:
        """The running process ``pid`` as ``role`` (None: it is gone)."""
        try:
            return cls(role, pid, os.getpgid(pid), psutil.Process(pid).create_time())
        except (OSError, psutil.Error):
            return None

    def is_running(self) -> bool:
        """True while the process recorded (not a later one with its pid) still runs."""
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            return abs(process.create_time() - self.create_time) < _CREATE_TIME_SLACK_S
        except psutil.Error:
            return False

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "pid": self.pid,
            "pgid": self.pgid,
            "create_time": self.create_time,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> JournaledProcess:
        return cls(str(raw["role"]), int(raw["pid"]), int(raw["pgid"]), float(raw["create_time"]))


@dataclass(frozen=True)
class Injection:
    """What the drill injects (journaled just before the fault, so a drill killed during
    the injection is still known to have one)."""

    region: str
    mode: str


@dataclass(frozen=True)
class DrillJournal:
    """Where one drill is: enough to roll it back and record it without its process."""

    drill_id: str
    target: str
    state: str
    holder: JournaledProcess
    """The process that runs the drill and holds the target's lock."""
    report_dir: Path
    reports_dir: Path
    kind: str
    scenario: str
    started_ns: int
    approved_by: str | None = None
    injected: Injection | None = None
    changes: tuple[str, ...] = ()
    """The target calls made so far, in order (``action key=value ...``)."""
    processes: tuple[JournaledProcess, ...] = field(default_factory=tuple)
    """Processes the drill started that outlive it if nobody ends them (Locust, the
    fault's in-region clients)."""
    updated: str = ""
    """When this journal was last written (ISO 8601, UTC)."""

    @property
    def done(self) -> bool:
        return self.state == "done"

    def to_json(self) -> dict[str, Any]:
        return {
            "drill_id": self.drill_id,
            "target": self.target,
            "state": self.state,
            "holder": self.holder.to_json(),
            "report_dir": str(self.report_dir),
            "reports_dir": str(self.reports_dir),
            "kind": self.kind,
            "scenario": self.scenario,
            "started_ns": self.started_ns,
            "approved_by": self.approved_by,
            "injected": None
            if self.injected is None
            else {"region": self.injected.region, "mode": self.injected.mode},
            "changes": list(self.changes),
            "processes": [p.to_json() for p in self.processes],
            "updated": self.updated,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DrillJournal:
        injected = raw.get("injected")
        return cls(
            drill_id=str(raw["drill_id"]),
            target=str(raw["target"]),
            state=str(raw["state"]),
            holder=JournaledProcess.from_json(raw["holder"]),
            report_dir=Path(raw["report_dir"]),
            reports_dir=Path(raw["reports_dir"]),
            kind=str(raw["kind"]),
            scenario=str(raw["scenario"]),
            started_ns=int(raw["started_ns"]),
            approved_by=None if raw.get("approved_by") is None else str(raw["approved_by"]),
            injected=None
            if injected is None
            else Injection(str(injected["region"]), str(injected["mode"])),
            changes=tuple(str(c) for c in raw.get("changes", [])),
            processes=tuple(JournaledProcess.from_json(p) for p in raw.get("processes", [])),
            updated=str(raw.get("updated", "")),
        )


def journal_path(config: DrillConfig, target: str) -> Path:
    """Where the journal of a drill on ``target`` lives (module docstring)."""
    from drdrill.targets import LOCAL_KINDS, lock_name

    if config.target(target).kind in LOCAL_KINDS:
        state_dir = config.lab.state_dir
        return state_dir.parent / f"{state_dir.name}.drill-journal.json"
    return config.reports_dir / ".drill-journals" / f"{lock_name(config, target)}.json"


def write(path: Path, journal: DrillJournal) -> DrillJournal:
    """Replace the journal at ``path`` atomically and durably; the journal as written
    (with its ``updated`` time)."""
    journal = replace(journal, updated=datetime.now(UTC).isoformat(timespec="seconds"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = (json.dumps(journal.to_json(), indent=2) + "\n").encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return journal


def read(path: Path) -> DrillJournal | None:
    """The journal at ``path`` (None: there is none). ``DrillError`` naming the file when
    it is not a journal (nothing drdrill writes: someone edited it)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DrillError(f"drill journal {path} cannot be read: {exc}") from exc
    try:
        return DrillJournal.from_json(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DrillError(
            f"drill journal {path} is not a drill journal ({type(exc).__name__}: {exc}); "
            "check the target by hand, then remove the file"
        ) from exc


def clear(path: Path) -> None:
    """Remove the journal (its drill was rolled back and recorded)."""
    path.unlink(missing_ok=True)


def is_abandoned(
    journal: DrillJournal | None,
    running: Callable[[JournaledProcess], bool] = JournaledProcess.is_running,
) -> bool:
    """True when ``journal``'s drill did not finish and its holder is gone."""
    return journal is not None and not journal.done and not running(journal.holder)


def abandoned_error(journal: DrillJournal) -> DrillAbandoned:
    """The one line that refuses a command on the target of an abandoned drill."""
    recover = "drdrill recover" + ("" if journal.target == "lab" else f" --target {journal.target}")
    when = journal.updated or "an unknown time"
    if journal.holder.is_running():  # this very process, whose earlier close did not complete
        return DrillAbandoned(
            f"drill {journal.drill_id} did not finish: left in state {journal.state} at {when} "
            f"by pid {journal.holder.pid}; once that process ends, run `{recover}`"
        )
    return DrillAbandoned(
        f"drill {journal.drill_id} was abandoned in state {journal.state} at {when} (its "
        f"process, pid {journal.holder.pid}, is gone); run `{recover}`"
    )


def refuse_if_abandoned(config: DrillConfig, target: str) -> None:
    """``DrillAbandoned`` when a drill on ``target`` was abandoned (module docstring)."""
    journal = read(journal_path(config, target))
    if is_abandoned(journal):
        assert journal is not None
        raise abandoned_error(journal)


class GuardedLock(TargetLock):
    """The target's lock, refused (and given back) when a drill on the target was
    abandoned: taken, the lock says nobody else runs a drill there, so a journal that is
    not ``done`` and whose holder is gone will never be rolled back by anyone else."""

    def __init__(self, name: str, command: str, drill_id: str, journal: Path) -> None:
        super().__init__(name, command, drill_id)
        self.journal = journal

    def acquire(self) -> GuardedLock:
        super().acquire()
        try:
            found = read(self.journal)
            if is_abandoned(found):
                assert found is not None
                raise abandoned_error(found)
        except BaseException:
            with contextlib.suppress(OSError):
                self.release()
            raise
        return self

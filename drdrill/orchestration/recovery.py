"""Putting back a drill whose process died: from its journal alone.

``recover`` does what the dead drill's ``close()`` would have done, in the same order:
it ends the processes the drill started (Locust, the fault's in-region clients — each
only while it is still the process journaled: same pid, same start time), rolls the
target back with its own ``fail_back()``, records the drill as ``aborted`` with the cause
(its audit trail, its summary, its history line, its seal), and clears the journal.
Only a completed record clears it: a rollback that fails, or a record that cannot be
written (a full disk), leaves the journal, so the target stays refused and ``drdrill
recover`` can be run again.

``drdrill run`` calls it when its pytest ended without finishing its drill (killed by a
signal, an INTERNALERROR); ``drdrill recover`` when a later command found the drill
abandoned.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass

from drdrill.config import DrillConfig
from drdrill.errors import DrillError
from drdrill.orchestration.journal import DrillJournal, JournaledProcess, clear, journal_path
from drdrill.orchestration.outcome import describe
from drdrill.records.audit import AuditTrail
from drdrill.records.timeline import ROLLBACK, Timeline
from drdrill.report.writer import DrillReport, UnmeasuredDrill
from drdrill.targets import open_target
from drdrill.targets.base import Releasable

__all__ = ["Recovery", "end_processes", "recover"]


@dataclass(frozen=True)
class Recovery:
    """What ``recover`` did."""

    drill_id: str
    state: str
    """The state the drill was abandoned in."""
    ended: tuple[JournaledProcess, ...]
    """The journaled processes that still ran and were killed."""
    cause: str

    def line(self) -> str:
        """One line for the operator."""
        ended = (
            f"; ended {', '.join(f'{p.role} (pid {p.pid})' for p in self.ended)}"
            if self.ended
            else ""
        )
        return (
            f"drill {self.drill_id} aborted in state {self.state}: {self.cause}; "
            f"rolled back{ended}; recorded in the history"
        )


def end_processes(processes: Iterable[JournaledProcess]) -> tuple[JournaledProcess, ...]:
    """SIGKILL each journaled process that is still the one journaled, with its process
    group while it still leads or belongs to it (Locust's workers share the master's);
    the ones killed. A pid now used by another process is left alone."""
    ended = []
    for process in processes:
        if not process.is_running():
            continue
        try:
            same_group = os.getpgid(process.pid) == process.pgid
        except OSError:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # the group id cannot have been reused: a member of it (this process) still runs
            if same_group:
                os.killpg(process.pgid, signal.SIGKILL)
            else:
                os.kill(process.pid, signal.SIGKILL)
            ended.append(process)
    return tuple(ended)


def recover(
    config: DrillConfig, journal: DrillJournal, cause: str, *, confirm: bool = False
) -> Recovery:
    """Roll back and record the drill of ``journal`` (module docstring); ``DrillError``
    saying what is left when the rollback or the record failed (the journal is kept)."""
    audit = AuditTrail(journal.report_dir / "audit.jsonl")
    ended = end_processes(journal.processes)
    with audit.best_effort():
        audit.record(
            "drill_recovery",
            target=journal.target,
            outcome="started",
            parameters={"drill_id": journal.drill_id, "pid": os.getpid()},
            cause=cause,
            state=journal.state,
            injected=None
            if journal.injected is None
            else {"region": journal.injected.region, "mode": journal.injected.mode},
            ended=[p.to_json() for p in ended],
        )
        with contextlib.suppress(OSError):
            Timeline(journal.report_dir / "timeline.jsonl").record(ROLLBACK, "fail_back")
        target = open_target(config, journal.target, confirm=confirm, audit=audit)
        try:
            target.fail_back()
        except Exception as exc:
            audit.record(
                "drill_recovery",
                target=journal.target,
                outcome="rollback failed",
                parameters={"drill_id": journal.drill_id},
                error=describe(exc),
            )
            raise DrillError(
                f"drill {journal.drill_id}: the rollback of {journal.target} failed "
                f"({describe(exc)}); the journal is kept: fix the target, then run "
                "`drdrill recover` again"
            ) from exc
        finally:
            if isinstance(target, Releasable):
                target.release()
    error = f"DrillAbandoned: {cause}"
    report = DrillReport(journal.report_dir, journal.reports_dir)
    try:
        report.conclude_unmeasured(
            UnmeasuredDrill(
                drill_id=journal.drill_id,
                scenario=journal.scenario,
                kind=journal.kind,
                target=journal.target,
                started_ns=journal.started_ns,
                failure_mode=None if journal.injected is None else journal.injected.mode,
                outcome="aborted",
                reached=journal.state,
                error=error,
                approved_by=journal.approved_by,
            )
        )
        audit.record(
            "drill_finished",
            target=journal.target,
            outcome="rolled back",
            parameters={"drill_id": journal.drill_id, "pid": os.getpid()},
            drill_outcome="aborted",
            reached=journal.state,
            error=error,
        )
    except OSError as exc:
        raise DrillError(
            f"drill {journal.drill_id}: rolled back, but its record could not be written to "
            f"{journal.reports_dir} ({exc}); the journal is kept: free space, then run "
            "`drdrill recover` again"
        ) from exc
    report.seal(journal.drill_id)
    clear(journal_path(config, journal.target))
    return Recovery(journal.drill_id, journal.state, ended, cause)

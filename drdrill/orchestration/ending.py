"""How a drill ends, whatever ended it: the rollback (the target's fail back) run to
completion, the outcome, the final summary and history line, the ``drill_finished``
record, the journal marked done, the people told, the report directory sealed.

Every step runs whatever the one before it did: a full disk or a broken watcher never
keeps the platform from being put back (``best_effort`` says what was not written).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from drdrill.orchestration.journal_keeper import best_effort
from drdrill.orchestration.outcome import describe, ending_error, outcome_of, shielded
from drdrill.orchestration.recovery import end_processes
from drdrill.records.timeline import FAULT_INJECTED, ROLLBACK
from drdrill.report.findings import Rollback
from drdrill.report.target_calls import calls_by_phase
from drdrill.report.writer import UnmeasuredDrill
from drdrill.targets.base import Releasable

if TYPE_CHECKING:
    from drdrill.orchestration.drill import Drill

__all__ = ["close"]


def close(drill: Drill, error: BaseException | None) -> str:
    """``Drill.close``: roll back, judge how the drill ended, record it; the outcome. A
    rollback that failed is raised once everything is recorded (unless ``error`` ended
    the drill: that one is the pytest failure)."""
    error = ending_error(error, drill.stop.reason)
    reached = drill.ended_in = drill.reached
    with shielded(f"rolling back drill {drill.drill_id} (fail back of {drill.target_name})"):
        rollback_error = _roll_back(drill)
        drill.rollback = Rollback.of(
            drill.audit.records(), None if rollback_error is None else str(rollback_error)
        )
        drill.outcome = outcome_of(
            error,
            drill.summary,
            rollback_error,
            measurable=drill.observation is not None
            and drill.timeline.first(FAULT_INJECTED) is not None,
        )
        best_effort("the drill's state", lambda: drill.advance("done"))
        try:
            _conclude(drill, reached, error, rollback_error)
        finally:
            _record_finished(drill, reached, error, rollback_error)
        # recorded: nobody needs to recover it (a record that failed leaves the journal
        # as it was, and ``drdrill recover`` records it once the process is gone)
        best_effort("the drill journal", lambda: drill.write_journal("done"))
    try:
        _notify_finished(drill, reached, error, rollback_error)
    finally:
        drill.report.seal(drill.drill_id)  # the last write to the report directory
    if rollback_error is not None and error is None:
        raise rollback_error
    return drill.outcome


def _roll_back(drill: Drill) -> BaseException | None:
    """Stop observing, fail the target back, end what the drill started; the first error."""
    rollback_error: BaseException | None = None
    best_effort("the drill's state", lambda: drill.advance("failing_back"))
    try:
        drill.observers.stop()
    except BaseException as exc:  # recorded, then re-raised by ``close``
        rollback_error = exc
    best_effort(
        "the rollback's timeline event", lambda: drill.timeline.record(ROLLBACK, "fail_back")
    )
    try:
        with drill.audit.best_effort():
            drill.target.fail_back()
    except BaseException as exc:  # recorded, then re-raised by ``close``
        rollback_error = rollback_error or exc
    finally:
        end_processes(drill.journal.started)  # what the fail back did not end
        if isinstance(drill.target, Releasable):
            drill.target.release()
    return rollback_error


def _conclude(
    drill: Drill, reached: str, error: BaseException | None, rollback_error: BaseException | None
) -> None:
    """The drill's one history line and its final summary, whatever ended it."""
    assert drill.outcome is not None
    ended_by = describe(error) or (
        f"rollback failed: {describe(rollback_error)}" if rollback_error else None
    )
    ending = UnmeasuredDrill(
        **drill.identity(),
        outcome=drill.outcome,
        reached=reached,
        error=ended_by,
        rollback=drill.rollback,
    )
    if drill.summary is not None:  # with the fail back's calls too
        calls = calls_by_phase(drill.timeline, drill.audit.records())
        drill.summary = dataclasses.replace(drill.summary, calls=calls)
    drill.report.conclude(drill.summary, ending)


def _record_finished(
    drill: Drill, reached: str, error: BaseException | None, rollback_error: BaseException | None
) -> None:
    drill.audit.record(
        "drill_finished",
        target=drill.target_name,
        outcome="rolled back"
        if rollback_error is None
        else f"rollback failed: {type(rollback_error).__name__}: {rollback_error}",
        parameters={"drill_id": drill.drill_id, "pid": os.getpid()},
        drill_outcome=drill.outcome,
        reached=reached,
        error=describe(error),
        rollback=None if drill.rollback is None else drill.rollback.text,
    )


def _notify_finished(
    drill: Drill, reached: str, error: BaseException | None, rollback_error: BaseException | None
) -> None:
    """Tell people how the drill ended; the delivery log goes into the report."""
    measured = drill.summary.measurements if drill.summary is not None else None
    drill.alerts.finished(
        f"{drill.kind} drill of the {drill.scenario} scenario: {drill.outcome}",
        {
            "outcome": drill.outcome,
            "reached": reached,
            "rto_s": measured.rto_s if measured else None,
            "rpo_s": measured.rpo_s if measured else None,
            "lost_writes": measured.ledger.lost if measured else None,
            "rolled_back": rollback_error is None,
            "error": describe(error),
        },
        drill.report_dir,
    )

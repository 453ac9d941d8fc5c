"""How a drill ended, in one word, and the rollback nobody can cut short.

``outcome_of`` is the same truth pytest reports, and more: a drill passes only when every
check it judged passed, no write acknowledged after the fault was lost, and its rollback
completed. ``shielded`` keeps a second Ctrl-C or SIGTERM from cutting the rollback.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from drdrill.errors import ActivationFailed, CapabilityMissing, DrillAborted
from drdrill.report.summary import DrillSummary

__all__ = ["DRILL_STATES", "describe", "ending_error", "outcome_of", "shielded"]

DRILL_STATES = (
    "created",
    "steady",
    "observing",
    "fault_injected",
    "activating",
    "activated",
    "measured",
    "failing_back",
    "done",
)
"""The states a drill moves through; ``reached`` is the furthest before it ended."""


def describe(error: BaseException | None) -> str | None:
    """``Type: first line of the message`` (None for no error)."""
    if error is None:
        return None
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def ending_error(error: BaseException | None, stop_reason: str | None) -> BaseException | None:
    """What ended the drill, once the stop button is taken into account: a drill whose
    button was pressed was aborted, whatever else broke after the press (a phase cut
    short by the interrupt fails, a check reads a half-activated platform); the other
    error is kept in the message."""
    if stop_reason is None or isinstance(error, DrillAborted):
        return error
    if error is None or isinstance(error, KeyboardInterrupt):
        return DrillAborted(f"stopped: {stop_reason}")
    return DrillAborted(f"stopped: {stop_reason} (then {describe(error)})")


def outcome_of(
    error: BaseException | None,
    summary: DrillSummary | None,
    rollback_error: BaseException | None = None,
    *,
    measurable: bool = True,
) -> str:
    """How a drill ended (see ``Drill.close``): the same truth pytest reports, and more.
    A drill with nothing to measure — no fault, or no customers observed through it (a
    backup's integrity check, documents counted in the DR bucket) — is judged by its
    scenario's own checks: it passes when nothing failed. A drill that observed customers
    through a fault and never measured them did not pass."""
    if isinstance(error, KeyboardInterrupt | DrillAborted):
        return "aborted"
    if isinstance(error, CapabilityMissing):
        return "skipped"
    if error is not None and not isinstance(error, AssertionError | ActivationFailed):
        return "error"
    if error is not None or rollback_error is not None:
        return "failed"
    if summary is None:
        return "error" if measurable else "passed"  # measurable, nothing judged: no verdict
    lost_after = summary.measurements.ledger.lost_after_fault
    return "passed" if summary.verdicts.passed and lost_after == 0 else "failed"


@contextlib.contextmanager
def shielded(what: str) -> Iterator[None]:
    """Inside: SIGINT and SIGTERM say what is still running instead of cutting it short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def refuse(signum: int, frame: FrameType | None) -> None:
        print(
            f"drdrill: still {what}; it runs to completion (usually under 15 s), not interrupting",
            file=sys.stderr,
            flush=True,
        )

    previous = {sig: signal.signal(sig, refuse) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

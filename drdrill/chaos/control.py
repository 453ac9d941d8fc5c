"""Chaos Toolkit control: every activity's start and end into the drill's timeline.

An activity named after a DR activation or failback phase, or a step of one
(``drdrill.measurement.phases``), becomes PHASE_START/PHASE_END events of that name — where
phase durations come from; any other activity becomes ACTIVITY_START/ACTIVITY_END.

A failed action ends the experiment there: the control raises Chaos Toolkit's own
``InterruptExecution`` (the one exception chaoslib lets out of a control), so a
failed promotion is not followed by a repoint and a minute of verification. The
journal then says ``interrupted`` and the timeline names the failed phase.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from chaoslib.exceptions import InterruptExecution
from chaoslib.types import Configuration

from drdrill.chaos.context import ChaosContext
from drdrill.measurement.phases import is_timed
from drdrill.records.timeline import ACTIVITY_END, ACTIVITY_START, PHASE_END, PHASE_START

__all__ = ["after_activity_control", "before_activity_control", "configure_control"]


def _timeline_of(configuration: Configuration) -> Any:
    drill = (configuration or {}).get("drill")
    return drill.timeline if isinstance(drill, ChaosContext) else None


def configure_control(configuration: Configuration = None, **kwargs: Any) -> None:
    """Inside a drill, SIGTERM stays the drill's stop button: chaoslib's own handler would
    turn it into one failed activity (and the drill into "failed"), not an abort."""
    drill = (configuration or {}).get("drill")
    stop = drill.stop if isinstance(drill, ChaosContext) else None
    if stop is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop.on_signal)


def before_activity_control(
    context: dict[str, Any], configuration: Configuration = None, **kwargs: Any
) -> None:
    """Record the start of an activity (or phase)."""
    timeline = _timeline_of(configuration)
    if timeline is not None:
        name = str(context.get("name", ""))
        timeline.record(PHASE_START if is_timed(name) else ACTIVITY_START, name)


def after_activity_control(
    context: dict[str, Any],
    state: dict[str, Any] | None = None,
    configuration: Configuration = None,
    **kwargs: Any,
) -> None:
    """Record the end of an activity; ``ok`` is False when it failed or was interrupted.
    A failed action stops the experiment (no later phase runs)."""
    timeline = _timeline_of(configuration)
    name = str(context.get("name", ""))
    failed = state is not None and state.get("status") == "failed"
    error = _error_message(None if state is None else state.get("exception"))
    if timeline is not None:
        ok = state is not None and state.get("status") == "succeeded"
        timeline.record(
            PHASE_END if is_timed(name) else ACTIVITY_END,
            name,
            ok=ok,
            failed=failed,
            error=error,
        )
    if failed and context.get("type") == "action":
        raise InterruptExecution(f"{name} failed, stopping here: {error or 'failed'}")


_WRAPPERS = ("chaoslib.exceptions.ActivityFailed: ", "ActivityFailed: ")


def _error_message(exception: list[str] | None) -> str | None:
    """What went wrong, in one line: the last line of Chaos Toolkit's formatted
    traceback (the journal keeps the whole of it), without its exception-class prefixes."""
    if not exception:
        return None
    lines = "".join(exception).strip().splitlines()
    last = lines[-1].strip() if lines else ""
    while last.startswith(_WRAPPERS):
        last = last.split(": ", 1)[1]
    return last[:500] or None

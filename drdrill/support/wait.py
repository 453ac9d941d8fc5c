"""One way to wait: poll a condition until it holds or a deadline passes.

Every "until X or N seconds" loop in drdrill goes through :func:`wait_until` (or
:func:`poll`, when the caller wants the value the condition produced), so the
timeout, the polling interval and the error all read the same everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from drdrill.errors import DrillError

__all__ = ["Deadline", "poll", "wait_until"]

T = TypeVar("T")


class Deadline:
    """A point ``seconds`` from now on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._at - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self._at


def poll(
    produce: Callable[[], T | None],
    timeout_s: float,
    *,
    interval_s: float = 0.05,
) -> T | None:
    """Call ``produce`` until it returns something other than None (or falsy ``False``);
    that value, or None once ``timeout_s`` has passed. ``produce`` runs at least once."""
    deadline = Deadline(timeout_s)
    while True:
        value = produce()
        if value is not None and value is not False:
            return value
        if deadline.passed():
            return None
        time.sleep(min(interval_s, max(deadline.remaining(), 0.001)))


def wait_until(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    *,
    interval_s: float = 0.05,
    error: type[DrillError] = DrillError,
) -> None:
    """Block until ``condition()`` is true; ``error`` naming ``what`` after ``timeout_s``."""
    if poll(lambda: True if condition() else None, timeout_s, interval_s=interval_s) is None:
        raise error(f"timed out after {timeout_s:g}s waiting for {what}")

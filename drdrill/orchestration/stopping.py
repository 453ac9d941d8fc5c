"""The stop button: whatever stops a drill — Ctrl-C, SIGTERM, ``drdrill abort``, a stop
condition — stops injecting and activating at once and leaves the rollback to run.

A ``StopButton`` is installed by whoever runs the drill (the pytest fixture, a script)
for the drill's life. Pressing it records why (the first reason wins), then raises
``KeyboardInterrupt`` in the main thread — directly when pressed there, else by a real
SIGINT to the main thread, so a blocking sleep or socket read wakes up. Inside a Chaos
Toolkit run that interrupt ends the experiment (``interrupted``); the drill's ``close()``
then rolls back, shielded from a second press, and records the drill as ``aborted`` with
this reason.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["StopButton", "stop_button"]


class StopButton:
    """Why the drill was stopped, once it was."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._lock = threading.Lock()

    def press(self, reason: str) -> None:
        """Stop the drill now for ``reason`` (later presses add nothing)."""
        with self._lock:
            first = self.reason is None
            if first:
                self.reason = reason
        if threading.current_thread() is threading.main_thread():
            raise KeyboardInterrupt(reason)
        if first:
            main = threading.main_thread().ident
            if main is not None:
                signal.pthread_kill(main, signal.SIGINT)

    @property
    def pressed(self) -> bool:
        return self.reason is not None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """A signal handler pressing the button (install it where a library replaced it)."""
        name = signal.Signals(signum).name
        with self._lock:
            if self.reason is None:
                self.reason = f"{name} received"
        raise KeyboardInterrupt(self.reason)


@contextmanager
def stop_button() -> Iterator[StopButton]:
    """While inside, SIGINT and SIGTERM press the returned button. Main thread only."""
    button = StopButton()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, button.on_signal)
    try:
        yield button
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

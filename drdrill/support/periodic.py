"""A look taken every few tenths of a second in a thread of its own, until stopped: what
the drill's live watches (stop conditions, split brain) share."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Periodic"]


class Periodic:
    """Calls ``look()`` every ``interval_s`` in a daemon thread named ``name`` until
    ``stop()`` (or until ``look()`` returns True: it is done)."""

    def __init__(self, look: Callable[[], bool], interval_s: float, name: str) -> None:
        self._look = look
        self._interval_s = interval_s
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop looking; waits (briefly) for a look in progress, unless called from it."""
        self._halt.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._halt.wait(self._interval_s):
            if self._look():
                self._halt.set()
                return

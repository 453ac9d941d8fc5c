"""A fixed clock for samplers: tick k is due at start + k * interval, whatever each tick costs.

``Clocked`` runs a job per tick on a thread pool, so a job that hangs (a frozen
region) never delays the next one; probes and the canary writer are ``Clocked``.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

__all__ = ["Clocked", "ticks"]


def ticks(interval: float, stop: threading.Event) -> Iterator[int]:
    """Yield tick numbers on schedule until ``stop`` is set. Ticks missed by more than one
    interval (the machine stalled) are skipped rather than sent in a burst."""
    start = time.monotonic()
    for tick in itertools.count():
        delay = start + tick * interval - time.monotonic()
        if delay < -interval:
            continue
        if stop.wait(max(0.0, delay)):
            return
        yield tick


class Clocked:
    """Calls ``on_tick(n)`` every ``interval`` seconds in a pool sized for jobs that take
    up to ``timeout``; ``start()``/``stop()`` (stop waits for jobs in flight)."""

    def __init__(self, name: str, interval: float, timeout: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=math.ceil(timeout / interval) + 2, thread_name_prefix=name
        )
        self._thread = threading.Thread(target=self._run, name=f"clock-{name}", daemon=True)

    def on_tick(self, tick: int) -> None:
        raise NotImplementedError

    def start(self) -> Clocked:
        self._thread.start()
        return self

    def halt(self) -> None:
        """Stop ticking without waiting (``stop()`` then waits for jobs in flight): halting
        several clocks first stops them all at the same moment."""
        self._stop.set()

    def stop(self) -> None:
        """Stop ticking; waits for jobs in flight (at most one timeout). A tick not yet
        started is dropped: nothing is sent after the stop."""
        self.halt()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        for tick in ticks(self.interval, self._stop):
            self._pool.submit(self.on_tick, tick)

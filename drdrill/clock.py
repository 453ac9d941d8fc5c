"""A fixed clock for samplers: tick k is due at start + k * interval, whatever each tick costs."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

__all__ = ["ticks"]


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

"""The live split-brain watch: ``split_brain_windows`` (``drdrill.measurement.split_brain``)
run on the live samples every half second, its findings written into the timeline
as they happen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from drdrill.measurement.samples import Sample
from drdrill.measurement.split_brain import split_brain_scan
from drdrill.records.timeline import NOTE, Timeline
from drdrill.support.periodic import Periodic

__all__ = [
    "SplitBrainWatch",
]


class SplitBrainWatch:
    """Looks for split-brain windows in the live samples every ``interval_s`` and notes
    each in the timeline as it opens and closes; ``stop()`` closes what is still open."""

    def __init__(
        self,
        samples: Callable[[], Sequence[Sample]],
        timeline: Timeline,
        interval_s: float = 0.5,
    ) -> None:
        self._samples = samples
        self._timeline = timeline
        self._started: set[int] = set()
        self._ended: set[int] = set()
        self._lock = threading.Lock()
        self._periodic = Periodic(lambda: self._look(final=False), interval_s, "split-brain")

    def start(self) -> SplitBrainWatch:
        self._periodic.start()
        return self

    def stop(self) -> None:
        """Stop watching; a last look notes every window the samples hold, open or not."""
        self._periodic.stop()
        self._look(final=True)

    def _look(self, *, final: bool) -> bool:
        """Note the windows opened and closed since the last look; never done (False)."""
        closed, still_open = split_brain_scan(self._samples())
        with self._lock:
            for window in (*closed, *([still_open] if still_open is not None else [])):
                if window.start_ns not in self._started:
                    self._started.add(window.start_ns)
                    self._timeline.record(NOTE, "split_brain", t_ns=window.start_ns)
                ended = window is not still_open or final
                if ended and window.start_ns not in self._ended:
                    self._ended.add(window.start_ns)
                    self._timeline.record(
                        NOTE,
                        "split_brain_ended",
                        t_ns=window.end_ns,
                        start_ns=window.start_ns,
                        seconds=round(window.duration_s, 3),
                    )
        return False

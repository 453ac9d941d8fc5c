"""``drdrill watch``: probes and the canary on any endpoint for a while, then what was seen.

For an SRE measuring a real incident or someone else's game day: no fault is
injected, so every outage seen is reported, and with a database DSN the ledger
is reconciled (lost = acknowledged and absent).

What was seen is bounded by the watch window: samples sent after it are not
counted and an outage still going on when it ends is cut at its end (and marked
``ongoing``). The watch ends at most one probe timeout after the window, and a
ledger that cannot be checked (an unreachable database) leaves the rest of the
measurement intact, with the reason (secrets redacted).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from drdrill.config import MeasurementSettings
from drdrill.errors import ConfigError, MeasurementError
from drdrill.measurement.measure import probe_outages
from drdrill.measurement.results import LedgerSummary, OutageWindow
from drdrill.measurement.samples import CRITICAL_FLOW, Sample
from drdrill.observation.observe import Observation
from drdrill.observation.write_ledger import reconcile
from drdrill.records.timeline import iso, now_ns
from drdrill.support.redaction import redact

__all__ = ["MAX_WATCH_S", "WatchResult", "check_duration", "watch", "within_window"]

MAX_WATCH_S = 86400.0
"""A watch lasts at most a day."""


def check_duration(duration_s: float) -> float:
    """``duration_s`` if it is a usable watch length (0 < seconds <= a day), else
    ``ConfigError`` saying what is expected."""
    if not math.isfinite(duration_s) or not 0 < duration_s <= MAX_WATCH_S:
        raise ConfigError(
            f"--duration {duration_s}: expected a number of seconds, 0 < seconds <= {MAX_WATCH_S:g}"
        )
    return duration_s


@dataclass(frozen=True)
class WatchResult:
    """What a watch saw."""

    probe_interval_s: float
    start_ns: int
    end_ns: int
    samples: int
    outages: tuple[OutageWindow, ...]
    ongoing: bool
    """The last outage was still going on when the window ended."""
    acked: int
    ledger: LedgerSummary | None
    ledger_error: str | None = None
    """Why the ledger could not be checked against the database (secrets redacted)."""

    def to_json(self) -> dict[str, Any]:
        ledger = self.ledger
        last = len(self.outages) - 1
        return {
            "probe_interval_s": self.probe_interval_s,
            "window": {
                "start": iso(self.start_ns),
                "end": iso(self.end_ns),
                "duration_s": (self.end_ns - self.start_ns) / 1e9,
            },
            "samples": self.samples,
            "outages": [
                {
                    "start": iso(o.start_ns),
                    "end": iso(o.end_ns),
                    "duration_s": o.duration_s,
                    "ongoing": self.ongoing and i == last,
                }
                for i, o in enumerate(self.outages)
            ],
            "ledger": {
                "acked": self.acked,
                "lost": ledger.lost if ledger else None,
                "in_doubt": ledger.in_doubt if ledger else None,
                "never_acked": ledger.never_acked if ledger else None,
                "checked_against_database": ledger is not None,
                "error": self.ledger_error,
            },
        }


def within_window(
    samples: list[Sample], start_ns: int, end_ns: int, slow_after: float | None = None
) -> tuple[tuple[OutageWindow, ...], bool]:
    """The probe outages seen in ``start_ns .. end_ns``, clipped to it, and whether the
    last one was still going on at its end."""
    inside = [s for s in samples if start_ns <= s.t_ns <= end_ns]
    outages = list(probe_outages(inside, slow_after))
    critical = [s for s in inside if s.probe == CRITICAL_FLOW]
    ongoing = bool(outages) and bool(critical) and _failed(critical[-1], slow_after)
    if ongoing:
        # down from its first failed sample until the watch stopped looking
        outages[-1] = OutageWindow(outages[-1].start_ns, end_ns)
    return tuple(outages), ongoing


def _failed(sample: Sample, slow_after: float | None) -> bool:
    return not sample.ok or (slow_after is not None and sample.latency_s > slow_after)


def watch(
    endpoint: str, duration_s: float, settings: MeasurementSettings, dsn: str | None = None
) -> WatchResult:
    """Observe ``endpoint`` for ``duration_s`` seconds; returns at most one probe timeout
    after the window (plus the ledger check when ``dsn`` is given)."""
    check_duration(duration_s)
    start_ns = now_ns()
    with Observation(endpoint, settings, edge_record=False) as observation:
        time.sleep(duration_s)
        end_ns = now_ns()
    samples = [s for s in observation.samples() if start_ns <= s.t_ns <= end_ns]
    outages, ongoing = within_window(samples, start_ns, end_ns, settings.slow_after)
    writes = observation.ledger.writes()
    summary, error = None, None
    if dsn:
        try:
            summary = reconcile(writes, dsn, None).summary()
        except MeasurementError as exc:
            error = str(redact(str(exc)))
    return WatchResult(
        settings.probe_interval,
        start_ns,
        end_ns,
        len(samples),
        outages,
        ongoing,
        sum(w.ack_ns is not None for w in writes),
        summary,
        error,
    )

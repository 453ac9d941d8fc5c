"""``drdrill watch``: probes and the canary on any endpoint for a while, then what was seen.

For an SRE measuring a real incident or someone else's game day: no fault is
injected, so every outage seen is reported, and with a database DSN the ledger
is reconciled (lost = acknowledged and absent).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from drdrill.config import MeasurementSettings
from drdrill.ledger import reconcile
from drdrill.measure import probe_outages
from drdrill.observe import Observation
from drdrill.results import LedgerSummary, OutageWindow
from drdrill.timeline import iso

__all__ = ["WatchResult", "watch"]


@dataclass(frozen=True)
class WatchResult:
    """What a watch saw."""

    probe_interval_s: float
    samples: int
    outages: tuple[OutageWindow, ...]
    acked: int
    ledger: LedgerSummary | None

    def to_json(self) -> dict[str, Any]:
        ledger = self.ledger
        return {
            "probe_interval_s": self.probe_interval_s,
            "samples": self.samples,
            "outages": [
                {"start": iso(o.start_ns), "end": iso(o.end_ns), "duration_s": o.duration_s}
                for o in self.outages
            ],
            "ledger": {
                "acked": self.acked,
                "lost": ledger.lost if ledger else None,
                "in_doubt": ledger.in_doubt if ledger else None,
                "never_acked": ledger.never_acked if ledger else None,
                "checked_against_database": ledger is not None,
            },
        }


def watch(
    endpoint: str, duration_s: float, settings: MeasurementSettings, dsn: str | None = None
) -> WatchResult:
    """Observe ``endpoint`` for ``duration_s`` seconds (bounded; stops by itself)."""
    with Observation(endpoint, settings, edge_record=False) as observation:
        time.sleep(duration_s)
    samples = observation.samples()
    writes = observation.ledger.writes()
    summary = reconcile(writes, dsn, None).summary() if dsn else None
    return WatchResult(
        settings.probe_interval,
        len(samples),
        probe_outages(samples, settings.slow_after),
        sum(w.ack_ns is not None for w in writes),
        summary,
    )

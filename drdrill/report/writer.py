"""The one writer of a drill's report directory: every artifact a drill leaves.

``reports/<drill-id>/`` holds, besides what grows during the drill (``timeline.jsonl``,
``audit.jsonl``, the Chaos Toolkit journals, Locust's records):

- ``summary.json|md|html`` — the verdict and every figure (``DrillSummary``);
- ``measurements.json`` — the raw ``Measurements``;
- ``ledger.json`` — the write ledger reconciled against the surviving database;
- ``timeline.png`` — the timeline picture;

and ``reports/history.jsonl`` gets the drill's line. Nothing else writes these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.measure import Request
from drdrill.probes import Sample
from drdrill.redaction import redact
from drdrill.report.summary import DrillSummary, append_history, write_summary
from drdrill.report.timeline_chart import draw_timeline
from drdrill.results import LedgerSummary, Measurements

__all__ = ["DrillReport", "ledger_json"]


def ledger_json(ledger: LedgerSummary, checked_against: str) -> dict[str, Any]:
    """``ledger.json``: the reconciled write ledger and the database it was checked against."""
    return {
        "acked": ledger.acked,
        "lost": ledger.lost,
        "in_doubt": ledger.in_doubt,
        "never_acked": ledger.never_acked,
        "lost_after_fault": ledger.lost_after_fault,
        "lost_ids": list(ledger.lost_ids),
        "in_doubt_ids": list(ledger.in_doubt_ids),
        "checked_against": redact(checked_against),
    }


@dataclass(frozen=True)
class DrillReport:
    """A drill's report directory and the reports directory its history lives in."""

    report_dir: Path
    reports_dir: Path

    def write(
        self,
        summary: DrillSummary,
        *,
        ledger: LedgerSummary | None = None,
        checked_against: str = "",
        samples: Sequence[Sample] = (),
        requests: Sequence[Request] = (),
    ) -> None:
        """Write every artifact of a measured drill and its history line."""
        measurements: Measurements = summary.measurements
        write_summary(summary, self.report_dir)
        append_history(summary, self.reports_dir)
        (self.report_dir / "measurements.json").write_text(
            json.dumps(measurements.to_json(), indent=2, default=str)
        )
        if ledger is not None:
            (self.report_dir / "ledger.json").write_text(
                json.dumps(ledger_json(ledger, checked_against), indent=2)
            )
        if samples:
            draw_timeline(
                self.report_dir / "timeline.png",
                samples,
                measurements,
                requests,
                title=f"{summary.drill_id} ({summary.failure_mode or summary.kind})",
            )

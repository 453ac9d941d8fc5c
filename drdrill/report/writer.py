"""The one writer of a drill's report directory: every artifact a drill leaves.

``reports/<drill-id>/`` holds, besides what grows during the drill (``timeline.jsonl``,
``audit.jsonl``, the Chaos Toolkit journals, Locust's records):

- ``summary.json|md|html`` — the verdict and every figure (``DrillSummary``);
- ``measurements.json`` — the raw ``Measurements``;
- ``ledger.json`` — the write ledger reconciled against the surviving database;
- ``timeline.png`` — the timeline picture;
- ``trend.png`` — RTO and RPO per measured drill of the history, with the targets (also
  ``reports/trend.png``);

and, once the drill has ended (``conclude``), the summary again with its outcome and
``reports/history.jsonl`` the drill's one line — also for a drill that was aborted or
failed before anything was measured. Nothing else writes these. Last of all (``seal``),
``manifest.json``: every file of the directory with its sha256 and size, and the head of
the hash-chained audit trail (``drdrill.report.archive``; ``drdrill report --verify``).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.measurement.measure import Request
from drdrill.measurement.results import Measurements
from drdrill.measurement.samples import Sample
from drdrill.records.timeline import iso
from drdrill.report import archive
from drdrill.report import findings as findings_
from drdrill.report.finding import Finding
from drdrill.report.history import (
    HISTORY_FIELDS,
    append_history,
    append_history_line,
    read_history,
    readiness,
)
from drdrill.report.page import render_page
from drdrill.report.summary import DrillSummary, write_summary
from drdrill.report.timeline_chart import draw_timeline
from drdrill.report.trend_chart import draw_trend
from drdrill.support.redaction import redact

__all__ = ["DrillReport", "UnmeasuredDrill"]


@dataclass(frozen=True)
class DrillReport:
    """A drill's report directory and the reports directory its history lives in."""

    report_dir: Path
    reports_dir: Path

    def write(
        self,
        summary: DrillSummary,
        *,
        ledger: dict[str, Any] | None = None,
        samples: Sequence[Sample] = (),
        requests: Sequence[Request] = (),
    ) -> None:
        """Write every artifact of a measured drill (its history line waits for its end)."""
        measurements: Measurements = summary.measurements
        self.report_dir.mkdir(parents=True, exist_ok=True)
        (self.report_dir / "measurements.json").write_text(
            json.dumps(measurements.to_json(), indent=2, default=str)
        )
        if ledger is not None:
            (self.report_dir / "ledger.json").write_text(json.dumps(ledger, indent=2))
        if samples:
            draw_timeline(
                self.report_dir / "timeline.png",
                samples,
                measurements,
                requests,
                title=f"{summary.drill_id} ({summary.failure_mode or summary.kind})",
            )
        # this drill's trend so far (its history line waits for its end: the Allure steps
        # attach the picture before that)
        record = summary.to_json()
        rows = read_history(self.reports_dir).rows
        self._draw_trend([*rows, {k: record[k] for k in HISTORY_FIELDS}], final=False)
        # last: the page links and embeds what is already there
        write_summary(summary, self.report_dir)

    def conclude(self, summary: DrillSummary | None, ending: UnmeasuredDrill) -> None:
        """The drill has ended (``ending`` says how): the measured summary again with its
        outcome, or — for a drill that ended before its measurement — a summary of how far
        it got; and its one history line."""
        if summary is None:
            self.conclude_unmeasured(ending)
            return
        final = dataclasses.replace(
            summary,
            outcome=ending.outcome,
            reached=ending.reached,
            error=ending.error,
            rollback=ending.rollback,
        )
        append_history(final, self.reports_dir)
        rows = read_history(self.reports_dir).rows
        self._draw_trend(rows)
        write_summary(final, self.report_dir, readiness=readiness(rows))

    def seal(self, drill_id: str) -> Path | None:
        """Write ``manifest.json`` once nothing else will be written here: the archive is
        then tamper-evident. A seal that cannot be written is said on stderr, never fatal
        to a drill that has already rolled back (``--verify`` then reports it missing)."""
        try:
            return archive.seal(self.report_dir, drill_id)
        except OSError as exc:
            print(f"drdrill: could not seal {self.report_dir}: {exc}", file=sys.stderr)
            return None

    def conclude_unmeasured(self, record: UnmeasuredDrill) -> None:
        """A drill that ended before it was measured: a summary saying how far it got and
        why it stopped, and its history line (it counts against readiness)."""
        self.report_dir.mkdir(parents=True, exist_ok=True)
        line = record.to_json()
        found = findings_.as_json(record.findings())
        rollback = None if record.rollback is None else record.rollback.text
        (self.report_dir / "summary.json").write_text(
            json.dumps(
                redact(
                    {
                        **line,
                        "approved_by": record.approved_by,
                        "rollback": rollback,
                        "findings": found,
                    }
                ),
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        (self.report_dir / "summary.md").write_text(redact(record.to_markdown()), encoding="utf-8")
        append_history_line(line, self.reports_dir)
        rows = read_history(self.reports_dir).rows
        self._draw_trend(rows)
        (self.report_dir / "summary.html").write_text(
            render_page(
                {**line, "rollback": rollback, "findings": found},
                self.report_dir,
                readiness=readiness(rows),
            ),
            encoding="utf-8",
        )

    def _draw_trend(self, rows: Sequence[Mapping[str, Any]], *, final: bool = True) -> None:
        """``trend.png`` of ``rows`` (the history) into the drill's directory and, once the
        drill's own line is in the history (``final``), into the reports directory too."""
        drawn = draw_trend(self.report_dir / "trend.png", rows)
        if drawn is not None and final:
            shutil.copyfile(drawn, self.reports_dir / "trend.png")


@dataclass(frozen=True)
class UnmeasuredDrill:
    """What is known of a drill that ended before its measurement."""

    drill_id: str
    scenario: str
    kind: str
    target: str
    started_ns: int
    failure_mode: str | None
    outcome: str
    reached: str
    error: str | None
    approved_by: str | None = None
    rollback: findings_.Rollback | None = None
    """What the rollback did (the target's fail back)."""

    def to_json(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "drill_id": self.drill_id,
            "scenario": self.scenario,
            "kind": self.kind,
            "target": self.target,
            "started": iso(self.started_ns),
            "failure_mode": self.failure_mode,
            "rto_s": None,
            "rpo_s": None,
            "lost_writes": None,
            "in_doubt_writes": None,
            "divergent_writes": None,
            "switchover_outage_s": None,
            "phases": {},
            "verdicts": {},
            "targets_s": {},
            "passed": False,
            "outcome": self.outcome,
            "reached": self.reached,
            "error": self.error,
        }
        return {k: values[k] for k in HISTORY_FIELDS}

    def findings(self) -> list[Finding]:
        """Its issues encountered: how it ended (nothing was measured)."""
        return [
            *findings_.ended_early(self.outcome, self.error),
            *findings_.rollback_findings(self.rollback),
        ]

    def to_markdown(self) -> str:
        checks_only = self.outcome == "passed"  # (no fault: its scenario's checks passed)
        how = (
            "PASSED its checks, no fault injected"
            if checks_only
            else f"{self.outcome.upper()} before measurement"
        )
        ended = self.error or ("its last step" if checks_only else "nothing recorded")
        return (
            f"# DR drill {self.drill_id}: {how}\n\n"
            f"- scenario: **{self.scenario}** ({self.kind}), target `{self.target}`"
            + (f", failure mode `{self.failure_mode}`" if self.failure_mode else "")
            + f"\n- started: {iso(self.started_ns)}"
            + (f", approved by **{self.approved_by}**" if self.approved_by else "")
            + "\n"
            f"- reached: `{self.reached}`\n"
            f"- ended by: {ended}\n"
            + (f"- rollback: {self.rollback.text}\n" if self.rollback is not None else "")
            + "- no RTO or RPO was measured: this drill proves nothing about the objectives\n\n"
            + "\n".join(findings_.as_markdown(self.findings(), measured=False))
        )

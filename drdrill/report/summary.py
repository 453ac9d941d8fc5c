"""``reports/<drill-id>/summary.{json,md,html}``: one drill, standing alone.

An auditor reads summary.md (``summary_markdown``), a pipeline reads summary.json (the
summary record, ``DrillSummary.to_json``), people read summary.html (``page``). The
history of drills is ``history``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drdrill.measurement.failback import FailbackFigures
from drdrill.measurement.results import Measurements, Verdicts
from drdrill.records.timeline import iso
from drdrill.report import findings as findings_
from drdrill.report import target_calls
from drdrill.report.finding import Finding
from drdrill.report.summary_markdown import summary_markdown
from drdrill.support.redaction import redact

__all__ = ["DrillSummary", "latest_summary", "write_summary"]


@dataclass(frozen=True)
class DrillSummary:
    """Everything a reader of one drill needs."""

    drill_id: str
    scenario: str
    kind: str
    target: str
    started_ns: int
    failure_mode: str | None
    measurements: Measurements
    verdicts: Verdicts
    load: dict[str, Any] = field(default_factory=dict)
    actor: str = ""
    approved_by: str | None = None
    """Who approved the drill (``--approved-by``; a non-lab target needs one)."""
    notes: tuple[str, ...] = ()
    outcome: str = ""
    """Set when the drill ended (``Drill.close``); until then the verdict alone speaks."""
    reached: str = "measured"
    error: str | None = None
    failback: FailbackFigures | None = None
    """The planned failback's figures, when the drill failed back
    (``drdrill.measurement.failback``)."""
    calls: tuple[target_calls.PhaseCalls, ...] = ()
    """The target's control-plane calls by phase, from the audit trail (the aws target's;
    the lab makes none)."""
    rollback: findings_.Rollback | None = None
    """What the rollback did (set when the drill ended)."""

    @property
    def passed(self) -> bool:
        """The conjunction of everything the drill judged: once it ended, its outcome;
        before, every verdict and no write acknowledged after the fault lost."""
        if self.outcome:
            return self.outcome == "passed"
        return self.verdicts.passed and self.measurements.ledger.lost_after_fault == 0

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The issues encountered (``drdrill.report.findings``), most severe first."""
        return findings_.findings(
            self.measurements,
            self.verdicts,
            outcome=self.outcome,
            error=self.error,
            failback=self.failback,
            rollback=self.rollback,
        )

    @property
    def headline(self) -> str:
        return (self.outcome or ("passed" if self.passed else "failed")).upper()

    def to_json(self) -> dict[str, Any]:
        m = self.measurements
        return {
            "drill_id": self.drill_id,
            "scenario": self.scenario,
            "kind": self.kind,
            "target": self.target,
            "started": iso(self.started_ns),
            "failure_mode": self.failure_mode,
            "actor": self.actor,
            "approved_by": self.approved_by,
            "rto_s": m.rto_s,
            "rto_resolution_s": m.rto_resolution_s,
            "rpo_s": m.rpo_s,
            "rpo_bounds_s": [m.rpo_bounds.low_s, m.rpo_bounds.high_s],
            "lost_writes": m.ledger.lost,
            "in_doubt_writes": m.ledger.in_doubt,
            "divergent_writes": None
            if self.failback is None or self.failback.divergent is None
            else len(self.failback.divergent),
            "switchover_outage_s": None
            if self.failback is None
            else self.failback.switchover.seconds,
            "acked_writes": m.ledger.acked,
            "never_acked_writes": m.ledger.never_acked,
            "lost_after_fault": m.ledger.lost_after_fault,
            "discarded_by_restore": m.ledger.discarded_by_restore,
            "detection_s": m.detection_s,
            "confirmation_s": m.confirmation_s,
            "t_fault": iso(m.t_fault_ns) if m.t_fault_ns else None,
            "t_restored": iso(m.t_restored_ns) if m.t_restored_ns else None,
            "phases": {p.name: round(p.duration_s, 4) for p in m.phases},
            "user_outages_s": [round(o.duration_s, 3) for o in m.user_outages],
            "error_rate": round(m.error_rate, 4),
            "verdicts": self.verdicts.to_json(),
            "targets_s": {v.figure: v.target_s for v in self.verdicts.items},
            "load": self.load,
            "notes": list(self.notes),
            "passed": self.passed,
            "outcome": self.outcome or ("passed" if self.passed else "failed"),
            "reached": self.reached,
            "error": self.error,
            "rollback": None if self.rollback is None else self.rollback.text,
            "findings": findings_.as_json(self.findings),
            "failback": None if self.failback is None else self.failback.to_json(),
            "target_calls": [p.to_json() for p in self.calls],
        }

    def to_markdown(self) -> str:
        """summary.md (``drdrill.report.summary_markdown``)."""
        return summary_markdown(self)

    def to_html(self, report_dir: Path | None = None, readiness: float | None = None) -> str:
        """The summary page (``drdrill.report.page``); ``report_dir`` holds its pictures
        and evidence (default: none linked)."""
        from drdrill.report.page import render_page

        return render_page(self.to_json(), report_dir, summary=self, readiness=readiness)


def write_summary(
    summary: DrillSummary, report_dir: Path, *, readiness: float | None = None
) -> dict[str, Path]:
    """Write summary.json/md/html into ``report_dir``; returns their paths. The page shows
    the pictures and evidence already in ``report_dir`` and the ``readiness`` score."""
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": report_dir / "summary.json",
        "md": report_dir / "summary.md",
        "html": report_dir / "summary.html",
    }
    paths["json"].write_text(
        json.dumps(redact(summary.to_json()), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    paths["md"].write_text(redact(summary.to_markdown()), encoding="utf-8")
    # the page redacts every value it renders (its embedded pictures are no text to redact)
    paths["html"].write_text(summary.to_html(report_dir, readiness), encoding="utf-8")
    return paths


def latest_summary(reports_dir: Path) -> Path | None:
    """``reports/<drill-id>/summary.md`` of the most recently written drill, if any."""
    summaries = sorted(reports_dir.glob("*/summary.md"), key=lambda p: p.stat().st_mtime_ns)
    return summaries[-1] if summaries else None

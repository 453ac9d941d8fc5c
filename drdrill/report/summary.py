"""``reports/<drill-id>/summary.{json,md,html}`` and ``reports/history.jsonl``.

The summary stands alone: an auditor reads summary.md, a pipeline reads
summary.json, and the history feeds the trend (RTO/RPO over drills, readiness).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drdrill import jsonl
from drdrill.failback import FailbackFigures
from drdrill.redaction import redact
from drdrill.report import findings as findings_
from drdrill.report import target_calls
from drdrill.report.metrics_table import as_markdown, human_duration
from drdrill.results import Measurements, Verdicts
from drdrill.timeline import iso

__all__ = [
    "HISTORY_FIELDS",
    "DrillSummary",
    "History",
    "TrendPoint",
    "append_history",
    "append_history_line",
    "latest_summary",
    "read_history",
    "readiness",
    "trend",
    "trend_lines",
    "write_summary",
]

HISTORY_FIELDS = (
    "drill_id",
    "scenario",
    "kind",
    "target",
    "started",
    "failure_mode",
    "rto_s",
    "rpo_s",
    "lost_writes",
    "in_doubt_writes",
    "divergent_writes",
    "switchover_outage_s",
    "phases",
    "verdicts",
    "targets_s",
    "passed",
    "outcome",
    "reached",
    "error",
)
"""The keys of one line of ``reports/history.jsonl``: every drill that starts leaves one,
measured or not (``outcome`` passed, failed, aborted, error or skipped; ``reached`` the
furthest state of the drill; ``targets_s`` the targets it was judged against, for the
trend picture; ``divergent_writes`` and ``switchover_outage_s`` the failback's, None for a
drill that did not fail back or a target that does not count divergent writes)."""

NOT_A_DRILL = frozenset({"readiness"})
"""History ``kind`` values that are not drills (``drdrill check`` lines)."""


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
    """The planned failback's figures, when the drill failed back (``drdrill.failback``)."""
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
    def findings(self) -> tuple[findings_.Finding, ...]:
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
        m = self.measurements
        lines = [
            f"# DR drill {self.drill_id}: {self.headline}",
            "",
            f"- scenario: **{self.scenario}** ({self.kind}), target `{self.target}`"
            + (f", failure mode `{self.failure_mode}`" if self.failure_mode else ""),
            f"- started: {iso(self.started_ns)} by {self.actor or 'unknown'}"
            + (f", approved by **{self.approved_by}**" if self.approved_by else ""),
            f"- RTO: **{human_duration(m.rto_s)}** "
            f"(resolution {human_duration(m.rto_resolution_s)})",
            f"- RPO: **{human_duration(m.rpo_s) if m.rpo_s else '0 s'}** "
            f"(bounds {m.rpo_bounds.low_s:.3f}–{m.rpo_bounds.high_s:.3f} s); "
            f"{m.ledger.lost} acknowledged write(s) lost of {m.ledger.acked}, "
            f"{m.ledger.in_doubt} in doubt, {m.ledger.never_acked} never acknowledged",
            f"- detection: {human_duration(m.detection_s)}, "
            f"DR activation started: {human_duration(m.confirmation_s)} after the fault",
        ]
        if self.error:
            lines.append(f"- ended by: {self.error} (the drill reached `{self.reached}`)")
        if self.rollback is not None:
            lines.append(f"- rollback: {self.rollback.text}")
        if m.ledger.lost_after_fault:
            lines.append(
                f"- **{m.ledger.lost_after_fault} write(s) acknowledged after the fault are "
                "missing: split brain or a broken restore**"
            )
        if m.ledger.discarded_by_restore:
            lines.append(
                f"- {m.ledger.discarded_by_restore} write(s) acknowledged after the fault were "
                "discarded by the restore to a point before it (by design: replay them from "
                "the replaced database)"
            )
        if self.load:
            lines.append(
                f"- load (Locust): {self.load.get('requests', 0)} requests, "
                f"{self.load.get('requests_per_s', 0)} req/s "
                f"(sustained {self.load.get('sustained_requests_per_s', '—')}), "
                f"{self.load.get('failures', 0)} failed"
            )
        if m.user_outages:
            longest = max(o.duration_s for o in m.user_outages)
            lines.append(f"- user-observed outage (Locust): longest {longest:.2f} s")
        lines += ["", "## Test Metrics", "", as_markdown(self.verdicts)]
        lines += findings_.as_markdown(self.findings)
        if m.phases:
            lines += ["## Activation phases", "", "| Phase | Duration | Outcome |", "|---|---|---|"]
            lines += [
                f"| {p.name} | {human_duration(p.duration_s)} | {'ok' if p.ok else 'FAILED'} |"
                for p in m.phases
            ]
        if self.failback is not None:
            lines += failback_markdown(self.failback)
        if self.calls:
            lines += ["", *target_calls.as_markdown(self.calls)]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def to_html(self, report_dir: Path | None = None, readiness: float | None = None) -> str:
        """The summary page (``drdrill.report.page``); ``report_dir`` holds its pictures
        and evidence (default: none linked)."""
        from drdrill.report.page import render_page

        return render_page(self.to_json(), report_dir, summary=self, readiness=readiness)


_STATUS_WORD = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ FAIL", "none": "ran"}


def failback_markdown(figures: FailbackFigures) -> list[str]:
    """The summary's "Failback" section (its lines, heading included)."""
    lines = [
        "",
        "## Failback",
        "",
        "| Phase | Duration | Target | Result |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {p.title} | {human_duration(p.seconds)} | {human_duration(p.target_s)} | "
        f"{_STATUS_WORD.get(p.status, p.status)} |"
        for p in figures.phases
    ]
    outage = figures.switchover
    lines += [
        "",
        f"- switchover outage: customer-visible **{human_duration(outage.seconds)}** "
        f"(critical-flow probes), fence → writable {human_duration(outage.target_seconds)} "
        f"(the target's own figure); goal {human_duration(figures.switchover_target_s)}",
        f"- data consistency before traffic moved: {figures.consistency_problem or 'verified'}",
    ]
    steps = [
        f"{r.percent} % {r.errors}/{r.requests} ({r.rate:.1%}, {r.source})" for r in figures.steps
    ]
    lines.append(
        f"- error rate per traffic step (limit {figures.max_step_error_rate:.0%}): "
        + ("; ".join(steps) if steps else "no traffic step ran")
    )
    lines.append(
        f"- writes lost by the failback: **{len(figures.lost_ids)}**"
        + (f" ({_shown(figures.lost_ids)})" if figures.lost_ids else "")
    )
    if figures.split_brain:
        lines.append(
            f"- split brain: both databases accepted writes for "
            f"{human_duration(figures.split_brain_s)} "
            f"({len(figures.split_brain)} window(s), from {iso(figures.split_brain[0].start_ns)})"
        )
    else:
        lines.append("- split brain: never seen (the write probes never found both writable)")
    if figures.divergent is None:
        lines.append("- divergent writes: not counted by this target")
    else:
        ids = [w.id for w in figures.divergent]
        lines.append(
            f"- divergent writes (acknowledged by the old primary after the promotion, absent "
            f"from the final primary, discarded by the rewind): **{len(ids)}**"
            + (f" ({_shown(ids)})" if ids else "")
        )
    return [*lines, ""]


def _shown(ids: Sequence[str], show: int = 20) -> str:
    more = len(ids) - show
    rest = f" and {more} more (summary.json)" if more > 0 else ""
    return "ids: " + ", ".join(ids[:show]) + rest


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


def append_history(summary: DrillSummary, reports_dir: Path) -> Path:
    """Append one line (``HISTORY_FIELDS``) for this drill to ``reports/history.jsonl``."""
    record = summary.to_json()
    return append_history_line({k: record[k] for k in HISTORY_FIELDS}, reports_dir)


def append_history_line(line: Mapping[str, Any], reports_dir: Path) -> Path:
    """The one writer of ``reports/history.jsonl`` (drills, unmeasured drills, readiness
    checks): redacted, on a fresh line even when the last one was torn by a killed writer."""
    path = reports_dir / "history.jsonl"
    jsonl.append(path, redact(dict(line)))
    return path


@dataclass(frozen=True)
class History:
    """The drills of ``reports/history.jsonl``, oldest first, and how many of its lines
    could not be read (torn, not UTF-8, not a JSON object, or figures that are no
    numbers): those are skipped, never fatal."""

    rows: tuple[dict[str, Any], ...]
    skipped: int = 0

    def skipped_note(self) -> str | None:
        """What to tell the reader about skipped lines (None: there were none)."""
        if not self.skipped:
            return None
        lines = "line" if self.skipped == 1 else "lines"
        return f"{self.skipped} unreadable history {lines} skipped"


def _is_drill(row: Mapping[str, Any]) -> bool:
    figures = (row.get("rto_s"), row.get("rpo_s"))
    numbers = all(f is None or type(f) in (int, float) for f in figures)
    return isinstance(row.get("passed"), bool) and numbers


def read_history(reports_dir: Path) -> History:
    """Every drill of ``reports/history.jsonl``, oldest first; unreadable lines skipped
    and counted."""
    lines = jsonl.read(reports_dir / "history.jsonl")
    rows = tuple(row for row in lines.records if _is_drill(row))
    return History(rows, lines.skipped + len(lines.records) - len(rows))


def readiness(history: Sequence[Mapping[str, Any]], last: int = 10) -> float | None:
    """DR readiness score: the share of the last ``last`` drills that passed (0..1);
    None before the first drill."""
    drills = [r for r in history if _counts(r)]
    recent = drills[-last:]
    if not recent:
        return None
    return sum(bool(r.get("passed")) for r in recent) / len(recent)


def _counts(row: Mapping[str, Any]) -> bool:
    """A drill that tells something about readiness: not a readiness check, not skipped."""
    return row.get("kind") not in NOT_A_DRILL and row.get("outcome") != "skipped"


@dataclass(frozen=True)
class TrendPoint:
    """One drill in the trend: its figures and the readiness score after it."""

    drill_id: str
    started: str
    scenario: str
    rto_s: float | None
    rpo_s: float | None
    passed: bool
    readiness: float
    outcome: str = ""


def trend(history: Sequence[Mapping[str, Any]], last: int = 10) -> list[TrendPoint]:
    """RTO/RPO over the drills of ``history``, with the readiness score as it moved."""
    points = []
    drills = [r for r in history if r.get("kind") not in NOT_A_DRILL]
    for index, row in enumerate(drills):
        score = readiness(drills[: index + 1], last)
        points.append(
            TrendPoint(
                drill_id=str(row.get("drill_id", "?")),
                started=str(row.get("started", "")),
                scenario=str(row.get("scenario", "")),
                rto_s=row.get("rto_s"),
                rpo_s=row.get("rpo_s"),
                passed=bool(row.get("passed")),
                readiness=score if score is not None else 0.0,
                outcome=str(row.get("outcome") or ("passed" if row.get("passed") else "failed")),
            )
        )
    return points


def trend_lines(history: Sequence[Mapping[str, Any]], show: int = 10) -> list[str]:
    """The trend of the last ``show`` drills as a small markdown table."""
    lines = [
        "| Drill | Scenario | RTO | RPO | Result | Readiness |",
        "|-------|----------|-----|-----|--------|-----------|",
    ]
    for p in trend(history)[-show:]:
        lines.append(
            f"| {p.drill_id} | {p.scenario} | {human_duration(p.rto_s)} | "
            f"{human_duration(p.rpo_s) if p.rpo_s else '0 s'} | "
            f"{'✅' if p.passed else '❌'} {p.outcome} | {p.readiness:.0%} |"
        )
    return lines


def latest_summary(reports_dir: Path) -> Path | None:
    """``reports/<drill-id>/summary.md`` of the most recently written drill, if any."""
    summaries = sorted(reports_dir.glob("*/summary.md"), key=lambda p: p.stat().st_mtime_ns)
    return summaries[-1] if summaries else None

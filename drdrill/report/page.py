"""``summary.html``: one drill as a page people read (Jinja2, autoescaped, no network).

The page is rendered from the drill's summary record (what ``summary.json`` holds, so a
key another writer adds, such as ``findings``, reaches the page too) and, for a measured
drill, its ``DrillSummary`` (verdict titles and targets, phase timings, the ids of lost
and in-doubt writes). It carries a verdict banner, the plan's metrics table with
pass/warn/fail badges, the findings when the summary has them, the phases against their
targets, the lost and in-doubt writes by id, the timeline and trend pictures (embedded,
so the page also reads as an Allure attachment or a mail) and links to the evidence
next to it. Every value is redacted before it is rendered, and escaped by Jinja2.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drdrill.records.timeline import iso
from drdrill.report.metrics_table import human_duration
from drdrill.report.page_figures import measured_context
from drdrill.support.redaction import redact

if TYPE_CHECKING:
    from drdrill.report.summary import DrillSummary

__all__ = ["ARTIFACTS", "render_page"]

OUTCOMES = ("passed", "failed", "aborted", "error", "skipped")

DRILL_KEYS = (
    "drill_id",
    "scenario",
    "kind",
    "target",
    "started",
    "failure_mode",
    "actor",
    "reached",
    "error",
    "rollback",
)
"""The summary record's keys the page's header shows, as text ("" when absent)."""

ARTIFACTS: tuple[tuple[str, str], ...] = (
    ("summary.md", "the summary as markdown (what auditors read)"),
    ("summary.json", "every figure, for machines"),
    ("audit.jsonl", "the audit trail: who did what to which target, when"),
    ("timeline.jsonl", "every event (fault, phases, rollback) in UTC ns"),
    ("journal-region-failure.json", "Chaos Toolkit journal: the region failure"),
    ("journal-dr-activation.json", "Chaos Toolkit journal: the DR activation"),
    ("ledger.json", "the write ledger checked against the surviving database"),
    ("measurements.json", "every measured figure, raw"),
    ("timeline.png", "the timeline picture"),
    ("trend.png", "RTO and RPO per drill, with their targets"),
    ("locust-stats.json", "Locust's per-endpoint stats"),
    ("locust-requests.jsonl", "one line per Locust request"),
    ("locust-ledger.jsonl", "one line per Locust checkout"),
    ("locust.log", "Locust's output"),
)
"""(file in the drill's directory, what it is), linked in this order when present."""

_FINDING_BADGE = {
    "critical": "fail",
    "high": "fail",
    "fail": "fail",
    "failed": "fail",
    "breach": "fail",
    "error": "fail",
    "medium": "warn",
    "warn": "warn",
    "warning": "warn",
    "low": "info",
    "info": "info",
}


@dataclass(frozen=True)
class _Artifact:
    name: str
    href: str
    what: str


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("drdrill.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _png_src(path: Path | None) -> str | None:
    """``path`` as a data: URI (the page then stands alone), None if it is missing."""
    if path is None or not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _figure(value: Any, what: str) -> str:
    """A finding's ``actual`` / ``target``: a count for writes, else seconds (the summary's
    convention), shown as people write them; text as it is; None as a dash."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _text(value)
    return f"{value:g}" if "write" in what.lower() else human_duration(float(value))


def _findings(raw: Any) -> list[dict[str, str]] | None:
    """The summary's ``findings`` (list of {severity, what, actual, target, detail}) as
    strings; None when the summary has none (no list), and the mappings only."""
    if not isinstance(raw, list):
        return None
    found = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        severity = _text(item.get("severity") or "info")
        found.append(
            {
                "severity": severity,
                "badge": _FINDING_BADGE.get(severity.lower(), "none"),
                "what": _text(item.get("what")),
                "actual": _figure(item.get("actual"), str(item.get("what", ""))),
                "target": _figure(item.get("target"), str(item.get("what", ""))),
                "detail": "" if item.get("detail") is None else _text(item.get("detail")),
            }
        )
    return found


def _banner(record: Mapping[str, Any], summary: DrillSummary | None) -> dict[str, str]:
    outcome = str(record.get("outcome") or ("passed" if record.get("passed") else "failed"))
    if outcome not in OUTCOMES:
        outcome = "error"
    error = record.get("error")
    if summary is not None and not summary.outcome:  # measured, not yet ended
        judged = "every figure met its target" if outcome == "passed" else "a figure failed"
        return {
            "outcome": outcome,
            "word": outcome.upper(),
            "why": f"Judged so far: {judged}; the drill has not ended (its rollback and "
            "final outcome are pending).",
        }
    if outcome == "passed":
        lost = summary.measurements.ledger.lost if summary is not None else 0
        why = (
            "Every check the drill judged passed, no write acknowledged after the fault "
            "lost, rolled back"
            + (f" ({lost} acknowledged before the fault lost, within the RPO)." if lost else ".")
        )
    elif outcome == "failed" and summary is not None:
        failing = [v.title for v in summary.verdicts.items if v.status == "fail"]
        lost_after = summary.measurements.ledger.lost_after_fault
        broken = [p.name for p in summary.measurements.phases if not p.ok]
        lost = summary.measurements.ledger.lost
        reasons = [f"over target: {', '.join(failing)}"] if failing else []
        if broken:
            reasons.append(f"phase(s) failed: {', '.join(broken)}")
        if lost_after:
            reasons.append(f"{lost_after} write(s) acknowledged after the fault lost")
        elif lost:
            reasons.append(f"{lost} acknowledged write(s) lost")
        if error:
            reasons.append(str(error))
        why = "; ".join(reasons) or "a check of the drill failed (no error was recorded)"
    elif outcome == "aborted":
        why = f"Stopped: {error or 'the stop button was pressed'}; rolled back."
    elif outcome == "skipped":
        why = f"Not run on this target: {error or 'a capability is missing'}."
    else:
        why = str(error or "the drill could not be judged")
    return {"outcome": outcome, "word": outcome.upper(), "why": why}


def _artifacts(report_dir: Path | None) -> list[_Artifact]:
    """The files of the drill's directory, linked relative: the known ones first, in
    ``ARTIFACTS`` order and described, then any other (alert deliveries, ...)."""
    if report_dir is None or not report_dir.is_dir():
        return []
    known = [_Artifact(n, n, what) for n, what in ARTIFACTS if (report_dir / n).is_file()]
    named = {n for n, _ in ARTIFACTS} | {"summary.html"}
    others = sorted(p.name for p in report_dir.iterdir() if p.is_file() and p.name not in named)
    return known + [_Artifact(n, n, "") for n in others]


def _target_calls(phases: Sequence[Any]) -> list[dict[str, str]]:
    """The target's control-plane calls by phase (the summary's ``target_calls``)."""
    return [
        {
            "phase": _text(p.get("phase")),
            "calls": ", ".join(
                f"{a} ×{n}" if n != 1 else str(a) for a, n in (p.get("calls") or {}).items()
            ),
            "failed": _text(p.get("failed")),
        }
        for p in phases
        if isinstance(p, Mapping)
    ]


def render_page(
    record: Mapping[str, Any],
    report_dir: Path | None,
    *,
    summary: DrillSummary | None = None,
    readiness: float | None = None,
    written_ns: int | None = None,
) -> str:
    """The summary page of one drill: ``record`` is its summary record (``summary.json``
    or an unmeasured drill's line), ``summary`` the measured drill (None: it ended before
    its measurement), ``report_dir`` where its evidence and pictures lie."""
    import time

    safe: dict[str, Any] = redact(dict(record))
    context: dict[str, Any] = {
        "drill": {k: _text(safe.get(k)) if safe.get(k) is not None else "" for k in DRILL_KEYS},
        "banner": _banner(safe, summary),
        "measured": summary is not None,
        "findings": _findings(safe.get("findings")),
        "phases": [],
        "failback": None,
        "target_calls": _target_calls(safe.get("target_calls") or []),
        "notes": [str(n) for n in safe.get("notes") or []],
        "judged_by": "",
        "readiness": (
            f"{readiness:.0%} of the last 10 drills passed" if readiness is not None else ""
        ),
        "timeline_src": _png_src(report_dir and report_dir / "timeline.png"),
        "trend_src": _png_src(report_dir and report_dir / "trend.png"),
        "artifacts": _artifacts(report_dir),
        "written": iso(written_ns if written_ns is not None else time.time_ns()),
    }
    if summary is not None:
        context.update(redact(measured_context(summary)))
        v = summary.verdicts
        source = "" if v.objective_source == f"mode {v.mode}" else v.objective_source
        context["judged_by"] = " ".join(
            x for x in (v.mode, f"(RTO/RPO targets from {source})" if source else "") if x
        )
    page: str = _environment().get_template("summary.html.j2").render(context)
    return page

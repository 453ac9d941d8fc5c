"""``summary.md``: one drill as markdown, what an auditor reads.

The headline and the figures (RTO, RPO, the ledger, detection, load), the plan's
metrics table, the findings, the activation phases, the failback section and the
target's control-plane calls by phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from drdrill.records.timeline import iso
from drdrill.report import findings as findings_
from drdrill.report import target_calls
from drdrill.report.metrics_table import as_markdown, human_duration

if TYPE_CHECKING:
    from drdrill.measurement.failback import FailbackFigures
    from drdrill.report.summary import DrillSummary

__all__ = ["failback_markdown", "summary_markdown"]


def summary_markdown(summary: DrillSummary) -> str:
    """The summary of one drill as markdown (``summary.md``)."""
    m = summary.measurements
    lines = [
        f"# DR drill {summary.drill_id}: {summary.headline}",
        "",
        f"- scenario: **{summary.scenario}** ({summary.kind}), target `{summary.target}`"
        + (f", failure mode `{summary.failure_mode}`" if summary.failure_mode else ""),
        f"- started: {iso(summary.started_ns)} by {summary.actor or 'unknown'}"
        + (f", approved by **{summary.approved_by}**" if summary.approved_by else ""),
        f"- RTO: **{human_duration(m.rto_s)}** (resolution {human_duration(m.rto_resolution_s)})",
        f"- RPO: **{human_duration(m.rpo_s) if m.rpo_s else '0 s'}** "
        f"(bounds {m.rpo_bounds.low_s:.3f}–{m.rpo_bounds.high_s:.3f} s); "
        f"{m.ledger.lost} acknowledged write(s) lost of {m.ledger.acked}, "
        f"{m.ledger.in_doubt} in doubt, {m.ledger.never_acked} never acknowledged",
        f"- detection: {human_duration(m.detection_s)}, "
        f"DR activation started: {human_duration(m.confirmation_s)} after the fault",
    ]
    if summary.error:
        lines.append(f"- ended by: {summary.error} (the drill reached `{summary.reached}`)")
    if summary.rollback is not None:
        lines.append(f"- rollback: {summary.rollback.text}")
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
    if summary.load:
        lines.append(
            f"- load (Locust): {summary.load.get('requests', 0)} requests, "
            f"{summary.load.get('requests_per_s', 0)} req/s "
            f"(sustained {summary.load.get('sustained_requests_per_s', '—')}), "
            f"{summary.load.get('failures', 0)} failed"
        )
    if m.user_outages:
        longest = max(o.duration_s for o in m.user_outages)
        lines.append(f"- user-observed outage (Locust): longest {longest:.2f} s")
    lines += ["", "## Test Metrics", "", as_markdown(summary.verdicts)]
    lines += findings_.as_markdown(summary.findings)
    if m.phases:
        lines += ["## Activation phases", "", "| Phase | Duration | Outcome |", "|---|---|---|"]
        lines += [
            f"| {p.name} | {human_duration(p.duration_s)} | {'ok' if p.ok else 'FAILED'} |"
            for p in m.phases
        ]
    if summary.failback is not None:
        lines += failback_markdown(summary.failback)
    if summary.calls:
        lines += ["", *target_calls.as_markdown(summary.calls)]
    lines += [f"- {note}" for note in summary.notes]
    return "\n".join(lines) + "\n"


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

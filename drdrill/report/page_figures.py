"""The measured drill's part of ``summary.html``: its figures as the template shows them.

The plan's metrics with their badges, the activation phases as bars against their
targets, the headline figures, the load, the write ledger with the lost, in-doubt and
discarded writes by id, and the failback section. Each value is text ready to render;
the page redacts them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from drdrill.records.timeline import iso
from drdrill.report.metrics_table import STATUS_LABEL, human_duration

if TYPE_CHECKING:
    from drdrill.measurement.failback import FailbackFigures
    from drdrill.measurement.results import LedgerSummary
    from drdrill.report.summary import DrillSummary

__all__ = ["IDS_SHOWN", "measured_context"]

IDS_SHOWN = 200
"""Lost / in-doubt write ids listed on the page (each group); the rest are in ledger.json."""


def measured_context(summary: DrillSummary) -> dict[str, Any]:
    """The template's context for a measured drill (not redacted yet)."""
    m = summary.measurements
    figures = {
        "rto": human_duration(m.rto_s) if m.rto_s is not None else "not restored",
        "rto_sub": f"to the probe interval ({human_duration(m.rto_resolution_s)})",
        "rpo": human_duration(m.rpo_s) if m.rpo_s else "0 s",
        "rpo_sub": f"bounds {m.rpo_bounds.low_s:.3f}–{m.rpo_bounds.high_s:.3f} s",
    }
    load = None
    if summary.load:
        load = {
            "rate": f"{summary.load.get('requests_per_s', 0)} req/s",
            "sub": f"{summary.load.get('requests', 0)} requests, "
            f"{summary.load.get('failures', 0)} failed",
        }
    return {
        "metrics": [
            {
                "figure": v.figure,
                "title": v.title,
                "target": human_duration(v.target_s),
                "measured": human_duration(v.measured_s),
                "status": v.status,
                "label": STATUS_LABEL[v.status],
                "detail": v.detail,
            }
            for v in summary.verdicts.items
        ],
        "phases": _phases(summary),
        "figures": figures,
        "load": load,
        "failback": None if summary.failback is None else _failback(summary.failback),
        "ledger": _ledger(m.ledger),
    }


def _ids(ids: Sequence[str], count: int) -> tuple[list[str], int]:
    shown = list(ids[:IDS_SHOWN])
    return shown, max(count, len(ids)) - len(shown) if ids else 0


def _phases(summary: DrillSummary) -> list[dict[str, Any]]:
    """The activation phases, each a bar whose full width holds its target."""
    by_figure = summary.verdicts.by_figure()
    phases = []
    for p in summary.measurements.phases:
        verdict = by_figure.get(p.name)
        status = "fail" if not p.ok else (verdict.status if verdict else "none")
        share = p.duration_s / verdict.target_s if verdict and verdict.target_s else None
        scale = max(share or 0.0, 1.0) * 1.05  # the bar's full width, the target inside it
        phases.append(
            {
                "name": p.name,
                "duration": human_duration(p.duration_s),
                "target": human_duration(verdict.target_s) if verdict else "—",
                "status": status,
                "label": "Failed" if not p.ok else STATUS_LABEL.get(status, "Ran"),
                "share": share,
                "share_text": f"{share:.0%}" if share is not None else "",
                "width": round(100 * (share or 0.0) / scale, 1),
                "target_at": round(100 / scale, 1),
            }
        )
    return phases


def _ledger(ledger: LedgerSummary) -> dict[str, Any]:
    """The write ledger's counts, and the writes by id in groups (lost, in doubt, and
    discarded by a restore when there are any)."""
    lost, lost_more = _ids(ledger.lost_ids, ledger.lost)
    doubt, doubt_more = _ids(ledger.in_doubt_ids, ledger.in_doubt)
    discarded, discarded_more = _ids(ledger.discarded_by_restore_ids, ledger.discarded_by_restore)
    return {
        "acked": ledger.acked,
        "lost": ledger.lost,
        "in_doubt": ledger.in_doubt,
        "never_acked": ledger.never_acked,
        "lost_after_fault": ledger.lost_after_fault,
        "discarded_by_restore": ledger.discarded_by_restore,
        "groups": [
            {
                "anchor": "lost-ids",
                "title": "Lost writes (acknowledged, gone)",
                "ids": lost,
                "more": lost_more,
                "count": ledger.lost,
            },
            {
                "anchor": "in-doubt-ids",
                "title": "In-doubt writes (not acknowledged, present)",
                "ids": doubt,
                "more": doubt_more,
                "count": ledger.in_doubt,
            },
            *(
                [
                    {
                        "anchor": "discarded-ids",
                        "title": "Discarded by the restore (acknowledged after the fault)",
                        "ids": discarded,
                        "more": discarded_more,
                        "count": ledger.discarded_by_restore,
                    }
                ]
                if ledger.discarded_by_restore
                else []
            ),
        ],
    }


def _failback(figures: FailbackFigures) -> dict[str, Any]:
    """The failback section: phases vs targets, switchover, traffic steps, lost and
    divergent writes by id."""
    divergent = None if figures.divergent is None else [w.id for w in figures.divergent]
    windows = figures.split_brain
    split = (
        f"both databases accepted writes for {human_duration(figures.split_brain_s)} "
        f"({len(windows)} window(s), the first from {iso(windows[0].start_ns)})"
        if windows
        else "never seen: the write probes never found both databases writable"
    )
    groups = []
    for anchor, title, ids in (
        ("failback-lost-ids", "Writes lost by the failback", list(figures.lost_ids)),
        (
            "divergent-ids",
            "Divergent writes (acknowledged by the old primary after the promotion, "
            "absent from the final primary)",
            divergent,
        ),
    ):
        shown, more = _ids(ids or [], len(ids or []))
        groups.append(
            {"anchor": anchor, "title": title, "ids": None if ids is None else shown, "more": more}
        )
    return {
        "phases": [
            {
                "name": p.name,
                "title": p.title,
                "duration": human_duration(p.seconds),
                "target": human_duration(p.target_s) if p.target_s is not None else "—",
                "status": p.status,
                "label": STATUS_LABEL.get(p.status, "Ran"),
            }
            for p in figures.phases
        ],
        "switchover": human_duration(figures.switchover.seconds),
        "fence_to_writable": human_duration(figures.switchover.target_seconds),
        "switchover_goal": human_duration(figures.switchover_target_s),
        "consistency": figures.consistency_problem or "verified before any traffic moved",
        "split_brain": split,
        "limit": f"{figures.max_step_error_rate:.0%}",
        "steps": [
            {
                "percent": r.percent,
                "requests": r.requests,
                "errors": r.errors,
                "rate": f"{r.rate:.1%}",
                "status": "fail" if r.rate > figures.max_step_error_rate else "pass",
                "source": r.source,
            }
            for r in figures.steps
        ],
        "groups": groups,
    }

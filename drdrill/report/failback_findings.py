"""The findings of a planned failback, from its figures (``drdrill.measurement.failback``).

**Divergent writes** (acknowledged by the old primary after the promotion, absent from
the final primary, by id — ``critical``: customers were told they succeeded), a **split
brain** (both databases accepted writes at once — ``warning``: the cause, the divergent
writes its cost), writes **lost by the failback** (by id — ``critical``: a planned
failback's RPO is 0), a **switchover outage** over its goal and a **traffic step** over
its error-rate limit (``critical``). Part of a drill's findings (``drdrill.report.findings``).
"""

from __future__ import annotations

from drdrill.measurement.failback import FailbackFigures
from drdrill.records.timeline import iso
from drdrill.report.finding import Finding, write_ids
from drdrill.report.metrics_table import human_duration

__all__ = ["failback_findings"]


def failback_findings(figures: FailbackFigures) -> list[Finding]:
    """What the planned failback got wrong (module docstring); empty when nothing."""
    found = []
    divergent = figures.divergent or ()
    if divergent:
        ids = [w.id for w in divergent]
        found.append(
            Finding(
                "critical",
                f"{len(ids)} divergent write(s): acknowledged by the old primary after the "
                "promotion, discarded by the failback",
                len(ids),
                0,
                "clients inside the partitioned region kept writing to the old primary while "
                "DR was promoted (split brain); these are absent from the final primary, "
                "counted before the rewind; "
                + write_ids(ids, len(ids), "summary.json and timeline.jsonl"),
                "writes",
            )
        )
    if figures.split_brain:
        first = figures.split_brain[0]
        found.append(
            Finding(
                "warning",
                "split brain: both databases accepted writes at once",
                round(figures.split_brain_s, 3),
                None,
                f"{len(figures.split_brain)} window(s) seen by the write probes, the first "
                f"from {iso(first.start_ns)} for {human_duration(first.duration_s)}",
                "s",
            )
        )
    if figures.lost_ids:
        found.append(
            Finding(
                "critical",
                f"{len(figures.lost_ids)} write(s) lost by the failback",
                len(figures.lost_ids),
                0,
                "acknowledged, held by DR when the failback began, absent from the final "
                "primary (a planned failback's RPO is 0); "
                + write_ids(figures.lost_ids, len(figures.lost_ids)),
                "writes",
            )
        )
    outage = figures.switchover.seconds
    fence_to_writable = human_duration(figures.switchover.target_seconds)
    if outage is not None and outage > figures.switchover_target_s:
        found.append(
            Finding(
                "critical",
                "switchover outage over its goal",
                outage,
                figures.switchover_target_s,
                f"customers could not place orders for {human_duration(outage)} during the "
                f"switchover (fence → writable {fence_to_writable})",
                "s",
            )
        )
    found += [
        Finding(
            "critical",
            f"error rate over its limit at the {step.percent} % traffic step",
            None,
            None,
            f"{step.errors} of {step.requests} requests failed ({step.rate:.1%}, {step.source}) "
            f"against {figures.max_step_error_rate:.0%}",
        )
        for step in figures.steps
        if step.rate > figures.max_step_error_rate
    ]
    return found

"""Findings: the DR plan's "issues encountered" list, generated from a drill's measurements.

The plan's audit trail asks for the issues encountered and its post-incident review for
what went wrong and the actual vs target RTO/RPO. A drill's findings are exactly that,
computed (pure, from the ``Measurements`` and ``Verdicts`` the drill produced and how it
ended), never typed by hand:

- every **breach**: a figure (RTO, RPO, a phase) that failed its target, a phase whose
  activity failed, a service never restored — ``critical``;
- every **phase over its target** within the plan's "needs improvement" band — ``warning``;
- every **secondary outage after restoration**: a probe outage or a Locust error burst
  that *starts* after ``t_restored`` (the service was back, then failed again) —
  ``warning``;
- **lost writes** (acknowledged at or before the fault, absent now; ``critical`` when the
  RPO failed, else ``warning``), **lost-after-fault writes** (acknowledged after the fault,
  absent: split brain or a broken restore — ``critical``) and **in-doubt writes** (not
  acknowledged yet present: not an error, recorded for the review — ``info``), each by id
  where the ledger has them;
- a drill that **ended early** (aborted, an error, a failed check, a rollback that failed)
  — ``critical`` (a skipped one, its target lacking a capability — ``info``);
- a **rollback incomplete** (the platform not put back, its data left intact for a human:
  ``Rollback``) — ``critical``;
- of a planned failback (``drdrill.measurement.failback``): **divergent writes** (acknowledged
  by the old primary after the promotion, absent from the final primary, by id — ``critical``:
  customers were told they succeeded), a **split brain** (both databases accepted writes
  at once — ``warning``: the cause, the divergent writes its cost), writes **lost by the
  failback** (by id — ``critical``: a planned failback's RPO is 0), a **switchover outage**
  over its goal and a **traffic step** over its error-rate limit (``critical``)
  (``drdrill.report.failback_findings``).

Each finding (``drdrill.report.finding.Finding``) carries ``actual`` and ``target``:
seconds for durations, counts for writes, ``None`` where there is no such figure. The list
is most severe first; empty means the drill found nothing to review, and the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drdrill.measurement.failback import FailbackFigures
from drdrill.measurement.results import Measurements, OutageWindow, Verdict, Verdicts
from drdrill.records.timeline import iso
from drdrill.report.failback_findings import failback_findings
from drdrill.report.finding import SEVERITIES, Finding, write_ids
from drdrill.report.metrics_table import human_duration

__all__ = [
    "NO_FINDINGS",
    "Rollback",
    "as_json",
    "as_markdown",
    "ended_early",
    "findings",
    "rollback_findings",
]

NO_FINDINGS = (
    "No findings: every figure within its target, no secondary outage after restoration, "
    "no write lost or in doubt, and the drill ran to its end."
)

_OBJECTIVES = frozenset({"rto", "rpo"})


@dataclass(frozen=True)
class Rollback:
    """What a drill's rollback (its target's fail back) did, from the audit trail."""

    complete: bool
    how: str
    """What it did (``complete``), else why it stopped short."""

    @classmethod
    def of(cls, records: Sequence[Mapping[str, Any]], error: str | None) -> Rollback:
        """The rollback a drill's audit trail ``records`` tell of (its last ``fail_back``
        that says ``how``); ``error`` the rollback's own error, when it raised one."""
        if error is not None:
            return cls(False, error)
        done = [
            r
            for r in records
            if r.get("action") == "fail_back" and r.get("outcome") == "succeeded" and r.get("how")
        ]
        how = done[-1].get("how") if done else None
        return cls(True, str(how) if how else "the target's fail back succeeded")

    @property
    def text(self) -> str:
        """One line: what it did, or ``rollback incomplete: <why>``."""
        if self.complete or self.how.startswith("rollback incomplete"):
            return self.how
        return f"rollback incomplete: {self.how}"


def findings(
    measurements: Measurements,
    verdicts: Verdicts,
    *,
    outcome: str = "",
    error: str | None = None,
    failback: FailbackFigures | None = None,
    rollback: Rollback | None = None,
) -> tuple[Finding, ...]:
    """Every issue the drill encountered, most severe first (see the module docstring).

    ``outcome``/``error`` are how the drill ended (``DrillSummary.outcome``/``error``):
    an error or an ending other than passed/failed is a finding of its own; ``failback``
    the planned failback's figures, when it ran; ``rollback`` what the rollback did."""
    found: list[Finding] = []
    found += [f for v in verdicts.items if (f := _verdict_finding(v)) is not None]
    found += _secondary_outages(measurements)
    found += _write_findings(measurements, verdicts)
    if failback is not None:
        found += failback_findings(failback)
    found += ended_early(outcome, error)
    found += rollback_findings(rollback)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return tuple(sorted(found, key=lambda f: rank[f.severity]))


def _verdict_finding(verdict: Verdict) -> Finding | None:
    if verdict.status == "pass":
        return None
    title = verdict.title
    against = f"{human_duration(verdict.measured_s)} against {human_duration(verdict.target_s)}"
    source = f" (target from {verdict.source})" if verdict.source else ""
    if verdict.status == "warn":
        return Finding(
            "warning",
            f"{title} over its target (needs improvement)",
            verdict.measured_s,
            verdict.target_s,
            f"{against}{source}, within the plan's needs-improvement margin",
            "s",
        )
    if verdict.figure == "rto" and verdict.measured_s is None:
        what = "RTO breached: the service was never restored within the drill"
    elif verdict.figure in _OBJECTIVES:
        what = f"{title} breached"
    elif verdict.measured_s is not None and verdict.measured_s <= verdict.target_s:
        what = f"{title} phase failed"
    else:
        what = f"{title} over its target"
    detail = f"{against}{source}" + (f"; {verdict.detail}" if verdict.detail else "")
    return Finding("critical", what, verdict.measured_s, verdict.target_s, detail, "s")


def _secondary_outages(measurements: Measurements) -> list[Finding]:
    restored = measurements.t_restored_ns
    if restored is None:
        return []
    found = []
    for source, windows, meaning in (
        ("probes", measurements.outages, "the critical flow failed"),
        ("Locust", measurements.user_outages, "customers' error rate over the threshold"),
    ):
        found += [
            _secondary(source, meaning, window, restored, measurements.t_fault_ns)
            for window in windows
            if window.start_ns > restored
        ]
    return found


def _secondary(
    source: str, meaning: str, window: OutageWindow, restored_ns: int, fault_ns: int | None
) -> Finding:
    after_fault = (
        f"t_fault +{(window.start_ns - fault_ns) / 1e9:.1f} s, " if fault_ns is not None else ""
    )
    return Finding(
        "warning",
        f"secondary outage after restoration ({source})",
        round(window.duration_s, 3),
        None,
        f"{meaning} for {human_duration(window.duration_s)} from {iso(window.start_ns)} "
        f"({after_fault}{(window.start_ns - restored_ns) / 1e9:.1f} s after the service "
        "was restored)",
        "s",
    )


def _write_findings(measurements: Measurements, verdicts: Verdicts) -> list[Finding]:
    ledger = measurements.ledger
    found = []
    if ledger.lost:
        rpo = verdicts.by_figure().get("rpo")
        breached = rpo is not None and rpo.status == "fail"
        found.append(
            Finding(
                "critical" if breached else "warning",
                f"{ledger.lost} acknowledged write(s) lost",
                ledger.lost,
                None,
                f"acknowledged at or before the fault and absent from the database now "
                f"serving ({'over' if breached else 'within'} the RPO target); "
                + write_ids(ledger.lost_ids, ledger.lost),
                "writes",
            )
        )
    if ledger.lost_after_fault:
        found.append(
            Finding(
                "critical",
                f"{ledger.lost_after_fault} write(s) acknowledged after the fault lost",
                ledger.lost_after_fault,
                0,
                "acknowledged after the fault and absent: split brain or a broken restore, "
                "whatever the RPO target; "
                + write_ids(ledger.lost_after_fault_ids, ledger.lost_after_fault),
                "writes",
            )
        )
    if ledger.discarded_by_restore:
        found.append(
            Finding(
                "warning",
                f"{ledger.discarded_by_restore} write(s) discarded by the restore",
                ledger.discarded_by_restore,
                None,
                "acknowledged after the fault by the database that the restore to a point "
                "before the fault replaced: the repair discards them by design (replay them "
                "from the replaced database if they matter); "
                + write_ids(ledger.discarded_by_restore_ids, ledger.discarded_by_restore),
                "writes",
            )
        )
    if ledger.in_doubt:
        found.append(
            Finding(
                "info",
                f"{ledger.in_doubt} write(s) in doubt",
                ledger.in_doubt,
                None,
                "not acknowledged (error or timeout) yet present: a commit whose "
                "acknowledgement was lost on the way back, not a loss; "
                + write_ids(ledger.in_doubt_ids, ledger.in_doubt),
                "writes",
            )
        )
    return found


_ENDINGS = {
    "aborted": "the drill was aborted before its end",
    "error": "the drill stopped on an error",
    "skipped": "the drill was skipped",
}


def ended_early(outcome: str, error: str | None) -> list[Finding]:
    """The finding of a drill that did not run to its end (aborted, an error, a failed
    check or rollback, skipped); none for one that did."""
    if not error and outcome not in _ENDINGS:
        return []
    return [
        Finding(
            "info" if outcome == "skipped" else "critical",
            _ENDINGS.get(outcome, "the drill failed"),
            None,
            None,
            error or "no cause recorded",
        )
    ]


def rollback_findings(rollback: Rollback | None) -> list[Finding]:
    """The finding of a rollback that stopped short of the steady state (none otherwise)."""
    if rollback is None or rollback.complete:
        return []
    reason = rollback.text
    if "data left intact" not in reason:
        reason += "; data left intact for a human"
    return [
        Finding(
            "critical",
            "rollback incomplete: the platform was not put back",
            None,
            None,
            reason,
        )
    ]


def as_json(found: Sequence[Finding]) -> list[dict[str, Any]]:
    """``summary.json``'s ``findings``: a list of {severity, what, actual, target, detail}."""
    return [f.to_json() for f in found]


def as_markdown(found: Sequence[Finding], *, measured: bool = True) -> list[str]:
    """The summary's "Findings" section (its lines, heading included); ``measured``: the
    summary has a Test Metrics table to point at."""
    where = (
        "actual vs target of every figure is in the Test Metrics table"
        if measured
        else "nothing was measured"
    )
    lines = [
        "## Findings",
        "",
        "Issues encountered (the plan's audit trail and post-incident review), most severe "
        f"first; {where}.",
        "",
    ]
    if not found:
        return [*lines, NO_FINDINGS, ""]
    for number, f in enumerate(found, 1):
        figures = ""
        if f.actual is not None or f.target is not None:
            figures = f" — actual {f.shown(f.actual)}"
        if f.target is not None:
            figures += f", target {f.shown(f.target)}"
        detail = f.detail[:1].upper() + f.detail[1:]
        lines.append(f"{number}. **{f.severity}**: {f.what}{figures}. {detail}")
    return [*lines, ""]

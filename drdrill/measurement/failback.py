"""What a planned failback is judged by, computed from the drill's records (pure).

- **switchover outage** — the customer-visible outage of the database switchover: the
  longest run of failed critical-flow samples (place an order, read it back, through
  the global endpoint; ``drdrill.measurement.measure.probe_outages``) that overlaps the
  ``switchover`` phase. 0 when every sample during it succeeded. The target's own
  figure (fence → writable, the ``switchover_outage`` note) is reported beside it.
- **step error rate** — for each traffic step (``traffic_shift_<n>pct``, from its start
  to its end, its hold included): failed / all Locust requests sent in it, or, when
  Locust sent none in it (no Locust, or its run had ended), failed / all critical-flow
  samples.
- **consistency before traffic** — a ``consistency_checked`` note saying consistent,
  recorded before the first traffic step started.
- **lost by the failback** — writes the ledger finds missing from the final primary
  (acknowledged, absent) other than those the consistency check found on neither
  database before the failback moved anything (``lost_before``: lost to the disaster,
  the RPO's business). RPO 0 is the requirement of a planned failback.
- **divergent writes** — acknowledged by the old primary after the promotion and absent
  from the final primary (``drdrill.measurement.split_brain``): the ``divergent_writes`` note the
  drill records when the failed region is restored, counted before the failback's
  rewind discards them. None when the target did not count them.
- **split brain** — the windows during which both databases accepted writes
  (``drdrill.measurement.split_brain.split_brain_windows`` over the write probes).

``failback_figures`` gathers all of these for the report's failback section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drdrill.measurement.measure import Request, phase_timings, probe_outages
from drdrill.measurement.phases import FAILBACK_PHASES, split_step
from drdrill.measurement.results import LedgerSummary, OutageWindow, PhaseTiming, Verdict, Verdicts
from drdrill.measurement.samples import CRITICAL_FLOW, Sample
from drdrill.measurement.split_brain import DivergentWrite, split_brain_windows
from drdrill.records.notes import ConsistencyChecked, DivergentWrites, SwitchoverMeasured
from drdrill.records.timeline import PHASE_START, Timeline

__all__ = [
    "FailbackFigures",
    "FailbackPhase",
    "StepErrorRate",
    "SwitchoverOutage",
    "consistency_before_traffic",
    "divergent_writes",
    "failback_figures",
    "lost_by_failback",
    "step_error_rates",
    "switchover_outage",
]


@dataclass(frozen=True)
class StepErrorRate:
    """The customers' error rate while one traffic step held."""

    name: str
    percent: int
    requests: int
    errors: int
    source: str
    """``locust`` (its requests) or ``probes`` (critical-flow samples, without Locust)."""

    @property
    def rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class SwitchoverOutage:
    """The switchover as customers saw it, and as the target measured it."""

    seconds: float | None
    """The longest critical-flow outage overlapping the switchover (None: no switchover)."""
    window: OutageWindow | None
    target_seconds: float | None
    """Fence → writable, as the target reported it (None: not reported)."""


def switchover_outage(timeline: Timeline, samples: Sequence[Sample]) -> SwitchoverOutage:
    """The switchover's customer-visible outage (module docstring)."""
    timing = next((t for t in phase_timings(timeline) if t.name == "switchover"), None)
    notes = SwitchoverMeasured.read(timeline)
    reported = notes[-1].seconds if notes else None
    if timing is None:
        return SwitchoverOutage(None, None, reported)
    overlapping = [
        w
        for w in probe_outages(samples)
        if w.start_ns <= timing.end_ns and w.end_ns >= timing.start_ns
    ]
    longest = max(overlapping, key=lambda w: w.duration_s, default=None)
    return SwitchoverOutage(longest.duration_s if longest else 0.0, longest, reported)


def step_error_rates(
    timeline: Timeline, samples: Sequence[Sample], requests: Sequence[Request] = ()
) -> tuple[StepErrorRate, ...]:
    """The error rate of each traffic step, in order (module docstring)."""
    rates = []
    for timing in phase_timings(timeline):
        step = split_step(timing.name)
        if step is None:
            continue
        inside = [r.ok for r in requests if timing.start_ns <= r.t_ns < timing.end_ns]
        source = "locust"
        if not inside:
            source = "probes"
            inside = [
                s.ok
                for s in samples
                if s.probe == CRITICAL_FLOW and timing.start_ns <= s.t_ns < timing.end_ns
            ]
        rates.append(StepErrorRate(timing.name, step[1], len(inside), inside.count(False), source))
    return tuple(rates)


def consistency_before_traffic(timeline: Timeline) -> str | None:
    """None when the data was found consistent before the first traffic step started,
    else what went wrong."""
    checks = ConsistencyChecked.read(timeline)
    steps = [e for e in timeline.events(PHASE_START) if split_step(e.name) is not None]
    if not checks:
        return "the data consistency was never checked"
    first_check = checks[0]
    if not first_check.consistent:
        return f"the databases differed: {list(first_check.problems)}"
    if steps and steps[0].t_ns < first_check.t_ns:
        return f"traffic moved ({steps[0].name}) before the data consistency was checked"
    return None


def lost_by_failback(timeline: Timeline, ledger: LedgerSummary) -> tuple[str, ...]:
    """The ids of the writes the failback lost (module docstring), sorted."""
    checks = ConsistencyChecked.read(timeline)
    lost_before = set(checks[0].lost_before) if checks else set()
    missing = {*ledger.lost_ids, *ledger.lost_after_fault_ids}
    return tuple(sorted(missing - lost_before))


def divergent_writes(timeline: Timeline) -> tuple[DivergentWrite, ...] | None:
    """The divergent writes the drill noted (every ``divergent_writes`` note, in
    acknowledgement order); None when none was noted (not counted)."""
    notes = DivergentWrites.read(timeline)
    if not notes:
        return None
    found = {
        w.id: DivergentWrite(w.id, w.ack_ns, w.committed_ns) for note in notes for w in note.writes
    }
    return tuple(sorted(found.values(), key=lambda w: (w.ack_ns, w.id)))


@dataclass(frozen=True)
class FailbackPhase:
    """One failback phase as it ran, against its target."""

    name: str
    title: str
    seconds: float
    target_s: float | None
    status: str
    """``pass``, ``warn``, ``fail`` (its verdict), or ``none`` (not judged)."""


@dataclass(frozen=True)
class FailbackFigures:
    """The report's failback section: everything the planned failback is judged by."""

    phases: tuple[FailbackPhase, ...]
    switchover: SwitchoverOutage
    switchover_target_s: float
    steps: tuple[StepErrorRate, ...]
    max_step_error_rate: float
    lost_ids: tuple[str, ...]
    """Lost by the failback (``lost_by_failback``)."""
    divergent: tuple[DivergentWrite, ...] | None
    """None: the target did not count them."""
    split_brain: tuple[OutageWindow, ...]
    consistency_problem: str | None
    """``consistency_before_traffic``: None when the data was found consistent first."""

    @property
    def split_brain_s(self) -> float:
        return sum(w.duration_s for w in self.split_brain)

    def to_json(self) -> dict[str, Any]:
        outage = self.switchover
        return {
            "phases": [
                {
                    "name": p.name,
                    "seconds": round(p.seconds, 4),
                    "target_s": p.target_s,
                    "status": p.status,
                }
                for p in self.phases
            ],
            "switchover": {
                "customer_visible_s": outage.seconds,
                "fence_to_writable_s": outage.target_seconds,
                "target_s": self.switchover_target_s,
            },
            "steps": [
                {
                    "name": r.name,
                    "percent": r.percent,
                    "requests": r.requests,
                    "errors": r.errors,
                    "rate": round(r.rate, 4),
                    "source": r.source,
                }
                for r in self.steps
            ],
            "max_step_error_rate": self.max_step_error_rate,
            "lost_writes": len(self.lost_ids),
            "lost_ids": list(self.lost_ids),
            "divergent_writes": None if self.divergent is None else len(self.divergent),
            "divergent": None
            if self.divergent is None
            else [
                {"id": w.id, "ack_ns": w.ack_ns, "committed_ns": w.committed_ns}
                for w in self.divergent
            ],
            "split_brain": [
                {"start_ns": w.start_ns, "end_ns": w.end_ns, "seconds": round(w.duration_s, 3)}
                for w in self.split_brain
            ],
            "consistency_problem": self.consistency_problem,
        }


def _phases(phases: Sequence[PhaseTiming], verdicts: Verdicts) -> tuple[FailbackPhase, ...]:
    timed = {p.name: p for p in phases}
    judged: dict[str, Verdict] = verdicts.by_figure()
    result = []
    for phase in FAILBACK_PHASES:
        timing = timed.get(phase.name)
        if timing is None:
            continue
        verdict = judged.get(phase.name)
        status = verdict.status if verdict is not None else ("none" if timing.ok else "fail")
        result.append(
            FailbackPhase(
                phase.name,
                phase.title,
                timing.duration_s,
                verdict.target_s if verdict is not None else None,
                status,
            )
        )
    return tuple(result)


def failback_figures(
    timeline: Timeline,
    samples: Sequence[Sample],
    requests: Sequence[Request],
    phases: Sequence[PhaseTiming],
    verdicts: Verdicts,
    ledger: LedgerSummary,
    *,
    switchover_target_s: float,
    max_step_error_rate: float,
) -> FailbackFigures | None:
    """The failback section of one drill (module docstring); None when no failback phase
    ran (an activation-only or partial drill)."""
    timed = _phases(phases, verdicts)
    if not timed:
        return None
    return FailbackFigures(
        phases=timed,
        switchover=switchover_outage(timeline, samples),
        switchover_target_s=switchover_target_s,
        steps=step_error_rates(timeline, samples, requests),
        max_step_error_rate=max_step_error_rate,
        lost_ids=lost_by_failback(timeline, ledger),
        divergent=divergent_writes(timeline),
        split_brain=split_brain_windows(samples),
        consistency_problem=consistency_before_traffic(timeline),
    )

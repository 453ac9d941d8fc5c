"""What a planned failback is judged by, computed from the drill's records (pure).

- **switchover outage** — the customer-visible outage of the database switchover: the
  longest run of failed critical-flow samples (place an order, read it back, through
  the global endpoint; ``drdrill.measure.probe_outages``) that overlaps the
  ``switchover`` phase. 0 when every sample during it succeeded. The target's own
  figure (fence → writable, the ``switchover_outage`` note) is reported beside it.
- **step error rate** — for each traffic step (``traffic_shift_<n>pct``, from its start
  to its end, its hold included): failed / all Locust requests sent in it, or, without
  Locust, failed / all critical-flow samples.
- **consistency before traffic** — a ``consistency_checked`` note saying consistent,
  recorded before the first traffic step started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drdrill.measure import Request, phase_timings, probe_outages
from drdrill.phases import split_step
from drdrill.results import OutageWindow
from drdrill.sampling import CRITICAL_FLOW, Sample
from drdrill.timeline import NOTE, PHASE_START, Timeline

__all__ = [
    "StepErrorRate",
    "SwitchoverOutage",
    "consistency_before_traffic",
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
    notes = [e for e in timeline.events(NOTE) if e.name == "switchover_outage"]
    reported = float(notes[-1].detail["seconds"]) if notes else None
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
        if not requests:
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
    checks = [e for e in timeline.events(NOTE) if e.name == "consistency_checked"]
    steps = [e for e in timeline.events(PHASE_START) if split_step(e.name) is not None]
    if not checks:
        return "the data consistency was never checked"
    first_check = checks[0]
    if not first_check.detail.get("consistent"):
        return f"the databases differed: {first_check.detail.get('problems')}"
    if steps and steps[0].t_ns < first_check.t_ns:
        return f"traffic moved ({steps[0].name}) before the data consistency was checked"
    return None

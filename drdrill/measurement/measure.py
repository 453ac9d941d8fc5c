"""Measurements: pure functions from a timeline, probe samples and a reconciled ledger.

Definitions (docs/measurements.md), with the choices made where they are open:

- ``t_fault``: the first FAULT_INJECTED event (when the injection returned success).
- ``t_restored``: the send time of the first critical-flow sample after ``t_fault``
  that opens a window of ``stable_for`` in which every critical-flow sample
  succeeded. The window must be fully observed (a sample at or past its end).
  A sample counts as succeeded only if it also answered within ``slow_after``
  (default 100 ms): otherwise a request sent while a region was frozen, that
  completes when it thaws, would date the restoration up to a timeout early.
  When the drill records a RESTORED event after the fault (a data-corruption or
  ransomware recovery, where the flows may "work" on bad data all along), the
  window is looked for from that event on.
- RTO = ``t_restored − t_fault``, to the probe interval.
- detection: ``t_fault`` → the first failed critical-flow (or health) sample.
- confirmation: ``t_fault`` → the first PHASE_START after it (DR activation start).
- phases: PHASE_START/PHASE_END pairs by name; ``ok`` from the end event's detail.
- probe outages: maximal runs of failed critical-flow samples, from the first
  failed sample's send time to the next successful sample's send time.
- user-observed outage: per-request records bucketed at 100 ms; a bucket with at
  least one request and an error rate above the threshold is down; runs of down
  buckets merge (empty buckets neither break nor extend a run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drdrill.config import MeasurementSettings
from drdrill.measurement.ledger import Reconciliation, rpo
from drdrill.measurement.phases import split_step
from drdrill.measurement.results import (
    Bounds,
    LedgerSummary,
    Measurements,
    OutageWindow,
    PhaseTiming,
)
from drdrill.measurement.samples import CRITICAL_FLOW, HEALTH, Sample
from drdrill.records.timeline import FAULT_INJECTED, PHASE_END, PHASE_START, RESTORED, Timeline

__all__ = [
    "BUCKET_NS",
    "Request",
    "declared_restore",
    "find_restored",
    "measure",
    "phase_timings",
    "probe_outages",
    "restoration_search_start",
    "user_outages",
]

BUCKET_NS = 100_000_000


@dataclass(frozen=True)
class Request:
    """One load-test request (from Locust's request hook)."""

    t_ns: int
    ok: bool


def _critical(samples: Iterable[Sample], slow_after: float | None = None) -> list[Sample]:
    """Critical-flow samples in time order; slower than ``slow_after`` counts as failed."""
    picked = sorted((s for s in samples if s.probe == CRITICAL_FLOW), key=lambda s: s.t_ns)
    if slow_after is None:
        return picked
    return [
        s
        if not s.ok or s.latency_s <= slow_after
        else Sample(s.t_ns, s.probe, False, s.latency_s, "slow")
        for s in picked
    ]


def find_restored(
    samples: Iterable[Sample],
    after_ns: int,
    stable_for_s: float,
    slow_after: float | None = None,
) -> int | None:
    """Start of the first fully observed all-green window of ``stable_for_s`` after ``after_ns``."""
    window_ns = int(stable_for_s * 1e9)
    run_start: int | None = None
    for sample in _critical(samples, slow_after):
        if sample.t_ns < after_ns:
            continue
        if not sample.ok:
            run_start = None
            continue
        if run_start is None:
            run_start = sample.t_ns
        if sample.t_ns - run_start >= window_ns:
            return run_start
    return None


def declared_restore(timeline: Timeline, t_fault_ns: int) -> int | None:
    """When the recovery first declared a restored database serving at or after the fault
    (data disasters); None when it declared none."""
    declared = [e.t_ns for e in timeline.events(RESTORED) if e.t_ns >= t_fault_ns]
    return min(declared) if declared else None


def restoration_search_start(timeline: Timeline, t_fault_ns: int) -> int:
    """Where the search for ``t_restored`` starts: the restore the recovery declared
    (data disasters, where flows "work" on bad data), else the fault itself. Both the
    live wait and the measurement use this."""
    declared = declared_restore(timeline, t_fault_ns)
    return t_fault_ns if declared is None else declared


def probe_outages(
    samples: Iterable[Sample], slow_after: float | None = None
) -> tuple[OutageWindow, ...]:
    """Runs of failed (or slow) critical-flow samples."""
    windows: list[OutageWindow] = []
    start: int | None = None
    last_failed = 0
    for sample in _critical(samples, slow_after):
        if not sample.ok:
            start = sample.t_ns if start is None else start
            last_failed = sample.t_ns
        elif start is not None:
            windows.append(OutageWindow(start, sample.t_ns))
            start = None
    if start is not None:
        windows.append(OutageWindow(start, last_failed))
    return tuple(windows)


def user_outages(
    requests: Iterable[Request], threshold: float, bucket_ns: int = BUCKET_NS
) -> tuple[OutageWindow, ...]:
    """Spans of 100 ms buckets whose error rate exceeds ``threshold``."""
    buckets: dict[int, list[int]] = {}
    for request in requests:
        counts = buckets.setdefault(request.t_ns // bucket_ns, [0, 0])
        counts[0] += 1
        counts[1] += 0 if request.ok else 1
    windows: list[OutageWindow] = []
    current: list[int] | None = None
    for index in sorted(buckets):
        total, failed = buckets[index]
        if failed / total > threshold:
            if current is None:
                current = [index, index]
            else:
                current[1] = index
        elif current is not None:
            windows.append(OutageWindow(current[0] * bucket_ns, (current[1] + 1) * bucket_ns))
            current = None
    if current is not None:
        windows.append(OutageWindow(current[0] * bucket_ns, (current[1] + 1) * bucket_ns))
    return tuple(windows)


def phase_timings(timeline: Timeline) -> tuple[PhaseTiming, ...]:
    """Each phase (or phase step) that started and ended, in start order; a phase done in
    steps also as a whole: its first step's start to its last step's end, ok when every
    step was (``drdrill.measurement.phases``)."""
    ends: dict[str, Mapping[str, Any]] = {}
    end_times: dict[str, int] = {}
    for event in timeline.events(PHASE_END):
        end_times.setdefault(event.name, event.t_ns)
        ends.setdefault(event.name, event.detail)
    result = []
    for event in timeline.events(PHASE_START):
        if event.name in end_times:
            ok = bool(ends[event.name].get("ok", True))
            result.append(PhaseTiming(event.name, event.t_ns, end_times[event.name], ok))
    steps: dict[str, list[PhaseTiming]] = {}
    for timing in result:
        step = split_step(timing.name)
        if step is not None:
            steps.setdefault(step[0], []).append(timing)
    for phase, timed in steps.items():
        if not any(t.name == phase for t in result):
            result.append(
                PhaseTiming(
                    phase,
                    min(t.start_ns for t in timed),
                    max(t.end_ns for t in timed),
                    all(t.ok for t in timed),
                )
            )
    # a stepped phase before its first step
    return tuple(sorted(result, key=lambda t: (t.start_ns, split_step(t.name) is not None)))


def measure(
    timeline: Timeline,
    samples: Sequence[Sample],
    settings: MeasurementSettings,
    reconciliation: Reconciliation | None = None,
    requests: Sequence[Request] = (),
) -> Measurements:
    """Every figure of one drill (see the module docstring for the definitions)."""
    fault = timeline.first(FAULT_INJECTED)
    t_fault = fault.t_ns if fault else None
    t_restored = None
    detection = confirmation = None
    if t_fault is not None:
        t_restored = find_restored(
            samples,
            restoration_search_start(timeline, t_fault),
            settings.stable_for,
            settings.slow_after,
        )
        failed = [
            s.t_ns
            for s in samples
            if s.probe in (CRITICAL_FLOW, HEALTH) and not s.ok and s.t_ns >= t_fault
        ]
        detection = (min(failed) - t_fault) / 1e9 if failed else None
        starts = [e.t_ns for e in timeline.events(PHASE_START) if e.t_ns >= t_fault]
        confirmation = (min(starts) - t_fault) / 1e9 if starts else None
    if reconciliation is not None and t_fault is not None:
        rpo_s, bounds = rpo(reconciliation)
        ledger = reconciliation.summary()
    else:
        rpo_s, bounds = 0.0, Bounds(0.0, 0.0)
        ledger = reconciliation.summary() if reconciliation else LedgerSummary(0, 0, 0, 0)
    critical = _critical(samples)
    if requests:
        error_rate = sum(not r.ok for r in requests) / len(requests)
    else:
        error_rate = sum(not s.ok for s in critical) / len(critical) if critical else 0.0
    return Measurements(
        t_fault_ns=t_fault,
        t_restored_ns=t_restored,
        rto_s=None if t_restored is None or t_fault is None else (t_restored - t_fault) / 1e9,
        rto_resolution_s=settings.probe_interval,
        detection_s=detection,
        confirmation_s=confirmation,
        rpo_s=rpo_s,
        rpo_bounds=bounds,
        ledger=ledger,
        phases=phase_timings(timeline),
        outages=probe_outages(samples, settings.slow_after),
        user_outages=user_outages(requests, settings.error_threshold),
        error_rate=error_rate,
        samples=len(samples),
    )

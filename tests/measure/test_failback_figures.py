"""The failback's figures on hand-made timelines (pure code, no I/O)."""

from __future__ import annotations

import pytest

from drdrill.measurement.failback import (
    consistency_before_traffic,
    step_error_rates,
    switchover_outage,
)
from drdrill.measurement.measure import Request
from drdrill.measurement.samples import CRITICAL_FLOW, HEALTH, Sample
from drdrill.records.timeline import NOTE, PHASE_END, PHASE_START, Timeline

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S


def flow(down: list[tuple[int, int]], until: int, every: int = 100 * MS) -> list[Sample]:
    """Critical-flow samples every ``every`` ns from T0, failing in each [from, to) of
    ``down`` (milliseconds after T0)."""
    return [
        Sample(T0 + t, CRITICAL_FLOW, not any(a * MS <= t < b * MS for a, b in down), 0.01)
        for t in range(0, until, every)
    ]


def phase(timeline: Timeline, name: str, start_ms: int, end_ms: int, ok: bool = True) -> None:
    timeline.record(PHASE_START, name, t_ns=T0 + start_ms * MS)
    timeline.record(PHASE_END, name, t_ns=T0 + end_ms * MS, ok=ok)


def test_the_switchover_outage_is_the_longest_probe_outage_overlapping_it() -> None:
    timeline = Timeline()
    phase(timeline, "switchover", 5_000, 6_000)
    timeline.record(NOTE, "switchover_outage", t_ns=T0 + 6 * S, seconds=0.25)
    # an outage long before (not the switchover's), a short one and a longer one inside it
    samples = flow([(1_000, 3_000), (5_100, 5_200), (5_400, 5_700)], 8 * S)

    outage = switchover_outage(timeline, samples)

    assert outage.seconds == pytest.approx(0.3)
    assert outage.window is not None and outage.window.start_ns == T0 + 5_400 * MS
    assert outage.target_seconds == 0.25


def test_no_failed_sample_during_the_switchover_is_no_outage_and_no_switchover_is_none() -> None:
    timeline = Timeline()
    phase(timeline, "switchover", 5_000, 6_000)
    assert switchover_outage(timeline, flow([(1_000, 2_000)], 8 * S)).seconds == 0.0
    assert switchover_outage(Timeline(), flow([], 8 * S)).seconds is None


def test_each_traffic_step_has_its_own_error_rate_from_locust_else_from_probes() -> None:
    timeline = Timeline()
    phase(timeline, "traffic_shift_10pct", 1_000, 2_000)
    phase(timeline, "traffic_shift_100pct", 2_000, 3_000, ok=False)
    phase(timeline, "switchover", 3_000, 3_500)
    requests = [Request(T0 + t * MS, ok=t != 1_500) for t in range(1_000, 3_500, 100)]

    by_locust = step_error_rates(timeline, [], requests)
    assert [(r.name, r.percent, r.requests, r.errors, r.source) for r in by_locust] == [
        ("traffic_shift_10pct", 10, 10, 1, "locust"),
        ("traffic_shift_100pct", 100, 10, 0, "locust"),
    ]
    assert by_locust[0].rate == pytest.approx(0.1)

    samples = [*flow([(2_000, 2_500)], 4 * S), Sample(T0 + 2_050 * MS, HEALTH, False, 0.1)]
    by_probes = step_error_rates(timeline, samples)
    assert [(r.requests, r.errors, r.source) for r in by_probes] == [
        (10, 0, "probes"),
        (10, 5, "probes"),
    ]


def test_consistency_must_be_checked_and_found_before_the_first_traffic_step() -> None:
    assert consistency_before_traffic(Timeline()) == "the data consistency was never checked"

    good = Timeline()
    good.record(NOTE, "consistency_checked", t_ns=T0, consistent=True)
    phase(good, "traffic_shift_10pct", 1_000, 2_000)
    assert consistency_before_traffic(good) is None

    late = Timeline()
    phase(late, "traffic_shift_10pct", 1_000, 2_000)
    late.record(NOTE, "consistency_checked", t_ns=T0 + 3 * S, consistent=True)
    assert "traffic moved (traffic_shift_10pct) before" in str(consistency_before_traffic(late))

    differing = Timeline()
    differing.record(NOTE, "consistency_checked", t_ns=T0, consistent=False, problems=["x"])
    assert consistency_before_traffic(differing) == "the databases differed: ['x']"

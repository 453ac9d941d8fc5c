"""RTO, RPO and friends on hand-made timelines (pure code, no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drdrill.config import MeasurementSettings
from drdrill.measurement.ledger import Reconciliation, Write, rpo
from drdrill.measurement.measure import Request, find_restored, measure, probe_outages, user_outages
from drdrill.measurement.samples import CRITICAL_FLOW, Sample
from drdrill.records.timeline import FAULT_INJECTED, PHASE_END, PHASE_START, Timeline

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S
SETTINGS = MeasurementSettings(probe_interval=0.1, stable_for=1.0)


def flow(down_from: int, down_to: int, until: int, every: int = 100 * MS) -> list[Sample]:
    """Critical-flow samples every ``every`` ns from T0, failing in [down_from, down_to)."""
    return [
        Sample(T0 + t, CRITICAL_FLOW, not (down_from <= t < down_to), 0.01)
        for t in range(0, until, every)
    ]


def fault_at(t: int) -> Timeline:
    timeline = Timeline()
    timeline.record(FAULT_INJECTED, "primary", t_ns=T0 + t)
    return timeline


def test_rto_is_fault_to_start_of_first_stable_window() -> None:
    samples = flow(2 * S, 5 * S, 10 * S)
    m = measure(fault_at(2 * S - 30 * MS), samples, SETTINGS)

    assert m.t_restored_ns == T0 + 5 * S
    assert m.rto_s == pytest.approx(3.03)
    assert m.rto_resolution_s == pytest.approx(0.1)
    assert m.detection_s == pytest.approx(0.03)


def test_a_flapping_recovery_restores_only_after_a_full_stable_window() -> None:
    samples = flow(2 * S, 5 * S, 12 * S)
    # one failure 0.5 s into the first green run: that run is not the restoration
    samples = [
        s if s.t_ns != T0 + 5_500 * MS else Sample(s.t_ns, s.probe, False, 1.0) for s in samples
    ]

    assert find_restored(samples, T0 + 2 * S, 1.0) == T0 + 5_600 * MS


def test_never_restored_gives_no_rto() -> None:
    m = measure(fault_at(1 * S), flow(1 * S, 99 * S, 10 * S), SETTINGS)
    assert m.rto_s is None
    assert m.t_restored_ns is None


def test_window_not_fully_observed_is_not_restoration() -> None:
    assert find_restored(flow(1 * S, 2 * S, 2_800 * MS), T0, 1.0) is None


def test_phases_and_confirmation_come_from_phase_events() -> None:
    timeline = fault_at(1 * S)
    timeline.record(PHASE_START, "assessment", t_ns=T0 + 1_200 * MS)
    timeline.record(PHASE_END, "assessment", t_ns=T0 + 1_700 * MS, ok=True)
    timeline.record(PHASE_START, "database_promotion", t_ns=T0 + 2 * S)
    timeline.record(PHASE_END, "database_promotion", t_ns=T0 + 2_150 * MS, ok=False)

    m = measure(timeline, flow(1 * S, 3 * S, 6 * S), SETTINGS)

    assert m.confirmation_s == pytest.approx(0.2)
    assert [(p.name, round(p.duration_s, 3), p.ok) for p in m.phases] == [
        ("assessment", 0.5, True),
        ("database_promotion", 0.15, False),
    ]


def test_a_phase_done_in_steps_lasts_from_its_first_step_to_its_last() -> None:
    timeline = fault_at(1 * S)
    for percent, start, end, ok in [(10, 2_000, 2_300, True), (50, 2_400, 2_900, False)]:
        timeline.record(PHASE_START, f"traffic_shift_{percent}pct", t_ns=T0 + start * MS)
        timeline.record(PHASE_END, f"traffic_shift_{percent}pct", t_ns=T0 + end * MS, ok=ok)
    timeline.record(PHASE_START, "switchover", t_ns=T0 + 3 * S)
    timeline.record(PHASE_END, "switchover", t_ns=T0 + 3_100 * MS, ok=True)

    m = measure(timeline, flow(1 * S, 3 * S, 6 * S), SETTINGS)

    assert [(p.name, round(p.duration_s, 3), p.ok) for p in m.phases] == [
        ("traffic_shift", 0.9, False),
        ("traffic_shift_10pct", 0.3, True),
        ("traffic_shift_50pct", 0.5, False),
        ("switchover", 0.1, True),
    ]


def test_probe_outages_span_first_failure_to_next_success() -> None:
    windows = probe_outages(flow(1 * S, 2 * S, 4 * S))
    assert [(w.start_ns - T0, w.end_ns - T0) for w in windows] == [(1 * S, 2 * S)]


def test_user_outage_is_buckets_over_the_error_threshold() -> None:
    requests = [Request(T0 + i * 10 * MS, not (100 <= i < 150)) for i in range(300)]
    # half-failed bucket at the edge: 5 of 10 failed is not above 0.5
    requests += [Request(T0 + 1_505 * MS, False)]

    windows = user_outages(requests, threshold=0.5)

    assert [(w.start_ns - T0, w.end_ns - T0) for w in windows] == [(1 * S, 1_500 * MS)]


def writes(acks: list[int | None]) -> list[Write]:
    return [
        Write(f"w{i}", "canary", i, T0 + i * 50 * MS, None if a is None else T0 + a)
        for i, a in enumerate(acks)
    ]


def test_rpo_is_fault_minus_last_survivor_before_first_lost() -> None:
    ws = writes([10 * MS, 60 * MS, 110 * MS, 160 * MS, None])
    present = frozenset({"w0", "w1", "w4"})  # w2, w3 lost; w4 unacked but present
    rec = Reconciliation(tuple(ws), present, T0 + 200 * MS)

    value, bounds = rpo(rec)
    summary = rec.summary()

    assert value == pytest.approx(0.14)
    assert (bounds.low_s, bounds.high_s) == (pytest.approx(0.09), pytest.approx(0.14))
    assert (summary.acked, summary.lost, summary.in_doubt, summary.never_acked) == (4, 2, 1, 0)
    assert summary.lost_ids == ("w2", "w3")


def test_a_write_acked_after_the_fault_and_missing_is_flagged_not_hidden() -> None:
    rec = Reconciliation(tuple(writes([10 * MS, 900 * MS])), frozenset({"w0"}), T0 + 500 * MS)
    summary = rec.summary()
    assert (summary.lost, summary.lost_after_fault) == (0, 1)
    assert summary.lost_after_fault_ids == ("w1",)
    assert rpo(rec)[0] == 0.0


def test_writes_a_restore_to_before_the_fault_replaced_are_discarded_not_lost_after() -> None:
    # fault at 500 ms (a bad change); the restored database serves from 1 000 ms on
    acks = [10 * MS, 400 * MS, 600 * MS, 950 * MS, 1_000 * MS, 1_200 * MS, 1_300 * MS]
    present = frozenset({"w0", "w5"})  # w1 lost before the fault, w6 lost after the restore
    rec = Reconciliation(tuple(writes(acks)), present, T0 + 500 * MS, T0 + 1_000 * MS)
    summary = rec.summary()

    assert summary.lost_ids == ("w1",)
    assert summary.discarded_by_restore_ids == ("w2", "w3", "w4")
    assert summary.discarded_by_restore == 3
    assert summary.lost_after_fault_ids == ("w6",)  # after the restore: a broken restore
    assert rpo(rec)[0] == pytest.approx(0.49)  # the RPO is the writes before the fault
    # without a declared restore the same writes are lost after the fault
    unrestored = Reconciliation(tuple(writes(acks)), present, T0 + 500 * MS).summary()
    assert unrestored.lost_after_fault_ids == ("w2", "w3", "w4", "w6")
    assert unrestored.discarded_by_restore == 0


@settings(max_examples=200, deadline=None)
@given(
    down_from=st.integers(1, 50),
    down_len=st.integers(0, 60),
    fault_offset_ms=st.integers(0, 99),
)
def test_rto_never_negative_and_never_below_true_outage_minus_one_interval(
    down_from: int, down_len: int, fault_offset_ms: int
) -> None:
    start, end = down_from * 100 * MS, (down_from + down_len) * 100 * MS
    fault = start - 100 * MS + fault_offset_ms * MS
    m = measure(fault_at(fault), flow(start, end, end + 3 * S), SETTINGS)

    assert m.rto_s is not None
    assert m.rto_s >= 0
    true_outage = (end - fault) / 1e9 if down_len else 0.0
    assert m.rto_s >= true_outage - SETTINGS.probe_interval
    assert m.rto_s <= true_outage + SETTINGS.probe_interval


@settings(max_examples=300, deadline=None)
@given(
    latencies=st.lists(st.one_of(st.none(), st.integers(1, 2_000)), min_size=1, max_size=40),
    lost_mask=st.lists(st.booleans(), min_size=40, max_size=40),
    fault=st.integers(0, 3_000),
)
def test_rpo_zero_iff_nothing_lost_and_in_doubt_never_counted_lost(
    latencies: list[int | None], lost_mask: list[bool], fault: int
) -> None:
    # write i is sent at i * 50 ms and acknowledged ``latency`` ms later (or never)
    ws = [
        Write(
            f"w{i}",
            "canary",
            i,
            T0 + i * 50 * MS,
            None if lat is None else T0 + (i * 50 + lat) * MS,
        )
        for i, lat in enumerate(latencies)
    ]
    present = frozenset(w.id for w, gone in zip(ws, lost_mask, strict=False) if not gone)
    rec = Reconciliation(tuple(ws), present, T0 + fault * MS)

    value, bounds = rpo(rec)
    summary = rec.summary()

    assert (value == 0) == (summary.lost == 0)
    assert value >= 0
    assert 0 <= bounds.low_s <= bounds.high_s == pytest.approx(value) or summary.lost == 0
    assert not set(summary.in_doubt_ids) & set(summary.lost_ids)
    survivors = sum(w.ack_ns is not None and w.id in present for w in ws)
    assert summary.lost + summary.lost_after_fault + survivors == summary.acked


def test_a_request_that_only_completes_when_a_frozen_region_thaws_is_not_restoration() -> None:
    # frozen from 1 s to 2 s: samples sent at 1.6..1.9 s hang until 2 s, then succeed
    samples = flow(1 * S, 1_600 * MS, 5 * S)
    samples = [
        Sample(s.t_ns, s.probe, True, (2 * S - (s.t_ns - T0)) / 1e9 + 0.01)
        if 1_600 * MS <= s.t_ns - T0 < 2 * S
        else s
        for s in samples
    ]

    assert find_restored(samples, T0 + 1 * S, 1.0) == T0 + 1_600 * MS  # without the rule
    assert find_restored(samples, T0 + 1 * S, 1.0, slow_after=0.1) == T0 + 2 * S
    m = measure(fault_at(1 * S), samples, SETTINGS)
    assert m.rto_s == pytest.approx(1.0)

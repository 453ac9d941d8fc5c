"""The report's failback section from a hand-made round trip (pure code: a timeline, probe
samples, Locust requests and a reconciled ledger, all made up here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from drdrill.config import DrillConfig, load_config
from drdrill.measurement.failback import FailbackFigures, failback_figures, lost_by_failback
from drdrill.measurement.measure import Request, phase_timings
from drdrill.measurement.results import Bounds, LedgerSummary, Measurements
from drdrill.measurement.samples import CRITICAL_FLOW, Sample, accepts_writes_probe
from drdrill.measurement.verdict import judge
from drdrill.records.timeline import NOTE, PHASE_END, PHASE_START, Timeline
from drdrill.report.history import append_history, read_history
from drdrill.report.summary import DrillSummary, write_summary

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S
DIVERGENT = ("in-region-primary-a-7", "in-region-primary-a-3", "in-region-primary-a-9")
"""Acknowledged in this order: -7 first (the section lists them by acknowledgement)."""

FAILBACK = (
    ("prepare_primary", 10_000, 12_000),
    ("verify_primary", 12_000, 13_000),
    ("traffic_shift_10pct", 13_000, 14_000),
    ("traffic_shift_50pct", 14_000, 15_000),
    ("traffic_shift_100pct", 15_000, 16_000),
    ("switchover", 16_000, 16_500),
    ("scale_down_dr", 16_500, 17_000),
    ("validate_dr", 17_000, 17_500),
)


def round_trip(divergent: bool = True) -> Timeline:
    """Fault at T0, DR promoted at 3 s, primary restored at 9 s, failback 10-17.5 s."""
    timeline = Timeline()
    timeline.record("fault_injected", "primary", t_ns=T0, mode="partition")
    if divergent:
        timeline.record(
            NOTE,
            "divergent_writes",
            t_ns=T0 + 9 * S,
            region="primary",
            count=3,
            writes=[
                {"id": i, "ack_ns": T0 + (4 + n) * S, "committed_ns": T0 + (4 + n) * S - MS}
                for n, i in enumerate(DIVERGENT)
            ],
        )
    for name, start, end in FAILBACK:
        timeline.record(PHASE_START, name, t_ns=T0 + start * MS)
        timeline.record(PHASE_END, name, t_ns=T0 + end * MS, ok=True)
    timeline.record(
        NOTE,
        "consistency_checked",
        t_ns=T0 + 12_900 * MS,
        consistent=True,
        lost_before=["canary-lost-in-the-fault"],
        problems=[],
    )
    timeline.record(NOTE, "switchover_outage", t_ns=T0 + 16_500 * MS, seconds=0.12)
    return timeline


def samples() -> list[Sample]:
    """Critical flow every 100 ms failing 16.1-16.4 s (the switchover); the write probes:
    primary accepting until the fence at 9 s, dr from its promotion at 3 s."""
    found = [
        Sample(T0 + t * MS, CRITICAL_FLOW, not 16_100 <= t < 16_400, 0.01)
        for t in range(-2_000, 20_000, 100)
    ]
    for region, accepting in (("primary", (0, 9_000)), ("dr", (3_000, 30_000))):
        found += [
            Sample(
                T0 + t * MS, accepts_writes_probe(region), accepting[0] <= t < accepting[1], 0.003
            )
            for t in range(-2_000, 20_000, 200)
        ]
    return found


def requests() -> list[Request]:
    """Ten requests per 100 ms through the failback; 4 fail in the 50 % step."""
    failing = {T0 + t * MS for t in (14_100, 14_200, 14_300, 14_400)}
    return [
        Request(T0 + t * MS + i * 10 * MS, T0 + t * MS + i * 10 * MS not in failing)
        for t in range(10_000, 18_000, 100)
        for i in range(10)
    ]


LEDGER = LedgerSummary(
    acked=500,
    lost=2,
    in_doubt=0,
    never_acked=3,
    lost_ids=("canary-lost-in-the-fault", "canary-lost-by-failback"),
)


def figures(timeline: Timeline, config: DrillConfig) -> FailbackFigures | None:
    measured = measurements(timeline)
    return failback_figures(
        timeline,
        samples(),
        requests(),
        measured.phases,
        judge(measured, config),
        LEDGER,
        switchover_target_s=config.failback.switchover_outage,
        max_step_error_rate=config.failback.max_step_error_rate,
    )


def measurements(timeline: Timeline) -> Measurements:
    return Measurements(
        t_fault_ns=T0,
        t_restored_ns=T0 + 4 * S,
        rto_s=4.0,
        rto_resolution_s=0.1,
        detection_s=0.05,
        confirmation_s=0.1,
        rpo_s=0.1,
        rpo_bounds=Bounds(0.05, 0.1),
        ledger=LEDGER,
        phases=phase_timings(timeline),
    )


def summary(tmp_path: Path, timeline: Timeline) -> DrillSummary:
    config = load_config(root=tmp_path)
    measured = measurements(timeline)
    return DrillSummary(
        drill_id="d-fb",
        scenario="region_failure",
        kind="full",
        target="lab",
        started_ns=T0 - 10 * S,
        failure_mode="partition",
        measurements=measured,
        verdicts=judge(measured, config),
        failback=figures(timeline, config),
    )


def test_the_failback_figures_gather_phases_switchover_steps_and_writes(tmp_path: Path) -> None:
    found = figures(round_trip(), load_config(root=tmp_path))

    assert found is not None
    assert [p.name for p in found.phases] == [
        "prepare_primary",
        "verify_primary",
        "traffic_shift",
        "switchover",
        "scale_down_dr",
        "validate_dr",
    ]
    assert [p.status for p in found.phases] == ["pass"] * 6  # the plan's targets are days
    assert found.phases[2].seconds == 3.0  # first step's start to the last step's end
    assert found.switchover.seconds == pytest.approx(0.3)
    assert found.switchover.target_seconds == 0.12
    assert [(r.percent, r.requests, r.errors) for r in found.steps] == [
        (10, 100, 0),
        (50, 100, 4),
        (100, 100, 0),
    ]
    assert found.lost_ids == ("canary-lost-by-failback",)
    assert found.divergent is not None
    assert [w.id for w in found.divergent] == list(DIVERGENT)
    assert [(w.start_ns - T0, w.end_ns - T0) for w in found.split_brain] == [(3 * S, 9 * S)]
    assert found.consistency_problem is None


def test_a_step_locust_sent_nothing_in_is_measured_by_the_probes(tmp_path: Path) -> None:
    config = load_config(root=tmp_path)
    timeline = round_trip()
    measured = measurements(timeline)
    early = [r for r in requests() if r.t_ns < T0 + 14 * S]  # Locust's run ended in the 50 % step
    found = failback_figures(
        timeline,
        samples(),
        early,
        measured.phases,
        judge(measured, config),
        LEDGER,
        switchover_target_s=1.0,
        max_step_error_rate=0.05,
    )
    assert found is not None
    assert [(r.percent, r.requests, r.source) for r in found.steps] == [
        (10, 100, "locust"),
        (50, 10, "probes"),
        (100, 10, "probes"),
    ]


def test_writes_lost_by_the_failback_leave_out_those_lost_to_the_disaster() -> None:
    timeline = round_trip()
    after_fault = LedgerSummary(
        500, 1, 0, 0, lost_ids=("canary-lost-in-the-fault",), lost_after_fault=1,
        lost_after_fault_ids=("canary-after-the-fault",),
    )  # fmt: skip
    assert lost_by_failback(timeline, after_fault) == ("canary-after-the-fault",)
    assert lost_by_failback(Timeline(), LEDGER) == tuple(sorted(LEDGER.lost_ids))


def test_a_drill_without_a_failback_has_no_failback_section(tmp_path: Path) -> None:
    timeline = Timeline()
    timeline.record(PHASE_START, "assessment", t_ns=T0)
    timeline.record(PHASE_END, "assessment", t_ns=T0 + S, ok=True)
    assert figures(timeline, load_config(root=tmp_path)) is None

    the_summary = summary(tmp_path, timeline)
    assert the_summary.to_json()["failback"] is None
    assert "## Failback" not in the_summary.to_markdown()


def test_the_summary_shows_the_failback_and_lists_every_divergent_write(tmp_path: Path) -> None:
    the_summary = summary(tmp_path, round_trip())
    paths = write_summary(the_summary, tmp_path / "out")

    markdown = paths["md"].read_text()
    section = markdown[markdown.index("## Failback") :]
    assert "| Database Switchover | 500 ms |" in section
    assert "customer-visible **300 ms**" in section
    assert "fence → writable 120 ms" in section
    assert "50 % 4/100 (4.0%, locust)" in section
    assert "writes lost by the failback: **1** (ids: canary-lost-by-failback)" in section
    assert "both databases accepted writes for 6.00 s" in section
    assert "discarded by the rewind): **3** (ids: " + ", ".join(DIVERGENT) + ")" in section

    record = json.loads(paths["json"].read_text())["failback"]
    assert record["divergent_writes"] == 3
    assert [w["id"] for w in record["divergent"]] == list(DIVERGENT)
    assert record["switchover"] == {
        "customer_visible_s": pytest.approx(0.3),
        "fence_to_writable_s": 0.12,
        "target_s": 1.0,
    }
    assert record["split_brain"][0]["seconds"] == 6.0

    html = paths["html"].read_text()
    listed = re.search(r'<ul class="ids" id="divergent-ids">(.*?)</ul>', html, re.S)
    assert listed is not None
    assert re.findall(r"<li>(.*?)</li>", listed.group(1)) == list(DIVERGENT)
    assert html.count('data-phase="switchover"') == 2  # activation-style table and failback table


def test_the_findings_name_the_divergent_writes_and_the_split_brain(tmp_path: Path) -> None:
    found = {f.what: f for f in summary(tmp_path, round_trip()).findings}

    divergent = next(f for what, f in found.items() if "divergent write" in what)
    assert divergent.severity == "critical" and divergent.actual == 3
    assert all(i in divergent.detail for i in DIVERGENT)
    split = found["split brain: both databases accepted writes at once"]
    assert split.severity == "warning" and split.actual == 6.0
    lost = found["1 write(s) lost by the failback"]
    assert lost.severity == "critical" and "canary-lost-by-failback" in lost.detail


def test_a_target_that_counts_no_divergent_writes_is_said_so(tmp_path: Path) -> None:
    markdown = summary(tmp_path, round_trip(divergent=False)).to_markdown()
    assert "- divergent writes: not counted by this target" in markdown


def test_the_history_line_carries_the_divergent_writes_and_the_switchover_outage(
    tmp_path: Path,
) -> None:
    append_history(summary(tmp_path, round_trip()), tmp_path)
    append_history(summary(tmp_path, round_trip(divergent=False)), tmp_path)
    rows = read_history(tmp_path).rows
    assert [r["divergent_writes"] for r in rows] == [3, None]
    assert rows[0]["switchover_outage_s"] == pytest.approx(0.3)

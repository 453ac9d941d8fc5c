"""A hand-made drill: measurements, verdicts, probe samples, Locust requests, a report dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drdrill.config import load_config
from drdrill.measurement.measure import Request
from drdrill.measurement.results import (
    Bounds,
    LedgerSummary,
    Measurements,
    OutageWindow,
    PhaseTiming,
)
from drdrill.measurement.samples import CRITICAL_FLOW, HEALTH, Sample
from drdrill.measurement.verdict import judge
from drdrill.report.history import HISTORY_FIELDS
from drdrill.report.summary import DrillSummary, write_summary
from drdrill.report.timeline_chart import draw_timeline
from drdrill.report.trend_chart import draw_trend

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S
"""t_fault: 2027-01-15T08:00:00Z."""

PHASES = (
    ("assessment", 0.0, 0.4),
    ("dns_failover", 0.4, 0.9),
    ("scale_dr", 0.9, 1.6),
    ("database_promotion", 1.6, 1.75),
    ("repoint_applications", 1.75, 2.0),
    ("service_verification", 2.0, 2.3),
)


def measurements(rto: float = 2.5, lost: int = 0, phase_ok: bool = True) -> Measurements:
    return Measurements(
        t_fault_ns=T0,
        t_restored_ns=T0 + int(rto * S),
        rto_s=rto,
        rto_resolution_s=0.1,
        detection_s=0.02,
        confirmation_s=0.01,
        rpo_s=0.15 if lost else 0.0,
        rpo_bounds=Bounds(0.1 if lost else 0.0, 0.15 if lost else 0.04),
        ledger=LedgerSummary(500, lost, 3, 40),
        phases=tuple(
            PhaseTiming(name, T0 + int(a * S), T0 + int(b * S), ok=phase_ok or i != 3)
            for i, (name, a, b) in enumerate(PHASES)
        ),
        outages=(OutageWindow(T0, T0 + int(rto * S)),),
        user_outages=(OutageWindow(T0 + 100 * MS, T0 + int(rto * S)),),
        error_rate=0.12,
        samples=200,
    )


def samples(rto: float = 2.5) -> list[Sample]:
    """Probes every 100 ms from -3 s to rto + 5 s: failing between t_fault and t_restored."""
    result = []
    for step in range(-30, int((rto + 5) * 10)):
        t = T0 + step * 100 * MS
        down = T0 <= t < T0 + int(rto * S)
        result.append(Sample(t, CRITICAL_FLOW, not down, 0.005))
        result.append(Sample(t + 20 * MS, HEALTH, not down, 0.003))
    return result


def requests(rto: float = 2.5) -> list[Request]:
    """Ten Locust requests per 100 ms; all fail from +0.1 s until t_restored."""
    result = []
    for step in range(-30, int((rto + 5) * 10)):
        for i in range(10):
            t = T0 + step * 100 * MS + i * 10 * MS
            down = T0 + 100 * MS <= t < T0 + int(rto * S)
            result.append(Request(t, not down))
    return result


def summary(tmp_path: Path, rto: float = 2.5, lost: int = 0, phase_ok: bool = True) -> DrillSummary:
    m = measurements(rto, lost, phase_ok)
    config = load_config(root=tmp_path)
    return DrillSummary(
        drill_id="d-1",
        scenario="region_failure",
        kind="full",
        target="lab",
        started_ns=T0 - 10 * S,
        failure_mode="power-off",
        measurements=m,
        verdicts=judge(m, config),
        load={"requests": 5000, "requests_per_s": 402.5, "failures": 240},
        actor="drteam@ci",
    )


def history_line(the_summary: DrillSummary, **changes: Any) -> dict[str, Any]:
    """The drill's line in history.jsonl, with ``changes``."""
    record = the_summary.to_json()
    return {**{k: record[k] for k in HISTORY_FIELDS}, **changes}


def report_dir(tmp_path: Path, rto: float = 2.5) -> tuple[Path, DrillSummary]:
    """A drill's report directory as the drill leaves it."""
    the_summary = summary(tmp_path, rto)
    out = tmp_path / "reports" / "d-1"
    draw_timeline(out / "timeline.png", samples(rto), the_summary.measurements, requests(rto))
    draw_trend(out / "trend.png", [history_line(the_summary)])
    write_summary(the_summary, out)
    for name in ("region-failure", "dr-activation"):
        (out / f"journal-{name}.json").write_text(json.dumps({"status": "completed", "run": []}))
    (out / "locust-stats.json").write_text(json.dumps([{"name": "/orders", "num_requests": 9}]))
    (out / "ledger.json").write_text(json.dumps({"acked": 500, "lost": 0}))
    (out / "audit.jsonl").write_text(json.dumps({"action": "fail_region"}) + "\n")
    return out, the_summary

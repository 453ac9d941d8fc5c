"""Verdicts against the plan's targets: pass, warn (≤ 20 % over a phase target), fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.measurement.results import Bounds, LedgerSummary, Measurements, PhaseTiming, Verdict
from drdrill.measurement.verdict import judge, judge_phase

S = 1_000_000_000


def measurements(rto: float | None, rpo: float, phases: dict[str, float]) -> Measurements:
    timings = tuple(PhaseTiming(name, 0, int(d * S)) for name, d in phases.items())
    return Measurements(
        t_fault_ns=0,
        t_restored_ns=None if rto is None else int(rto * S),
        rto_s=rto,
        rto_resolution_s=0.1,
        detection_s=0.1,
        confirmation_s=0.2,
        rpo_s=rpo,
        rpo_bounds=Bounds(0, rpo),
        ledger=LedgerSummary(10, 1 if rpo else 0, 0, 0),
        phases=timings,
    )


@pytest.mark.parametrize(
    ("measured", "status"), [(299.0, "pass"), (300.0, "pass"), (360.0, "warn"), (361.0, "fail")]
)
def test_phase_within_twenty_percent_over_is_a_warning(measured: float, status: str) -> None:
    assert judge_phase(measured, 300.0, 0.2) == status


def test_the_plans_last_test_reads_as_the_plan_says(tmp_path: Path) -> None:
    # the spec's Test Metrics table: RTO 28 min, RPO 3 min, DNS 4 min, DB 8 min, verify 6 min
    m = measurements(
        28 * 60,
        3 * 60,
        {"dns_failover": 240, "database_promotion": 480, "service_verification": 360},
    )
    verdicts = judge(m, load_config(root=tmp_path)).by_figure()

    assert {k: v.status for k, v in verdicts.items()} == {
        "rto": "pass",
        "rpo": "pass",
        "dns_failover": "pass",
        "database_promotion": "pass",
        "service_verification": "warn",
    }
    assert verdicts["service_verification"].title == "Service Verification"


def test_breaches_fail_and_the_scenario_sets_the_objective(tmp_path: Path) -> None:
    config = load_config(root=tmp_path)
    never = judge(measurements(None, 0, {}), config)
    ransomware = judge(measurements(1.5 * 3600, 30 * 60, {}), config, scenario="ransomware")
    region = judge(measurements(1.5 * 3600, 30 * 60, {}), config)

    assert not never.passed
    assert never.by_figure()["rto"].detail == "service never restored"
    assert ransomware.passed
    assert region.to_json() == {
        "rto": "fail",
        "rpo": "fail",
        "mode": "warm_standby",
        "objective_source": "mode warm_standby",
    }


def judged(tmp_path: Path, text: str, rto: float | None, rpo: float = 0.0) -> dict[str, Verdict]:
    file = tmp_path / "drdrill.yaml"
    file.write_text(text)
    return judge(measurements(rto, rpo, {}), load_config(file)).by_figure()


def test_objectives_in_the_file_judge_the_drill(tmp_path: Path) -> None:
    verdicts = judged(tmp_path, "objectives: {rto: 1s, rpo: 0s}\n", rto=1.8, rpo=0.5)

    assert (verdicts["rto"].target_s, verdicts["rto"].status) == (1, "fail")
    assert (verdicts["rpo"].target_s, verdicts["rpo"].status) == (0, "fail")
    assert verdicts["rto"].source == verdicts["rpo"].source == "objectives"


def test_hot_standby_judges_against_five_minutes_and_says_so(tmp_path: Path) -> None:
    file = tmp_path / "drdrill.yaml"
    file.write_text("mode: hot_standby\n")
    verdicts = judge(measurements(400, 30, {}), load_config(file))

    assert verdicts.by_figure()["rto"].status == "fail"
    assert verdicts.by_figure()["rpo"].status == "pass"
    assert verdicts.to_json()["mode"] == "hot_standby"
    assert verdicts.to_json()["objective_source"] == "mode hot_standby"
    assert verdicts.by_figure()["rto"].to_json()["source"] == "mode hot_standby"


def test_a_late_restoration_is_a_breach_with_its_value(tmp_path: Path) -> None:
    late = judged(tmp_path, "scenarios: {region_failure: {rto: 1s}}\n", rto=1.8)["rto"]
    never = judged(tmp_path, "scenarios: {region_failure: {rto: 1s}}\n", rto=None)["rto"]

    assert (late.status, late.measured_s) == ("fail", 1.8)
    assert "never" not in late.detail
    assert "1.800 s" in late.detail and "over" in late.detail
    assert (never.status, never.measured_s, never.detail) == (
        "fail",
        None,
        "service never restored",
    )

"""Findings: the plan's "issues encountered", generated from hand-made measurements."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from drdrill.config import load_config
from drdrill.measurement.results import LedgerSummary, Measurements, OutageWindow, PhaseTiming
from drdrill.measurement.verdict import judge
from drdrill.report.finding import IDS_SHOWN, Finding
from drdrill.report.findings import NO_FINDINGS, Rollback, findings
from drdrill.report.summary import DrillSummary, write_summary
from drdrill.report.writer import DrillReport, UnmeasuredDrill

from .drill_data import MS, T0, S, measurements, summary

CLEAN_LEDGER = LedgerSummary(500, 0, 0, 40)


def judged(tmp_path: Path, m: Measurements, **changes: object) -> DrillSummary:
    base = summary(tmp_path)
    return replace(base, measurements=m, verdicts=judge(m, load_config(root=tmp_path)), **changes)


def clean(rto: float = 2.5) -> Measurements:
    return replace(measurements(rto), ledger=CLEAN_LEDGER)


def whats(found: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return [(f.severity, f.what) for f in found]


def test_a_clean_drill_has_no_findings_and_says_so(tmp_path: Path) -> None:
    the_summary = judged(tmp_path, clean())
    paths = write_summary(the_summary, tmp_path / "d-1")

    assert the_summary.findings == ()
    assert json.loads(paths["json"].read_text())["findings"] == []
    text = paths["md"].read_text()
    assert "## Findings" in text
    assert NO_FINDINGS in text


def test_an_rto_breach_has_actual_and_target(tmp_path: Path) -> None:
    m = replace(clean(rto=2400.0), user_outages=(), outages=())
    (breach,) = judged(tmp_path, m).findings

    assert (breach.severity, breach.what) == ("critical", "RTO breached")
    assert (breach.actual, breach.target) == (2400.0, 1800.0)
    assert "40 min against 30 min" in breach.detail
    assert "restored after 2400.000 s, over the 1800 s objective" in breach.detail


def test_a_service_never_restored_is_a_breach_without_an_actual(tmp_path: Path) -> None:
    m = replace(clean(), t_restored_ns=None, rto_s=None)
    (breach,) = judged(tmp_path, m).findings

    assert breach.what == "RTO breached: the service was never restored within the drill"
    assert (breach.actual, breach.target) == (None, 1800.0)


def test_phases_over_their_target_warn_or_breach_and_a_failed_phase_is_named(
    tmp_path: Path,
) -> None:
    m = replace(
        clean(),
        phases=(
            PhaseTiming("assessment", T0, T0 + 2 * S),  # target 5 min: fine
            PhaseTiming("dns_failover", T0, T0 + 330 * S),  # 5 min + 10 %: needs improvement
            PhaseTiming("database_promotion", T0, T0 + 15 * 60 * S),  # 10 min + 50 %: breach
            PhaseTiming("service_verification", T0, T0 + 1 * S, ok=False),
        ),
    )
    found = judged(tmp_path, m).findings

    assert whats(found) == [
        ("critical", "Database Promotion over its target"),
        ("critical", "Service Verification phase failed"),
        ("warning", "DNS Failover over its target (needs improvement)"),
    ]
    assert (found[0].actual, found[0].target) == (900.0, 600.0)
    assert "the phase's activity failed" in found[1].detail
    assert "5.5 min against 5 min (target from phases.dns_failover)" in found[2].detail


def test_every_outage_that_starts_after_restoration_is_a_secondary_outage(
    tmp_path: Path,
) -> None:
    restored = T0 + int(2.5 * S)
    burst = OutageWindow(T0 + 13_500 * MS, T0 + 14_200 * MS)  # 11 s after restoration
    m = replace(
        clean(),
        outages=(OutageWindow(T0, restored), OutageWindow(T0 + 20 * S, T0 + 20 * S + 300 * MS)),
        user_outages=(OutageWindow(T0 + 100 * MS, restored), burst),
    )
    found = judged(tmp_path, m).findings

    assert whats(found) == [
        ("warning", "secondary outage after restoration (probes)"),
        ("warning", "secondary outage after restoration (Locust)"),
    ]
    probes, locust = found
    assert probes.actual == 0.3
    assert "t_fault +20.0 s, 17.5 s after the service was restored" in probes.detail
    assert locust.actual == 0.7
    assert "customers' error rate over the threshold for 700 ms" in locust.detail
    assert "from 2027-01-15T08:00:13.500" in locust.detail
    assert "11.0 s after the service was restored" in locust.detail


def test_lost_in_doubt_and_lost_after_fault_writes_are_named_by_id(tmp_path: Path) -> None:
    ledger = LedgerSummary(
        500,
        2,
        1,
        40,
        lost_ids=("o-7", "o-8"),
        in_doubt_ids=("o-99",),
        lost_after_fault=1,
        lost_after_fault_ids=("o-120",),
    )
    m = replace(clean(), ledger=ledger, rpo_s=0.15)
    found = judged(tmp_path, m).findings

    assert whats(found) == [
        ("critical", "1 write(s) acknowledged after the fault lost"),
        ("warning", "2 acknowledged write(s) lost"),
        ("info", "1 write(s) in doubt"),
    ]
    after, lost, doubt = found
    assert after.detail.endswith("ids: o-120")
    assert (after.actual, after.target) == (1, 0)
    assert "within the RPO target" in lost.detail and lost.detail.endswith("ids: o-7, o-8")
    assert doubt.detail.endswith("ids: o-99")


def test_writes_discarded_by_a_restore_are_a_warning_by_id_not_a_failure(
    tmp_path: Path,
) -> None:
    ledger = replace(CLEAN_LEDGER, discarded_by_restore=2, discarded_by_restore_ids=("o-3", "o-4"))
    summary = judged(tmp_path, replace(clean(), ledger=ledger))

    assert whats(summary.findings) == [("warning", "2 write(s) discarded by the restore")]
    assert summary.findings[0].detail.endswith("ids: o-3, o-4")
    assert "restore to a point before the fault" in summary.findings[0].detail
    assert summary.passed


def test_lost_writes_over_the_rpo_are_critical_and_many_ids_are_cut_short(
    tmp_path: Path,
) -> None:
    ids = tuple(f"o-{i}" for i in range(30))
    m = replace(clean(), ledger=replace(CLEAN_LEDGER, lost=30, lost_ids=ids), rpo_s=400.0)
    found = judged(tmp_path, m).findings

    assert whats(found) == [
        ("critical", "RPO breached"),
        ("critical", "30 acknowledged write(s) lost"),
    ]
    assert (found[0].actual, found[0].target) == (400.0, 300.0)
    assert f"o-{IDS_SHOWN - 1} and 10 more (all in ledger.json)" in found[1].detail
    assert f"o-{IDS_SHOWN}," not in found[1].detail


def test_a_drill_that_ended_early_says_how(tmp_path: Path) -> None:
    the_summary = judged(tmp_path, clean(), outcome="aborted", error="stop condition: errors")

    assert whats(the_summary.findings) == [("critical", "the drill was aborted before its end")]
    assert the_summary.findings[0].detail == "stop condition: errors"


def test_summary_md_and_json_carry_the_findings(tmp_path: Path) -> None:
    m = replace(clean(rto=2400.0), user_outages=(), outages=())
    paths = write_summary(judged(tmp_path, m), tmp_path / "d-1")

    (entry,) = json.loads(paths["json"].read_text())["findings"]
    assert entry == {
        "severity": "critical",
        "what": "RTO breached",
        "actual": 2400.0,
        "target": 1800.0,
        "detail": entry["detail"],
    }
    text = paths["md"].read_text()
    findings_section = text.split("## Findings")[1].split("## Activation phases")[0]
    assert "1. **critical**: RTO breached — actual 40 min, target 30 min." in findings_section
    assert text.index("## Test Metrics") < text.index("## Findings")


def test_an_unmeasured_drill_reports_how_it_ended_as_its_finding(tmp_path: Path) -> None:
    report = DrillReport(tmp_path / "reports" / "d-9", tmp_path / "reports")
    report.conclude_unmeasured(
        UnmeasuredDrill(
            "d-9", "region_failure", "full", "lab", T0, "power-off", "error", "observing", "boom"
        )
    )

    data = json.loads((report.report_dir / "summary.json").read_text())
    assert data["findings"] == [
        {
            "severity": "critical",
            "what": "the drill stopped on an error",
            "actual": None,
            "target": None,
            "detail": "boom",
        }
    ]
    assert (
        "1. **critical**: the drill stopped on an error. Boom"
        in (report.report_dir / "summary.md").read_text()
    )
    history = (tmp_path / "reports" / "history.jsonl").read_text()
    assert "findings" not in history


def test_findings_are_pure(tmp_path: Path) -> None:
    the_summary = summary(tmp_path)
    assert findings(the_summary.measurements, the_summary.verdicts) == the_summary.findings


def test_the_rollback_is_read_from_the_last_fail_back_that_says_how() -> None:
    records = [
        {"action": "fail_back", "outcome": "started"},
        {"action": "fail_back", "outcome": "succeeded", "how": "first"},
        {"action": "fail_back", "outcome": "succeeded", "how": "dr had been promoted"},
        {"action": "drill_finished", "outcome": "rolled back"},
    ]
    assert Rollback.of(records, None) == Rollback(True, "dr had been promoted")
    assert Rollback.of([], None).how == "the target's fail back succeeded"
    assert Rollback.of(records, "boom") == Rollback(False, "boom")


def test_only_an_incomplete_rollback_is_a_finding_and_it_says_the_data_was_left(
    tmp_path: Path,
) -> None:
    done = judged(tmp_path, clean(), rollback=Rollback(True, "restored primary in place"))
    stopped = judged(tmp_path, clean(), rollback=Rollback(False, "both databases down"))

    assert not [f for f in done.findings if "rollback" in f.what]
    [finding] = [f for f in stopped.findings if "rollback" in f.what]
    assert finding.severity == "critical"
    assert finding.detail == (
        "rollback incomplete: both databases down; data left intact for a human"
    )
    assert "- rollback: rollback incomplete: both databases down" in stopped.to_markdown()

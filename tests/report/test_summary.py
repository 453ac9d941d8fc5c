"""Report files carry the measured numbers, the right statuses, and no secrets."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.measurement.results import Bounds, LedgerSummary, Measurements, PhaseTiming
from drdrill.measurement.verdict import judge
from drdrill.report.allure import write_allure_metadata
from drdrill.report.history import append_history, read_history, readiness, trend_lines
from drdrill.report.metrics_table import as_markdown, human_duration
from drdrill.report.summary import DrillSummary, write_summary

S = 1_000_000_000
T0 = 1_800_000_000 * S


def summary(tmp_path: Path, rto: float = 2.5, lost: int = 0) -> DrillSummary:
    m = Measurements(
        t_fault_ns=T0,
        t_restored_ns=T0 + int(rto * S),
        rto_s=rto,
        rto_resolution_s=0.1,
        detection_s=0.02,
        confirmation_s=0.01,
        rpo_s=0.15 if lost else 0.0,
        rpo_bounds=Bounds(0.1 if lost else 0.0, 0.15 if lost else 0.04),
        ledger=LedgerSummary(500, lost, 3, 40),
        phases=(
            PhaseTiming("dns_failover", T0, T0 + 4 * 60 * S),
            PhaseTiming("service_verification", T0, T0 + 6 * 60 * S),
        ),
    )
    config = load_config(root=tmp_path)
    return DrillSummary(
        "d-1", "region_failure", "full", "lab", T0, "power-off", m, judge(m, config)
    )


def test_summary_json_has_the_figures_and_verdicts(tmp_path: Path) -> None:
    paths = write_summary(summary(tmp_path, lost=2), tmp_path / "d-1")
    data = json.loads(paths["json"].read_text())

    assert data["drill_id"] == "d-1"
    assert data["rto_s"] == 2.5
    assert data["rpo_s"] == 0.15
    assert data["lost_writes"] == 2
    assert data["in_doubt_writes"] == 3
    assert data["phases"] == {"dns_failover": 240.0, "service_verification": 360.0}
    assert data["verdicts"] == {
        "rto": "pass",
        "rpo": "pass",
        "dns_failover": "pass",
        "service_verification": "warn",
        "mode": "warm_standby",
        "objective_source": "mode warm_standby",
    }
    assert data["passed"] is True
    assert data["started"].startswith("2027-01-15T")


def test_summary_md_reads_like_the_plans_metrics_table(tmp_path: Path) -> None:
    text = write_summary(summary(tmp_path), tmp_path / "d-1")["md"].read_text()

    assert "PASSED" in text
    assert "| **RTO** | 30 min | 2.50 s | ✅ Pass |" in text
    assert "| **Service Verification** | 5 min | 6 min | ⚠️ Needs improvement |" in text
    assert "0 acknowledged write(s) lost of 500, 3 in doubt" in text


def test_history_feeds_the_readiness_score(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    append_history(summary(tmp_path), reports)
    failing = summary(tmp_path, rto=4000)
    append_history(failing, reports)

    rows = read_history(reports).rows

    assert [r["passed"] for r in rows] == [True, False]
    assert rows[1]["rto_s"] == 4000
    assert readiness(rows) == 0.5
    assert "❌ Fail" in as_markdown(failing.verdicts)


def test_allure_metadata_files_are_valid(tmp_path: Path) -> None:
    write_allure_metadata(tmp_path, {"target": "lab"})
    categories = json.loads((tmp_path / "categories.json").read_text())

    assert {c["name"] for c in categories} == {
        "RTO breach",
        "RPO breach",
        "Activation failure",
        "Aborted drill",
        "Harness error",
    }
    assert "target=lab" in (tmp_path / "environment.properties").read_text()


def test_durations_read_as_people_write_them() -> None:
    assert [human_duration(x) for x in (1800, 7200, 0.12, 3.456, None)] == [
        "30 min",
        "2 h",
        "120 ms",
        "3.46 s",
        "—",
    ]


def test_history_lines_carry_the_figures_and_the_trend_follows_them(tmp_path: Path) -> None:
    from drdrill.report.history import HISTORY_FIELDS, trend, trend_lines
    from drdrill.report.summary import latest_summary

    reports = tmp_path / "reports"
    for rto in (2.5, 4000, 3.0):
        the_summary = summary(tmp_path, rto=rto)
        write_summary(the_summary, reports / f"d-{rto}")
        append_history(the_summary, reports)

    rows = read_history(reports).rows
    points = trend(rows)

    assert set(rows[0]) == set(HISTORY_FIELDS)
    assert rows[0]["in_doubt_writes"] == 3
    assert rows[1]["verdicts"]["rto"] == "fail"
    assert [(p.rto_s, p.passed) for p in points] == [(2.5, True), (4000, False), (3.0, True)]
    assert [round(p.readiness, 2) for p in points] == [1.0, 0.5, 0.67]
    table = trend_lines(rows)
    assert table[3] == "| d-1 | region_failure | 66.7 min | 0 s | ❌ failed | 50% |"
    assert latest_summary(reports) == reports / "d-3.0" / "summary.md"


def test_summary_html_has_the_metrics_table(tmp_path: Path) -> None:
    page = write_summary(summary(tmp_path, rto=4000), tmp_path / "d-1")["html"].read_text()

    assert "FAILED" in page
    assert '<span class="badge fail">Fail</span>' in page  # tests/report/test_page.py: more


def test_drdrill_report_latest_prints_the_last_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from drdrill.cli import main

    (tmp_path / "drdrill.yaml").write_text(f"reports_dir: {tmp_path / 'reports'}\n")
    the_summary = summary(tmp_path)
    write_summary(the_summary, tmp_path / "reports" / "d-1")
    append_history(the_summary, tmp_path / "reports")

    code = main(["--drill-config", str(tmp_path / "drdrill.yaml"), "report", "--latest"])

    out = capsys.readouterr().out
    assert code == 0
    assert "# DR drill d-1: PASSED" in out
    assert "| **RTO** | 30 min | 2.50 s | ✅ Pass |" in out
    assert "DR readiness (share of the last 10 drills that passed): 100%" in out
    assert f"The drill as a page: {tmp_path / 'reports' / 'd-1' / 'summary.html'}" in out


def test_summary_md_tells_the_load_and_the_phases(tmp_path: Path) -> None:
    from .drill_data import summary as drill_summary

    the_summary = drill_summary(tmp_path)
    the_summary = replace(the_summary, load={**the_summary.load, "sustained_requests_per_s": 380})
    text = write_summary(the_summary, tmp_path / "d-1")["md"].read_text()
    data = json.loads((tmp_path / "d-1" / "summary.json").read_text())

    assert "- load (Locust): 5000 requests, 402.5 req/s (sustained 380), 240 failed" in text
    assert "| database_promotion | 150 ms | ok |" in text
    assert "- user-observed outage (Locust): longest 2.40 s" in text
    assert data["load"]["requests_per_s"] == 402.5
    assert data["phases"]["scale_dr"] == 0.7
    assert data["actor"] == "drteam@ci"


def test_a_torn_last_history_line_does_not_swallow_the_next_drill(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    append_history(summary(tmp_path), reports)
    with (reports / "history.jsonl").open("a") as history:
        history.write('{"drill_id": "killed", "rto_s": 1')  # a writer killed mid-line
    append_history(summary(tmp_path, rto=4000), reports)

    history = read_history(reports)

    assert [r["rto_s"] for r in history.rows] == [2.5, 4000]
    assert history.skipped == 1
    assert readiness(history.rows) == 0.5


@pytest.mark.parametrize(
    "bad_line",
    [
        b"[1, 2, 3]",
        b'"passed"',
        b"42",
        b"null",
        b'{"drill_id": "x", "rto_s": "fast", "rpo_s": 0, "passed": true}',
        b'{"drill_id": "x", "rto_s": 1.0, "passed": "yes"}',
        b'{"drill_id": "caf\xe9", "passed": true}',  # Latin-1, not UTF-8
        b"\xff\xfe garbage",
    ],
)
def test_an_unreadable_history_line_is_skipped_and_counted_never_fatal(
    tmp_path: Path, bad_line: bytes
) -> None:
    reports = tmp_path / "reports"
    append_history(summary(tmp_path), reports)
    with (reports / "history.jsonl").open("ab") as history:
        history.write(bad_line + b"\n")
    append_history(summary(tmp_path, rto=4000), reports)

    history = read_history(reports)

    assert [r["passed"] for r in history.rows] == [True, False]
    assert history.skipped == 1
    assert readiness(history.rows) == 0.5
    assert len(trend_lines(history.rows)) == 4


def test_drdrill_report_latest_says_how_many_history_lines_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from drdrill.cli import main

    reports = tmp_path / "reports"
    (tmp_path / "drdrill.yaml").write_text(f"reports_dir: {reports}\n")
    the_summary = summary(tmp_path)
    write_summary(the_summary, reports / "d-1")
    append_history(the_summary, reports)
    with (reports / "history.jsonl").open("ab") as history:
        history.write(b"\xff not utf-8\n[]\n")

    code = main(["--drill-config", str(tmp_path / "drdrill.yaml"), "report", "--latest"])

    out = capsys.readouterr().out
    assert code == 0
    assert "DR readiness (share of the last 10 drills that passed): 100%" in out
    assert "2 unreadable history lines skipped" in out

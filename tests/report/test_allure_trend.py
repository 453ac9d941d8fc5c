"""The Allure report's trends: each build carries the previous report's history, and
executor.json says who ran it (CI or the host) and labels its column."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drdrill.cli import main
from drdrill.report.allure import ci_executor, write_allure_metadata
from drdrill.report.allure_cli import carry_history, find_allure, host_executor, trend_runs

PROJECT = Path(__file__).resolve().parents[2]

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/dr-drills",
    "GITHUB_RUN_ID": "987654",
    "GITHUB_RUN_NUMBER": "42",
    "GITHUB_WORKFLOW": "DR drills",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_URL": "https://gitlab.example.com/acme/dr-drills",
    "CI_PROJECT_PATH": "acme/dr-drills",
    "CI_PIPELINE_IID": "17",
    "CI_PIPELINE_URL": "https://gitlab.example.com/acme/dr-drills/-/pipelines/5555",
}


def test_github_actions_is_the_executor_in_github() -> None:
    assert ci_executor(GITHUB) == {
        "name": "GitHub Actions",
        "type": "github",
        "url": "https://github.com/acme/dr-drills",
        "buildOrder": 42,
        "buildName": "DR drills #42",
        "buildUrl": "https://github.com/acme/dr-drills/actions/runs/987654",
        "reportName": "DR drills",
    }


def test_gitlab_ci_is_the_executor_in_gitlab() -> None:
    assert ci_executor(GITLAB) == {
        "name": "GitLab CI",
        "type": "gitlab",
        "url": "https://gitlab.example.com/acme/dr-drills",
        "buildOrder": 17,
        "buildName": "acme/dr-drills #17",
        "buildUrl": "https://gitlab.example.com/acme/dr-drills/-/pipelines/5555",
        "reportName": "DR drills",
    }


def test_outside_ci_the_session_writes_no_executor(tmp_path: Path) -> None:
    assert ci_executor({"HOME": "/root", "CI": "true"}) is None
    write_allure_metadata(tmp_path, {"target": "lab"}, env={})
    assert not (tmp_path / "executor.json").exists()

    write_allure_metadata(tmp_path, {"target": "lab"}, env=GITHUB)
    assert json.loads((tmp_path / "executor.json").read_text())["buildOrder"] == 42


def write_trend(report: Path, orders: list[int | None]) -> None:
    (report / "history").mkdir(parents=True)
    runs = [{"data": {"passed": 1}, **({"buildOrder": o} if o else {})} for o in orders]
    (report / "history" / "history-trend.json").write_text(json.dumps(runs))


def test_the_host_executor_numbers_builds_after_the_previous_report(tmp_path: Path) -> None:
    now = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    first = host_executor(tmp_path / "none", now=now)
    write_trend(tmp_path / "report", [3, None, 2])
    next_one = host_executor(tmp_path / "report", now=now)

    assert first["buildOrder"] == 1 and first["type"] == "local"
    assert next_one["buildOrder"] == 4
    assert next_one["buildName"].startswith("drdrill report #4 on ")
    assert next_one["buildName"].endswith(", 2027-01-15 08:00 UTC")


def test_the_previous_history_replaces_whatever_the_results_held(tmp_path: Path) -> None:
    write_trend(tmp_path / "report", [1])
    (tmp_path / "report" / "history" / "history.json").write_text("{}")
    stale = tmp_path / "results" / "history"
    stale.mkdir(parents=True)
    (stale / "old.json").write_text("[]")

    assert carry_history(tmp_path / "report", tmp_path / "results") is True
    assert sorted(p.name for p in stale.iterdir()) == ["history-trend.json", "history.json"]
    assert carry_history(tmp_path / "no-report", tmp_path / "results") is False
    assert trend_runs(tmp_path / "report") == [{"data": {"passed": 1}, "buildOrder": 1}]
    assert trend_runs(tmp_path / "no-report") == []


def result(name: str, status: str) -> dict[str, object]:
    """One Allure 2 test result, as allure-pytest writes it (the fields a report needs)."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    return {
        "uuid": str(uuid.uuid4()),
        "historyId": f"history-{name}",
        "testCaseId": f"case-{name}",
        "fullName": f"features.region_failure.{name}",
        "name": name,
        "status": status,
        "stage": "finished",
        "start": now - 5000,
        "stop": now,
        "labels": [{"name": "feature", "value": "Region failure drill"}],
    }


def drill_run(results: Path, statuses: dict[str, str]) -> None:
    """A fresh results directory as ``pytest --clean-alluredir`` leaves it."""
    if results.exists():
        for path in results.iterdir():
            if path.is_file():
                path.unlink()
    results.mkdir(parents=True, exist_ok=True)
    for name, status in statuses.items():
        (results / f"{uuid.uuid4()}-result.json").write_text(json.dumps(result(name, status)))


@pytest.mark.slow
def test_two_reports_make_a_trend_with_their_executors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_allure(PROJECT) is None:
        pytest.skip("no Allure CLI (npm install allure-commandline)")
    (tmp_path / "drdrill.yaml").write_text(f"reports_dir: {tmp_path / 'reports'}\n")
    results, out = tmp_path / "reports" / "allure-results", tmp_path / "reports" / "allure-report"
    report = ["--drill-config", str(tmp_path / "drdrill.yaml"), "report"]
    with pytest.MonkeyPatch.context() as env:
        env.chdir(PROJECT)  # node_modules/.bin/allure
        for name in ("GITHUB_ACTIONS", "GITLAB_CI"):
            env.delenv(name, raising=False)
        drill_run(results, {"power_off": "passed", "blackhole": "failed"})
        assert main([*report, "--results", str(results), "--out", str(out)]) == 0
        assert "Trend: this is its first run" in capsys.readouterr().out
        drill_run(results, {"power_off": "passed", "blackhole": "passed"})
        assert main([*report, "--results", str(results), "--out", str(out)]) == 0
        assert "Trend: 2 run(s) so far" in capsys.readouterr().out
        # the same results again: no third column counting the same drills twice
        assert main([*report, "--results", str(results), "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "already built from these results" in printed
    assert "Trend: 2 run(s) so far" in printed
    trend = json.loads((out / "widgets" / "history-trend.json").read_text())
    assert [(run.get("buildOrder"), run["data"]["passed"]) for run in trend] == [(2, 2), (1, 1)]
    assert trend[1]["data"]["failed"] == 1
    executors = json.loads((out / "widgets" / "executors.json").read_text())
    assert executors[0]["type"] == "local"
    assert executors[0]["buildName"].startswith("drdrill report #2 on ")
    duration = json.loads((out / "widgets" / "duration-trend.json").read_text())
    assert len(duration) == 2
    # and every scenario's own history (its History tab) spans both builds
    cases = [json.loads(p.read_text()) for p in (out / "data" / "test-cases").glob("*.json")]
    statistic = {c["name"]: c["extra"]["history"]["statistic"] for c in cases}
    assert statistic["blackhole"]["failed"] == 1 and statistic["blackhole"]["passed"] == 1
    assert statistic["power_off"]["passed"] == 2

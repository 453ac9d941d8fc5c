"""Allure evidence: attachments land inside steps, categories sort failures, and the real
Allure 2 command line renders the results."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from drdrill.cli import main
from drdrill.errors import DrillError
from drdrill.report.allure import CATEGORIES, write_allure_metadata
from drdrill.report.allure_cli import HOW_TO_GET_ALLURE, find_allure, generate_report

from .drill_data import report_dir

PROJECT = Path(__file__).resolve().parents[2]

MESSAGES = {
    "AssertionError: RTO breach: 33.3 min against 30 min (exceeded)\nassert 'fail' == 'pass'": (
        "failed",
        "RTO breach",
    ),
    "AssertionError: RPO breach: 6 min of acknowledged writes lost (3 writes)\nassert False": (
        "failed",
        "RPO breach",
    ),
    "AssertionError: DR activation failed: status failed, failed phases ['promote']": (
        "failed",
        "Activation failure",
    ),
    "AssertionError: activation phase over its target: ['DNS Failover 7 min']": (
        "failed",
        "Activation failure",
    ),
    "drdrill.errors.DrillError: DR activation failed: experiment aborted": (
        "broken",
        "Activation failure",
    ),
    "psycopg.OperationalError: connection refused\nis the server running?": (
        "broken",
        "Harness error",
    ),
    "KeyboardInterrupt: stop condition: customer error rate 80% over 30 s": (
        "broken",
        "Aborted drill",
    ),
}


def categories_of(message: str, status: str) -> list[str]:
    """As Allure 2 does: every category whose status matches and whose regex matches the
    WHOLE message (Java's String.matches)."""
    return [
        c["name"]
        for c in CATEGORIES
        if status in c["matchedStatuses"] and re.fullmatch(c["messageRegex"], message)
    ]


@pytest.mark.parametrize("message", MESSAGES)
def test_each_failure_falls_into_exactly_its_category(message: str) -> None:
    status, category = MESSAGES[message]

    assert categories_of(message, status) == [category]


def test_metadata_files_are_valid(tmp_path: Path) -> None:
    write_allure_metadata(tmp_path, {"target": "lab", "drill_config": "C:\\drills\\x=1.yaml"})

    categories = json.loads((tmp_path / "categories.json").read_text())
    properties = (tmp_path / "environment.properties").read_text().splitlines()
    assert [c["name"] for c in categories] == [
        "RTO breach",
        "RPO breach",
        "Activation failure",
        "Aborted drill",
        "Harness error",
    ]
    assert "target=lab" in properties
    assert "drill_config=C\\:\\\\drills\\\\x\\=1.yaml" in properties
    assert any(line.startswith("locust=") for line in properties)


def test_without_an_allure_cli_the_way_to_get_one_is_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    assert find_allure(tmp_path) is None
    assert "npm install allure-commandline" in HOW_TO_GET_ALLURE
    assert "Java 17" in HOW_TO_GET_ALLURE


def leaves(node: dict[str, object]) -> list[str]:
    """Test names under a node of Allure's category tree (category > message > tests)."""
    children = node.get("children")
    if not isinstance(children, list):
        return [str(node["name"])]
    return [name for child in children for name in leaves(child)]


FEATURE = """\
Feature: Region failure drill
  Scenario: The RTO is breached
    Given a finished drill
    Then the service is restored within the RTO

  Scenario: No write is lost
    Given a finished drill
    Then no acknowledged write is lost

  Scenario: The harness breaks
    Given a finished drill
    Then the database answers
"""

STEPS = """\
import os
from pathlib import Path

from pytest_bdd import given, scenarios, then

from drdrill.report.allure import attach_drill_report
from drdrill.measurement.results import Verdict, Verdicts

scenarios("drill.feature")
VERDICTS = Verdicts((Verdict("rto", "RTO", 1800.0, 2000.0, "fail"),))


@given("a finished drill", target_fixture="report_dir")
def finished() -> Path:
    return Path(os.environ["REPORT_DIR"])


@then("the service is restored within the RTO")
def rto(report_dir: Path) -> None:
    attach_drill_report(report_dir, VERDICTS)
    assert False, "RTO breach: 33.3 min against 30 min"


@then("no acknowledged write is lost")
def rpo(report_dir: Path) -> None:
    pass


@then("the database answers")
def database(report_dir: Path) -> None:
    raise ConnectionRefusedError("connection refused")
"""

CONFTEST = """\
from pathlib import Path

from drdrill.report.allure import write_allure_metadata


def pytest_sessionfinish(session, exitstatus):
    results = session.config.getoption("--alluredir", default=None)
    if results:
        write_allure_metadata(Path(results), {"target": "lab"})
"""


@pytest.mark.slow
def test_a_real_allure_report_shows_evidence_under_steps_and_sorts_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allure = find_allure(PROJECT)
    if allure is None:
        pytest.skip("no Allure CLI (npm install allure-commandline)")
    evidence, _ = report_dir(tmp_path / "drill")
    project = tmp_path / "project"
    project.mkdir()
    (project / "drill.feature").write_text(FEATURE)
    (project / "test_drill.py").write_text(STEPS)
    (project / "conftest.py").write_text(CONFTEST)
    results = tmp_path / "allure-results"
    env = {**os.environ, "REPORT_DIR": str(evidence)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--alluredir={results}",
            "--clean-alluredir",
            str(project),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    (tmp_path / "drdrill.yaml").write_text(f"reports_dir: {tmp_path / 'drill' / 'reports'}\n")
    config = ["--drill-config", str(tmp_path / "drdrill.yaml")]
    code = main([*config, "report", "--results", str(results), "--out", str(tmp_path / "html")])

    index = tmp_path / "html" / "index.html"
    printed = capsys.readouterr().out
    assert code == 0
    assert f"Allure report: {index}" in printed
    assert "Latest drill summary:" in printed and "summary.md" in printed
    assert "googletagmanager" not in index.read_text()
    data = tmp_path / "html" / "data"
    tree = json.loads((data / "categories.json").read_text())
    sorted_tests = {c["name"]: leaves(c) for c in tree["children"]}
    assert sorted_tests == {
        "RTO breach": ["The RTO is breached"],
        "Harness error": ["The harness breaks"],
    }
    cases = [json.loads(p.read_text()) for p in (data / "test-cases").glob("*.json")]
    rto_case = next(c for c in cases if c["name"] == "The RTO is breached")
    step = next(s for s in rto_case["testStage"]["steps"] if "restored" in s["name"])
    assert [a["name"] for a in step["attachments"]] == [
        "Test Metrics",
        "Test Metrics (markdown)",
        "Timeline",
        "RTO/RPO trend",
        "Drill summary",
        "Drill summary (page)",
        "Chaos Toolkit journal: region failure",
        "Chaos Toolkit journal: DR activation",
        "Locust stats",
        "Ledger summary",
        "Audit trail",
    ]
    timeline = next(a for a in step["attachments"] if a["name"] == "Timeline")
    assert timeline["type"] == "image/png"
    environment = json.loads((tmp_path / "html" / "widgets" / "environment.json").read_text())
    assert {"name": "target", "values": ["lab"]} in environment


def test_generating_without_results_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DrillError, match=r"no Allure results .* run a drill first"):
        generate_report("allure", tmp_path / "empty", tmp_path / "out")

"""Allure (allure-pytest-bdd) evidence: attachments inside steps, and the run's metadata.

Inside a step, ``attach_drill_report(report_dir, verdicts)`` attaches the drill's
evidence under that step: the metrics table (HTML + markdown), the timeline and RTO/RPO
trend pictures, the summary (markdown and page), the Chaos Toolkit journals, Locust's
stats, the ledger summary and the audit trail. Outside an Allure run (no
``--alluredir``) attaching does nothing.

At session end (``pytest_sessionfinish``: ``--clean-alluredir`` deletes anything
written earlier) ``write_allure_metadata(results_dir, environment)`` writes
``environment.properties``, ``categories.json`` and, in GitHub Actions or GitLab CI,
``executor.json`` (the pipeline and its run number, which labels the run's column in
the report's trends; outside CI ``drdrill report`` writes the host's). The categories
sort results by the failure messages the steps raise: "RTO breach: ...", "RPO breach: ...",
"DR activation failed: ..." / "activation phase ...", everything else broken is a
harness error.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from drdrill.measurement.results import Verdicts
from drdrill.report.metrics_table import as_html, as_markdown

__all__ = [
    "ACTIVATION_FAILURE",
    "CATEGORIES",
    "EVIDENCE",
    "attach_drill_report",
    "attach_file",
    "attach_metrics_table",
    "attach_text",
    "ci_executor",
    "write_allure_metadata",
]

# Allure 2 matches a category with Java's String.matches: the WHOLE message, and a
# pytest message spans lines ("AssertionError: RTO breach ...\nassert ..."): hence (?s).
ACTIVATION_FAILURE = (
    r"DR activation failed|activation phase|was not injected|was not timed|ActivationFailed"
    r"|DNS failover did not propagate|DR region verification failed"
)
ABORTED = r"KeyboardInterrupt|DrillAborted|stop condition|SIGTERM|SIGINT"

CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "RTO breach",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*\bRTO breach\b.*",
    },
    {
        "name": "RPO breach",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*\bRPO breach\b.*",
    },
    {
        "name": "Activation failure",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": rf"(?s).*({ACTIVATION_FAILURE}).*",
    },
    {
        "name": "Aborted drill",
        "matchedStatuses": ["broken", "failed", "skipped"],
        "messageRegex": rf"(?s).*({ABORTED}).*",
    },
    {
        "name": "Harness error",
        "matchedStatuses": ["broken"],
        "messageRegex": rf"(?s)(?!.*({ACTIVATION_FAILURE}|{ABORTED})).*",
    },
]

EVIDENCE: tuple[tuple[str, str], ...] = (
    ("timeline.png", "Timeline"),
    ("trend.png", "RTO/RPO trend"),
    ("summary.md", "Drill summary"),
    ("summary.html", "Drill summary (page)"),
    ("journal-region-failure.json", "Chaos Toolkit journal: region failure"),
    ("journal-dr-activation.json", "Chaos Toolkit journal: DR activation"),
    ("locust-stats.json", "Locust stats"),
    ("ledger.json", "Ledger summary"),
    ("audit.jsonl", "Audit trail"),
)
"""(file in reports/<drill-id>/, attachment name), in the order they are attached."""


def _types() -> dict[str, Any]:
    import allure

    kind = allure.attachment_type
    return {
        "text": kind.TEXT,
        "json": kind.JSON,
        "html": kind.HTML,
        "md": kind.TEXT,
        "csv": kind.CSV,
        "png": kind.PNG,
        "svg": kind.SVG,
    }


def attach_text(body: str, name: str, kind: str = "text") -> None:
    """Attach text (``kind``: text, json, html, md, csv) to the current Allure step."""
    import allure

    allure.attach(body, name=name, attachment_type=_types()[kind])


def attach_file(path: Path, name: str) -> bool:
    """Attach a file to the current Allure step; False (nothing attached) if it is missing."""
    import allure

    if not path.is_file():
        return False
    suffix = path.suffix.lstrip(".")
    kind = _types().get("text" if suffix in ("jsonl", "log") else suffix, _types()["text"])
    allure.attach.file(str(path), name=name, attachment_type=kind)  # type: ignore[no-untyped-call]
    return True


def attach_metrics_table(verdicts: Verdicts) -> None:
    """The plan's "Test Metrics" table with this drill's numbers, as HTML and markdown."""
    attach_text(as_html(verdicts), "Test Metrics", "html")
    attach_text(as_markdown(verdicts), "Test Metrics (markdown)", "md")


def attach_drill_report(report_dir: Path, verdicts: Verdicts | None = None) -> list[str]:
    """Attach one drill's evidence from ``report_dir`` to the current step (see ``EVIDENCE``);
    the names of what was attached. Missing files are skipped (a partial drill has no load)."""
    attached: list[str] = []
    if verdicts is not None:
        attach_metrics_table(verdicts)
        attached.append("Test Metrics")
    for filename, name in EVIDENCE:
        if attach_file(report_dir / filename, name):
            attached.append(name)
    return attached


def _versions() -> dict[str, str]:
    found = {}
    for package in ("drdrill", "locust", "chaostoolkit-lib", "pytest-bdd", "allure-pytest-bdd"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def ci_executor(env: Mapping[str, str]) -> dict[str, Any] | None:
    """executor.json for a run in GitHub Actions or GitLab CI (from their predefined
    variables), None elsewhere."""
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY", "")
        run = env.get("GITHUB_RUN_NUMBER", "")
        info: dict[str, Any] = {
            "name": "GitHub Actions",
            "type": "github",
            "url": f"{server}/{repo}",
            "buildOrder": _number(run),
            "buildName": f"{env.get('GITHUB_WORKFLOW', 'workflow')} #{run}",
            "buildUrl": f"{server}/{repo}/actions/runs/{env.get('GITHUB_RUN_ID', '')}",
            "reportName": "DR drills",
        }
    elif env.get("GITLAB_CI") == "true":
        pipeline = env.get("CI_PIPELINE_IID", "")
        info = {
            "name": "GitLab CI",
            "type": "gitlab",
            "url": env.get("CI_PROJECT_URL"),
            "buildOrder": _number(pipeline),
            "buildName": f"{env.get('CI_PROJECT_PATH', 'pipeline')} #{pipeline}",
            "buildUrl": env.get("CI_PIPELINE_URL"),
            "reportName": "DR drills",
        }
    else:
        return None
    return {k: v for k, v in info.items() if v is not None}


def write_allure_metadata(
    results_dir: Path, environment: Mapping[str, str], env: Mapping[str, str] | None = None
) -> None:
    """Write ``environment.properties`` (python, host, package versions + ``environment``),
    ``categories.json`` and, in CI (``env``, default the process's), ``executor.json``
    into ``results_dir``. Call from ``pytest_sessionfinish``."""
    results_dir.mkdir(parents=True, exist_ok=True)
    executor = ci_executor(os.environ if env is None else env)
    if executor is not None:
        (results_dir / "executor.json").write_text(json.dumps(executor, indent=2) + "\n")
    env = {"python": platform.python_version(), "host": platform.node(), **_versions()}
    env.update(environment)
    lines = [f"{_escape(k)}={_escape(str(v))}\n" for k, v in sorted(env.items())]
    (results_dir / "environment.properties").write_text("".join(lines), encoding="utf-8")
    (results_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n")


def _escape(text: str) -> str:
    """Java .properties escaping of the characters that would break a line."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")

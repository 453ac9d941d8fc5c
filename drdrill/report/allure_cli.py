"""The Allure 2 command line: find it, and build the HTML report with analytics off.

``npm install allure-commandline`` (needs Java 17) puts it in ``node_modules/.bin``;
an ``allure`` on PATH works too. Without ``ALLURE_NO_ANALYTICS=true`` the
generated report embeds a tracking tag and the generator posts analytics.

Allure 2 draws its Trend widgets (history, duration, categories, retries) from the
``history/`` of the report it generated before: ``generate_report`` copies
``<out>/history`` into ``<results>/history`` before ``allure generate --clean`` wipes
``<out>``, and writes ``executor.json`` (who ran it, and the build number each trend
column is labelled with) when the results do not carry one from CI already
(``drdrill.report.allure.write_allure_metadata`` writes GitHub's or GitLab's). A report
already built from the same results is left as it is: a second build would add the same
drills to the trends again.
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drdrill.errors import DrillError

__all__ = [
    "HOW_TO_GET_ALLURE",
    "carry_history",
    "find_allure",
    "generate_report",
    "host_executor",
    "trend_runs",
    "up_to_date",
]

BUILT_FROM = "drdrill-built-from.json"
"""In a generated report: the result files it was built from (see ``up_to_date``)."""

HOST_EXECUTOR_TYPE = "local"
"""The executor ``type`` drdrill writes for a report built outside CI (rewritten at each
generation, unlike an executor.json a CI integration left in the results)."""

HOW_TO_GET_ALLURE = """\
No Allure command line found (looked for node_modules/.bin/allure and `allure` on PATH).
To build the HTML report, install Java 17 and Node.js, then in the project directory:
  npm install allure-commandline
and run `drdrill report` again. Or by hand (copying the last report's history first keeps
the Trend widgets):
  rm -rf {results}/history; cp -r {out}/history {results}/history 2>/dev/null
  ALLURE_NO_ANALYTICS=true npx allure generate {results} -o {out} --clean
The stand-alone drill summary needs nothing: {latest}"""


def find_allure(project: Path | None = None) -> str | None:
    """``node_modules/.bin/allure`` of the project (default: the working directory) if
    npm installed it there, else ``allure`` on PATH, else None."""
    local = (project or Path.cwd()) / "node_modules" / ".bin" / "allure"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("allure")


def generate_report(allure: str, results: Path, out: Path, *, timeout_s: float = 120.0) -> Path:
    """``allure generate results -o out --clean`` with analytics off; the report's index.html.
    DrillError when there are no results or the generator fails."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise DrillError(f"no Allure results in {results}: run a drill first (`drdrill run full`)")
    if up_to_date(results, out):
        return out / "index.html"
    carry_history(out, results)
    _write_host_executor(results, out)
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    try:
        done = subprocess.run(
            [allure, "generate", str(results), "-o", str(out), "--clean"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DrillError(f"allure generate could not run: {exc}") from exc
    index = out / "index.html"
    if done.returncode != 0 or not index.is_file():
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise DrillError(f"allure generate failed (exit {done.returncode}): {detail}")
    (out / BUILT_FROM).write_text(json.dumps(_fingerprint(results)) + "\n")
    return index


def _fingerprint(results: Path) -> list[str]:
    """Which test results a report is built from (their files are named by uuid)."""
    return sorted(p.name for p in results.glob("*-result.json"))


def up_to_date(results: Path, out: Path) -> bool:
    """True when the report in ``out`` was built from exactly these results: building it
    again would count the same drills twice in its trends (delete ``out`` to rebuild)."""
    if not (out / "index.html").is_file():
        return False
    try:
        built_from = json.loads((out / BUILT_FROM).read_text())
    except (OSError, ValueError):
        return False
    return bool(built_from == _fingerprint(results))


def carry_history(previous_report: Path, results: Path) -> bool:
    """Copy the previous report's ``history/`` into ``results/history`` (replacing what
    is there): Allure 2 then adds this run to the trends. False when there is none."""
    history = previous_report / "history"
    if not history.is_dir():
        return False
    target = results / "history"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(history, target)
    return True


def trend_runs(report: Path) -> list[dict[str, Any]]:
    """The runs in a generated report's history trend, newest first (Allure's order);
    empty when there is no report or no trend yet."""
    try:
        runs = json.loads((report / "history" / "history-trend.json").read_text())
    except (OSError, ValueError):
        return []
    return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


def host_executor(previous_report: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """executor.json for a report built on this machine: who and where, and the next
    build number after the previous report's (1 for the first)."""
    orders = [r.get("buildOrder") for r in trend_runs(previous_report)]
    numbers = [o for o in orders if isinstance(o, int) and not isinstance(o, bool)]
    host = platform.node() or "localhost"
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    order = max(numbers, default=0) + 1
    return {
        "name": f"{user}@{host}",
        "type": HOST_EXECUTOR_TYPE,
        "buildOrder": order,
        "buildName": f"drdrill report #{order} on {host}, {when}",
        "reportName": "DR drills",
    }


def _write_host_executor(results: Path, previous_report: Path) -> None:
    """Write the host's executor.json unless the results carry one from CI."""
    path = results / "executor.json"
    existing = _read_json(path)
    if existing is not None and existing.get("type") != HOST_EXECUTOR_TYPE:
        return
    path.write_text(json.dumps(host_executor(previous_report), indent=2) + "\n")


def _read_json(path: Path) -> Mapping[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

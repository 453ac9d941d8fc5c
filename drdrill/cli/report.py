"""``drdrill report``: the Allure HTML report, or the latest drill's summary."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from drdrill.cli.run import PROJECT
from drdrill.config import load_config
from drdrill.errors import DrillError
from drdrill.report.summary import read_history, readiness

__all__ = ["find_allure", "register"]

HOW_TO_GET_ALLURE = (
    "no Allure command line found. To get the HTML report: install Java 17 and Node.js, then\n"
    "  npm install allure-commandline      (in the project directory)\n"
    "and run `drdrill report` again. The stand-alone summaries need nothing: see {latest}"
)


def find_allure() -> str | None:
    """``allure`` on PATH, or the one ``npm install allure-commandline`` put in node_modules."""
    local = PROJECT / "node_modules" / ".bin" / "allure"
    if local.exists():
        return str(local)
    return shutil.which("allure")


def _latest(reports: Path) -> Path | None:
    summaries = sorted(reports.glob("*/summary.md"), key=lambda p: p.stat().st_mtime)
    return summaries[-1] if summaries else None


def _report(args: argparse.Namespace) -> int:
    config = load_config(args.drill_config)
    reports = config.reports_dir
    latest = _latest(reports)
    if args.latest:
        if latest is None:
            raise DrillError(f"no drill report in {reports} yet; run `drdrill run full`")
        print(latest.read_text())
        score = readiness(read_history(reports))
        if score is not None:
            print(f"DR readiness (last 10 drills passed): {score:.0%}")
        return 0
    results = Path(args.results) if args.results else reports / "allure-results"
    out = Path(args.out) if args.out else reports / "allure-report"
    if not results.is_dir() or not any(results.iterdir()):
        raise DrillError(f"no Allure results in {results}; run `drdrill run full` first")
    allure = find_allure()
    if allure is None:
        print(HOW_TO_GET_ALLURE.format(latest=latest or reports))
        return 0
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    done = subprocess.run(
        [allure, "generate", str(results), "-o", str(out), "--clean"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DrillError(f"allure generate failed: {(done.stderr or done.stdout).strip()}")
    print(f"Allure report: {out / 'index.html'}  (serve it: allure open {out})")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="build the Allure HTML report / show the last summary")
    parser.add_argument("--latest", action="store_true", help="print the last drill's summary")
    parser.add_argument("--results", help="Allure results dir (default reports/allure-results)")
    parser.add_argument("--out", help="HTML output dir (default reports/allure-report)")
    parser.set_defaults(func=_report)

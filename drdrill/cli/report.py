"""``drdrill report``: the Allure HTML report, or the latest drill's summary.

::

    drdrill report [--results reports/allure-results] [--out reports/allure-report]
    drdrill report --latest        # the last drill's summary.md + DR readiness trend,
                                   # and where its page (summary.html) and trend.png are
    drdrill report --verify [DRILL_DIR|--latest]
                                   # the drill's archive against its manifest.json and the
                                   # audit trail's hash chain: exit 1 naming the first bad
                                   # file/line (without DRILL_DIR: the latest drill)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from drdrill.errors import DrillError
from drdrill.report.allure_cli import (
    HOW_TO_GET_ALLURE,
    find_allure,
    generate_report,
    trend_runs,
    up_to_date,
)
from drdrill.report.archive import verify

__all__ = ["register"]


def _print_latest(reports: Path) -> int:
    from drdrill.report.history import read_history, readiness, trend_lines
    from drdrill.report.summary import latest_summary

    latest = latest_summary(reports)
    if latest is None:
        raise DrillError(f"no drill report in {reports} yet; run `drdrill run full`")
    print(latest.read_text(encoding="utf-8"), end="")
    history = read_history(reports)
    score = readiness(history.rows)
    if score is not None:
        print(f"\nDR readiness (share of the last 10 drills that passed): {score:.0%}")
        print("\n".join(trend_lines(history.rows)))
    if note := history.skipped_note():
        print(f"\n{note} (reports/history.jsonl)")
    _print_pages(reports, latest)
    return 0


_LATEST = "\0latest"


def _drill_dir(reports: Path, given: str) -> Path:
    """The drill directory ``--verify`` names: a path, a drill id under ``reports``, or
    (``--latest`` / nothing) the drill whose summary was written last."""
    if given == _LATEST:
        from drdrill.report.summary import latest_summary

        latest = latest_summary(reports)
        if latest is None:
            raise DrillError(f"no drill report in {reports} yet; run `drdrill run full`")
        return latest.parent
    for candidate in (Path(given), reports / given):
        if candidate.is_dir():
            return candidate
    raise DrillError(
        f"--verify {given}: no such drill directory (a path, or a drill id under {reports})"
    )


def _verify(reports: Path, given: str) -> int:
    drill_dir = _drill_dir(reports, given)
    result = verify(drill_dir)
    if result.ok:
        print(
            f"verified {drill_dir}: {result.files} files as sealed, audit trail of "
            f"{result.records} records chained intact; manifest.json sha256 "
            f"{result.manifest_sha256}"
        )
        return 0
    first, *others = result.problems
    print(f"NOT VERIFIED {drill_dir}: {first}")
    for problem in others:
        print(f"  also {problem}")
    return 1


def _print_pages(reports: Path, latest: Path) -> None:
    """Where the pictures and the page of the last drill are (open them in a browser)."""
    page = latest.parent / "summary.html"
    if page.is_file():
        print(f"\nThe drill as a page: {page}")
    if (reports / "trend.png").is_file():
        print(f"RTO/RPO per drill: {reports / 'trend.png'}")


def _report(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.report.summary import latest_summary

    config = load_config(args.drill_config)
    reports = config.reports_dir
    if args.verify is not None:
        return _verify(reports, args.verify)
    if args.latest:
        return _print_latest(reports)
    results = Path(args.results) if args.results else reports / "allure-results"
    out = Path(args.out) if args.out else reports / "allure-report"
    latest = latest_summary(reports)
    allure = find_allure()
    if allure is None:
        print(HOW_TO_GET_ALLURE.format(results=results, out=out, latest=latest or reports))
        return 0
    fresh = not up_to_date(results, out)
    index = generate_report(allure, results, out)
    print(f"Allure report: {index}  (serve it: {allure} open {out})")
    if not fresh:
        print(f"(already built from these results; delete {out} to build it again)")
    runs = len(trend_runs(out))
    print(
        f"Trend: {runs} run(s) so far (each build carries the previous report's history)"
        if runs > 1
        else "Trend: this is its first run; the next `drdrill report` adds to it"
    )
    if latest is not None:
        print(f"Latest drill summary: {latest}")
        _print_pages(reports, latest)
    return 0


def register(sub: Any) -> None:
    """Add ``drdrill report`` to the command line."""
    parser = sub.add_parser("report", help="build the Allure HTML report / show the last summary")
    parser.add_argument("--latest", action="store_true", help="print the last drill's summary")
    parser.add_argument(
        "--verify",
        nargs="?",
        const=_LATEST,
        metavar="DRILL_DIR",
        help="check a drill's archive (manifest.json, the audit trail's hash chain); "
        "default the latest drill; exit 1 naming the first bad file/line",
    )
    parser.add_argument("--results", help="Allure results dir (default reports/allure-results)")
    parser.add_argument("--out", help="HTML output dir (default reports/allure-report)")
    parser.set_defaults(func=_report)

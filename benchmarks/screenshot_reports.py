"""Look at the reports as people do: screenshots of the latest drill's summary.html and
of the Allure report's overview, taken by headless Chromium from a local HTTP server.

Serves a reports directory on 127.0.0.1 (the Allure report loads its data with XHR,
which a ``file://`` page may not), and writes ``summary.png``, ``allure.png`` (the
overview: trend, executor, environment) and ``allure-case.png`` (the drill that finished
last, its steps)::

    .venv/bin/python benchmarks/screenshot_reports.py [--reports reports] [--out DIR]
    .venv/bin/python benchmarks/screenshot_reports.py --demo DIR   # no lab needed

``--demo DIR`` first builds a reports directory of hand-made drills in DIR (labelled
``demo-*``: figures invented, nothing measured), with a history, and runs
``drdrill report`` twice over hand-made Allure results so the Trend widgets have two
builds. Without it, run a drill and ``drdrill report`` first.

Needs Chromium (``apt-get install -y chromium`` as root) and, for the Allure page, the
Allure command line (``npm install allure-commandline``, Java 17).
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from drdrill.config import load_config
from drdrill.measurement.results import (
    Bounds,
    LedgerSummary,
    Measurements,
    OutageWindow,
    PhaseTiming,
)
from drdrill.measurement.samples import CRITICAL_FLOW, HEALTH, Sample
from drdrill.measurement.verdict import judge
from drdrill.report.allure import write_allure_metadata
from drdrill.report.allure_cli import find_allure, generate_report
from drdrill.report.history import HISTORY_FIELDS, append_history_line
from drdrill.report.summary import DrillSummary, latest_summary
from drdrill.report.writer import DrillReport, UnmeasuredDrill

S = 1_000_000_000
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PHASES = (
    ("assessment", 0.9),
    ("dns_failover", 0.6),
    ("scale_dr", 1.4),
    ("database_promotion", 0.3),
    ("repoint_applications", 0.4),
    ("service_verification", 0.5),
)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on 127.0.0.1 (an ephemeral port); yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def find_browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def screenshot(browser: str, url: str, out: Path, size: tuple[int, int], wait_ms: int) -> Path:
    """One headless Chromium screenshot of ``url`` (its own throw-away profile)."""
    with tempfile.TemporaryDirectory(prefix="drdrill-chromium-") as profile:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                f"--virtual-time-budget={wait_ms}",
                f"--screenshot={out}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if not out.is_file():
        raise SystemExit(f"no screenshot of {url}: {done.stderr.strip()[-1000:]}")
    return out


def _measurements(t_fault: int, rto: float | None, lost: int) -> Measurements:
    phases, start = [], t_fault + int(0.1 * S)
    for name, seconds in PHASES:
        phases.append(PhaseTiming(name, start, start + int(seconds * S)))
        start += int(seconds * S)
    restored = t_fault + int(rto * S) if rto is not None else None
    return Measurements(
        t_fault_ns=t_fault,
        t_restored_ns=restored,
        rto_s=rto,
        rto_resolution_s=0.1,
        detection_s=0.2,
        confirmation_s=0.1,
        rpo_s=0.12 if lost else 0.0,
        rpo_bounds=Bounds(0.08 if lost else 0.0, 0.12 if lost else 0.05),
        ledger=LedgerSummary(
            4200,
            lost,
            2,
            35,
            tuple(f"demo-ord-{i:05d}" for i in range(lost)),
            ("demo-ord-x1", "demo-ord-x2"),
        ),
        phases=tuple(phases),
        outages=(OutageWindow(t_fault, restored or t_fault + 30 * S),),
        user_outages=(OutageWindow(t_fault + int(0.2 * S), restored or t_fault + 30 * S),),
        error_rate=0.08,
        samples=400,
    )


def _samples(t_fault: int, rto: float) -> list[Sample]:
    found = []
    for step in range(-50, int((rto + 8) * 10)):
        t = t_fault + step * S // 10
        up = not t_fault <= t < t_fault + int(rto * S)
        found += [Sample(t, CRITICAL_FLOW, up, 0.004), Sample(t + S // 50, HEALTH, up, 0.002)]
    return found


def build_demo(reports: Path) -> None:
    """Hand-made drills (figures invented) in ``reports``: a history of eight, the last
    with its report directory, and two Allure builds."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports.parent / "drdrill.yaml").write_text(f"reports_dir: {reports}\n")
    config = load_config(reports.parent / "drdrill.yaml")
    start = datetime(2027, 1, 4, 6, 0, tzinfo=UTC)
    figures = [(4.1, 0), (3.6, 0), (None, 0), (2100.0, 0), (3.2, 3), (2.9, 0), (None, None)]
    for week, (rto, lost) in enumerate(figures):
        began = start + timedelta(weeks=week)
        t_fault = int(began.timestamp()) * S + 20 * S
        drill_id = f"demo-{began:%Y%m%d}"
        if lost is None:  # aborted before its measurement
            append_history_line(
                UnmeasuredDrill(
                    drill_id,
                    "region_failure",
                    "full",
                    "lab",
                    t_fault - 20 * S,
                    "blackhole",
                    "aborted",
                    "activating",
                    "stop condition: customer error rate over 50 %",
                ).to_json(),
                reports,
            )
            continue
        m = _measurements(t_fault, rto, lost)
        verdicts = judge(m, config, "region_failure")
        outcome = "passed" if verdicts.passed and rto is not None and not lost else "failed"
        summary = DrillSummary(
            drill_id,
            "region_failure",
            "full",
            "lab",
            t_fault - 20 * S,
            "power-off",
            m,
            verdicts,
            outcome=outcome,
            reached="done",
        )
        record = summary.to_json()
        append_history_line({k: record[k] for k in HISTORY_FIELDS}, reports)
    began = start + timedelta(weeks=len(figures))
    t_fault = int(began.timestamp()) * S + 20 * S
    drill_id = f"demo-{began:%Y%m%d}"
    m = _measurements(t_fault, 3.4, 2)
    summary = DrillSummary(
        drill_id,
        "region_failure",
        "full",
        "lab",
        t_fault - 20 * S,
        "power-off",
        m,
        judge(m, config, "region_failure"),
        load={"requests": 48210, "requests_per_s": 401.8, "failures": 1310},
        actor="drteam@demo",
        notes=("demo data: figures invented to show the page, nothing was measured",),
    )
    report = DrillReport(reports / drill_id, reports)
    report_dir = reports / drill_id
    report_dir.mkdir(parents=True, exist_ok=True)
    for name in ("journal-region-failure.json", "journal-dr-activation.json"):
        (report_dir / name).write_text(json.dumps({"status": "completed", "demo": True}))
    (report_dir / "audit.jsonl").write_text(json.dumps({"action": "fail_region"}) + "\n")
    (report_dir / "timeline.jsonl").write_text(json.dumps({"kind": "fault_injected"}) + "\n")
    report.write(
        summary, ledger={"lost_ids": list(m.ledger.lost_ids)}, samples=_samples(t_fault, 3.4)
    )
    report.conclude(
        summary,
        UnmeasuredDrill(
            drill_id,
            "region_failure",
            "full",
            "lab",
            t_fault,
            "power-off",
            "failed",
            "done",
            None,
        ),
    )
    allure = find_allure()
    if allure is None:
        print("no Allure CLI: the demo has no Allure report", file=sys.stderr)
        return
    results, out = reports / "allure-results", reports / "allure-report"
    for build in (
        {"power-off": "passed", "blackhole": "failed"},
        {"power-off": "passed", "blackhole": "passed", "partition": "failed"},
    ):
        shutil.rmtree(results, ignore_errors=True)
        results.mkdir(parents=True)
        for name, status in build.items():
            (results / f"{uuid.uuid4()}-result.json").write_text(
                json.dumps(_allure_result(name, status))
            )
        write_allure_metadata(results, {"target": "lab", "data": "demo (hand-made)"})
        generate_report(allure, results, out)


def _allure_result(name: str, status: str) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp() * 1000)
    return {
        "uuid": str(uuid.uuid4()),
        "historyId": f"demo-{name}",
        "fullName": f"features.region_failure.{name}",
        "name": f"Region failure drill ({name}) [demo]",
        "status": status,
        "stage": "finished",
        "start": now - 60_000,
        "stop": now,
        "labels": [{"name": "feature", "value": "Region failure drill"}],
        **(
            {"statusDetails": {"message": "RTO breach: 35 min against 30 min (demo)"}}
            if status == "failed"
            else {}
        ),
    }


def _latest_case(report: Path) -> str | None:
    """The uid of the test case that finished last in a generated Allure report."""
    cases = []
    for path in (report / "data" / "test-cases").glob("*.json"):
        case = json.loads(path.read_text())
        cases.append((case.get("time", {}).get("stop", 0), str(case.get("uid", path.stem))))
    return max(cases)[1] if cases else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    parser.add_argument("--out", type=Path, help="where the PNGs go (default: --reports)")
    parser.add_argument("--demo", type=Path, help="build hand-made reports in this dir first")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("no Chromium: apt-get install -y chromium (as root)", file=sys.stderr)
        return 2
    reports: Path = args.reports
    if args.demo is not None:
        reports = args.demo.resolve() / "reports"
        shutil.rmtree(reports, ignore_errors=True)
        build_demo(reports)
    reports = reports.resolve()
    out: Path = (args.out or reports).resolve()
    out.mkdir(parents=True, exist_ok=True)
    latest = latest_summary(reports)
    taken = []
    with serve(reports) as base:
        if latest is not None and (latest.parent / "summary.html").is_file():
            page = f"{base}/{latest.parent.name}/summary.html"
            taken.append(screenshot(browser, page, out / "summary.png", (1280, 3000), 3000))
        else:
            print(f"no drill summary.html in {reports}", file=sys.stderr)
        if (reports / "allure-report" / "index.html").is_file():
            index = f"{base}/allure-report/index.html"
            taken.append(screenshot(browser, index, out / "allure.png", (1440, 1100), 15000))
            case = _latest_case(reports / "allure-report")
            if case is not None:  # a drill's steps with their evidence
                page = f"{index}#testresult/{case}"
                shot = out / "allure-case.png"
                taken.append(screenshot(browser, page, shot, (1440, 1100), 15000))
        else:
            print(f"no Allure report in {reports}: run `drdrill report`", file=sys.stderr)
    for path in taken:
        print(path)
    return 0 if taken else 1


if __name__ == "__main__":
    sys.exit(main())

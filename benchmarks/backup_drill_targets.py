"""The monthly backup drill on the lab and on the AWS twin: what the twin's RDS calls cost.

Runs ``pytest -k backup_restore`` (the stock feature: integrity check, PITR, snapshot +
cross-region copy, data corruption, ransomware, object versions) ``--runs`` times per
target, each run on a fresh lab of its own (brought up and taken down by the drill
session), and prints per target: the session's wall time, and for the two measured
scenarios (data corruption, ransomware) the RTO and the ``database_restore`` phase,
each as the median and range over the runs, then each run's writes discarded by the
restore and each drill's outcome. On the twin every snapshot, copy and
restore is an RDS call to moto that the lab then follows; the difference between the
two columns is that protocol (moto answers at once: nothing here is AWS's own time).

    flock /tmp/drdrill-lab.lock .venv/bin/python benchmarks/backup_drill_targets.py \\
        [--runs 3] [--base-port 28700] [--targets lab,twin]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("data_corruption", "ransomware")


def _run(target: str, base_port: int) -> tuple[float, list[dict[str, Any]]]:
    state = Path(tempfile.mkdtemp(prefix="drdrill-bench-backup-", dir="/tmp"))
    os.chmod(state, 0o755)
    config = state / "drdrill.yaml"
    config.write_text(
        f"lab: {{base_port: {base_port}, state_dir: {state / 'lab'}}}\n"
        f"reports_dir: {state / 'reports'}\n"
        "targets:\n"
        "  bench-twin:\n"
        "    kind: aws-twin\n"
        f"    moto_port: {base_port - 5000}\n"
        f"    kube_ports: {{primary: {base_port - 4999}, dr: {base_port - 4998}}}\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_features.py")),
            *("-k", "backup_restore", f"--drill-config={config}", "-p", "no:cacheprovider"),
            *("-q", "--target", "lab" if target == "lab" else "bench-twin"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-3000:], file=sys.stderr)
        raise SystemExit(f"the backup drill failed on {target} (exit {done.returncode})")
    summaries = [json.loads(p.read_text()) for p in (state / "reports").glob("*/summary.json")]
    return wall, summaries


def _figure(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=28700)
    parser.add_argument("--targets", default="lab,twin")
    args = parser.parse_args()
    for target in args.targets.split(","):
        walls: list[float] = []
        rto: dict[str, list[float]] = {s: [] for s in SCENARIOS}
        restore: dict[str, list[float]] = {s: [] for s in SCENARIOS}
        discarded: dict[str, list[int]] = {s: [] for s in SCENARIOS}
        outcomes: dict[str, list[str]] = {s: [] for s in SCENARIOS}
        for _ in range(args.runs):
            wall, summaries = _run(target, args.base_port)
            walls.append(wall)
            for summary in summaries:
                scenario = summary["scenario"]
                if scenario not in SCENARIOS:
                    continue
                discarded[scenario].append(summary.get("discarded_by_restore", 0))
                outcomes[scenario].append(summary.get("outcome") or "-")
                if summary.get("rto_s") is not None:
                    rto[scenario].append(summary["rto_s"])
                    restore[scenario].append(summary["phases"]["database_restore"])
        print(f"{target}: {args.runs} runs of pytest -k backup_restore, wall {_figure(walls)}")
        for scenario in SCENARIOS:
            print(
                f"  {scenario:16} RTO {_figure(rto[scenario])}"
                f"   database_restore {_figure(restore[scenario])}"
                f"   discarded by the restore {discarded[scenario]}"
                f"   outcomes {outcomes[scenario]}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

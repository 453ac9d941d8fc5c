"""How stable is the lab's RTO from drill to drill? Five full drills per failure mode.

Runs the full drill (``pytest -m full``: power-off, blackhole and partition, each with
its own lab fault, activation and rollback) ``--runs`` times on a lab of its own, then
prints per mode the RTO of every drill, the median and the spread (max − min), and
whether every drill passed. The issue's goals: spread ≤ 0.5 s and every lab RTO ≤ 3 s.

    .venv/bin/python benchmarks/rto_spread.py [--runs 5] [--base-port 27200]

Reads the figures from the drills' own ``reports/history.jsonl``; nothing is assumed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from drdrill.config import load_config
from drdrill.lab import Lab
from drdrill.support import jsonl

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base-port", type=int, default=27200)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="drdrill-rto-spread-", dir="/tmp"))
    os.chmod(state, 0o755)
    config_file = state / "drdrill.yaml"
    reports = state / "reports"
    config_file.write_text(
        f"lab: {{base_port: {args.base_port}, state_dir: {state / 'lab'}}}\n"
        f"reports_dir: {reports}\n"
    )
    lab = Lab(load_config(config_file).lab)
    walls = []
    try:
        for run in range(args.runs):
            started = time.monotonic()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    str(ROOT / "tests" / "test_features.py"),
                    "-m",
                    "full",
                    f"--drill-config={config_file}",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.monotonic() - started)
            print(f"run {run + 1}: pytest exit {done.returncode}, {walls[-1]:.1f} s", flush=True)
    finally:
        lab.down()
    by_mode: dict[str, list[tuple[float | None, str]]] = defaultdict(list)
    for line in jsonl.read(reports / "history.jsonl").records:
        by_mode[str(line.get("failure_mode"))].append((line.get("rto_s"), str(line["outcome"])))
    print()
    print("| mode | RTO per drill (s) | median | spread | max | all passed |")
    print("|---|---|---|---|---|---|")
    for mode, rows in sorted(by_mode.items()):
        rtos = [r for r, _ in rows if r is not None]
        figures = ", ".join("—" if r is None else f"{r:.2f}" for r, _ in rows)
        passed = all(o == "passed" for _, o in rows)
        if rtos:
            print(
                f"| {mode} | {figures} | {statistics.median(rtos):.2f} | "
                f"{max(rtos) - min(rtos):.2f} | {max(rtos):.2f} | {passed} |"
            )
        else:
            print(f"| {mode} | {figures} | — | — | — | {passed} |")
    print(f"\nwall per full drill (3 modes): median {statistics.median(walls):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

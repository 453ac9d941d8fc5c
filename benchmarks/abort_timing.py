"""How long does the stop button take to bring the lab back, per drill state?

For each state of a full power-off drill (steady, after the fault, each of the six
activation phases, the fail back), starts ``drdrill run full --mode power-off``, waits
until the drill reaches that state (its timeline says so), presses Ctrl-C (SIGINT to the
command), and measures the seconds until the command has ended — the rollback complete —
then checks the lab is in its steady state (roles, no failure, replication streaming,
the global endpoint passing its checks) and the drill is in history as aborted.
The goal: ≤ 15 s from the press to steady state in every state.

    .venv/bin/python benchmarks/abort_timing.py [--base-port 27300] [--signal INT|TERM]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drdrill.config import load_config
from drdrill.lab import Lab
from drdrill.observation.verify import verify_http
from drdrill.support import jsonl

Seen = Callable[[list[dict[str, Any]]], bool]


def _note(name: str) -> Seen:
    return lambda ev: any(e["kind"] == "note" and e["name"] == name for e in ev)


def _kind(kind: str) -> Seen:
    return lambda ev: any(e["kind"] == kind for e in ev)


def _phase(name: str) -> Seen:
    return lambda ev: any(e["kind"] == "phase_start" and e["name"] == name for e in ev)


STATES: list[tuple[str, Seen]] = [
    ("steady (observing)", _note("steady_state")),
    ("after the fault", _kind("fault_injected")),
    *(
        (f"phase {p}", _phase(p))
        for p in (
            "assessment",
            "dns_failover",
            "scale_dr",
            "database_promotion",
            "repoint_applications",
            "service_verification",
        )
    ),
    ("fail back", _kind("rollback")),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=27300)
    parser.add_argument("--signal", choices=["INT", "TERM"], default="INT")
    parser.add_argument(
        "--only", default="", help="only the states whose label contains this (e.g. scale_dr)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="presses per state (default 1)")
    args = parser.parse_args()
    how = signal.SIGINT if args.signal == "INT" else signal.SIGTERM
    root = Path(tempfile.mkdtemp(prefix="drdrill-abort-timing-", dir="/tmp"))
    os.chmod(root, 0o755)
    config_file = root / "drdrill.yaml"
    config_file.write_text(
        f"lab: {{base_port: {args.base_port}, state_dir: {root / 'lab'}}}\n"
        f"reports_dir: {root / 'reports'}\n"
    )
    config = load_config(config_file)
    lab = Lab(config.lab)
    lab.up()
    rows = []
    try:
        chosen = [(label, seen) for label, seen in STATES if args.only in label]
        for label, seen in [state for state in chosen for _ in range(args.repeat)]:
            before = set(config.reports_dir.glob("*/timeline.jsonl"))
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "drdrill",
                    "--drill-config",
                    str(config_file),
                    "run",
                    "full",
                    "--mode",
                    "power-off",
                    "--keep-lab",
                ],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 120
            reached = False
            while time.monotonic() < deadline and not reached:
                new = set(config.reports_dir.glob("*/timeline.jsonl")) - before
                events = [e for path in new for e in jsonl.read(path).records]
                reached = seen(events)
                time.sleep(0.02)
            pressed = time.monotonic()
            proc.send_signal(how)
            proc.wait(timeout=180)
            took = time.monotonic() - pressed
            status = lab.status()
            problems = [
                region
                for region, role in (("primary", "primary"), ("dr", "standby"))
                if status["regions"][region]["failure"] is not None
                or status["regions"][region]["db"]["role"] != role
            ]
            healthy = status["running"] and not problems and verify_http(lab.edge_url).ok
            last = jsonl.read(config.reports_dir / "history.jsonl").records[-1]
            rows.append((label, reached, took, healthy, str(last.get("outcome"))))
            print(f"{label}: {took:.1f} s, steady {healthy}, {last.get('outcome')}", flush=True)
    finally:
        lab.down()
    print()
    print(f"| drill state when SIG{args.signal} was sent | to steady state | steady | recorded |")
    print("|---|---|---|---|")
    for label, reached, took, healthy, outcome in rows:
        mark = "" if reached else " (state not reached: pressed at timeout)"
        print(f"| {label}{mark} | {took:.1f} s | {healthy} | {outcome} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the lab survive round trips? ``drdrill run full`` several times on one lab.

Brings up a lab of its own once, then runs ``drdrill run full`` (three failure modes,
each: fault, DR activation, planned failback) ``--runs`` times in a row on it, the way a
user does with the lab already up. After every run it checks what the failback issue
requires of the round trip, from the lab itself and from the drills' own records:

- the lab was not re-created: the edge is the same process (same pid) as after
  ``lab up``;
- the lab is in its steady state (``Lab.steady_problems()`` empty: roles as after
  ``lab up``, the dr database streaming from the primary, the failover records back);
- every drill passed and lost no acknowledged write (``history.jsonl``);

and prints per run the wall time of ``drdrill run full``, and per drill the switchover's
customer-visible outage and fence → writable time and the failback phases' durations.

    flock /tmp/drdrill-lab.lock .venv/bin/python benchmarks/full_cycles.py \\
        [--runs 3] [--base-port 28600]
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

from drdrill.config import load_config
from drdrill.lab import Lab
from drdrill.support import jsonl

FAILBACK_PHASES = (
    "prepare_primary",
    "verify_primary",
    "switchover",
    "scale_down_dr",
    "validate_dr",
)


def _edge_pid(lab: Lab) -> str:
    return (lab.topology.pid_dir / "edge.pid").read_text().split()[0]


def _switchover(report: Path) -> dict[str, Any]:
    for line in (report / "timeline.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["name"] == "switchover_measured":
            return dict(event["detail"])
    return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=28600)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="drdrill-full-cycles-", dir="/tmp"))
    os.chmod(state, 0o755)
    config_file = state / "drdrill.yaml"
    reports = state / "reports"
    config_file.write_text(
        f"lab: {{base_port: {args.base_port}, state_dir: {state / 'lab'}}}\n"
        f"reports_dir: {reports}\n"
    )
    lab = Lab(load_config(config_file).lab)
    healthy = True
    walls: list[float] = []
    try:
        lab.up()
        edge = _edge_pid(lab)
        seen = 0
        for run in range(args.runs):
            started = time.monotonic()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "drdrill",
                    "--drill-config",
                    str(config_file),
                    "run",
                    "full",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.monotonic() - started)
            rows = jsonl.read(reports / "history.jsonl").records[seen:]
            seen += len(rows)
            problems = lab.steady_problems()
            same = _edge_pid(lab) == edge
            print(
                f"run {run + 1}: exit {done.returncode}, {walls[-1]:.1f} s wall; "
                f"lab re-created: {not same}; steady: {problems or 'yes'}",
                flush=True,
            )
            for row in rows:
                detail = _switchover(reports / str(row["drill_id"]))
                phases = row.get("phases") or {}
                failback = ", ".join(f"{p} {phases[p]:.2f}" for p in FAILBACK_PHASES if p in phases)
                print(
                    f"  {row.get('failure_mode')}: {row['outcome']}, RTO {row.get('rto_s')} s, "
                    f"lost {row.get('lost_writes')}; switchover customer-visible "
                    f"{detail.get('customer_visible_s')} s, fence → writable "
                    f"{detail.get('fence_to_writable_s')} s; failback phases (s): {failback}",
                    flush=True,
                )
                healthy &= row["outcome"] == "passed" and row.get("lost_writes") == 0
            healthy &= done.returncode == 0 and not problems and same
    finally:
        lab.down()
    if walls:
        print(f"\ndrdrill run full wall: median {statistics.median(walls):.1f} s over {len(walls)}")
    print("every run passed, lab healthy and never re-created" if healthy else "NOT HEALTHY")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())

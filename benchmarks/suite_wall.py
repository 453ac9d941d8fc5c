"""How long does the README's test command take on a fresh clone? ``--runs`` runs of it.

Clones this checkout's HEAD into a new directory (``--into``, default a ``mktemp -d``
directory: mode 700, as root's /root is), then runs ``python3 dev.py test`` there
``--runs`` times in a row: the first run also sets everything up (.venv, Allure), the
others reuse it. Prints each run's wall time, pytest's own time and its last line, then
the median and the range of pytest's time; ``--busy N`` keeps N ``yes > /dev/null`` loops
running through the last ``--busy-runs`` runs (default all: a saturated machine).

    python3 benchmarks/suite_wall.py [--runs 3] [--into DIR] [--busy 2 [--busy-runs 1]]
                                     [-- PYTEST ARGS]

Uses only the standard library (it runs before any venv exists).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--into", type=Path, default=None, help="clone here (must not exist)")
    parser.add_argument("--busy", type=int, default=0, help="yes loops to run meanwhile")
    parser.add_argument("--busy-runs", type=int, default=None, help="only the last N runs busy")
    parser.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    args = parser.parse_args()
    into = args.into or Path(tempfile.mkdtemp(prefix="drdrill-suite-")) / "drdrill"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(into)], check=True)
    print(f"clone: {into} ({_head(into)})", flush=True)
    busy: list[subprocess.Popen[bytes]] = []
    first_busy = args.runs - (args.runs if args.busy_runs is None else args.busy_runs) + 1
    pytest_s: list[float] = []
    failed = 0
    try:
        for run in range(1, args.runs + 1):
            if run == first_busy and args.busy:
                busy = [
                    subprocess.Popen(["sh", "-c", "exec yes > /dev/null"], start_new_session=True)
                    for _ in range(args.busy)
                ]
                print(f"run {run} on: {args.busy} busy loop(s)", flush=True)
            began = time.monotonic()
            done = subprocess.run(
                [sys.executable, "dev.py", "test", *args.pytest_args],
                cwd=into,
                capture_output=True,
                text=True,
            )
            wall = time.monotonic() - began
            last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
            match = re.search(r" in ([\d.]+)s", last)
            if match:
                pytest_s.append(float(match.group(1)))
            failed += done.returncode != 0
            print(f"run {run}: exit {done.returncode}, wall {wall:.0f} s: {last}", flush=True)
            (into.parent / f"run-{run}.log").write_text(done.stdout + done.stderr)
    finally:
        for loop in busy:
            loop.kill()
            loop.wait()
    if pytest_s:
        print(
            f"pytest: median {statistics.median(pytest_s):.0f} s "
            f"({min(pytest_s):.0f}-{max(pytest_s):.0f}) over {len(pytest_s)} runs; "
            f"{failed} run(s) failed; logs in {into.parent}"
        )
    return 1 if failed else 0


def _head(repo: Path) -> str:
    return subprocess.run(
        ["git", "log", "--oneline", "-1"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())

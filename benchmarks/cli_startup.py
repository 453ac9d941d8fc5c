"""How long do ``drdrill --help`` and ``drdrill check`` take, wall clock, start-up included?

Runs each command N times (default 5) as its own process and prints the median and the
range, and the CPU seconds (user + system) the command's process used, which a busy
machine inflates less than wall time. ``drdrill check --json`` runs against a lab this
script brings up itself (on ``--base-port``, its state in a temporary directory) and
always takes down again, then removes that directory; its lines also show the check's
own ``wall_s`` (what the checks took) and the rest of each run's wall time: start-up,
imports and exit.

Each command runs once first, untimed, with Python's bytecode cache in a temporary
directory (``PYTHONPYCACHEPREFIX``, ``PYTHONDONTWRITEBYTECODE`` unset): the timed runs
see what an installed drdrill sees, compiled modules, whatever the caller's environment
says. It prints figures only; nothing is judged.

    .venv/bin/python benchmarks/cli_startup.py [--runs 5] [--base-port 28800]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _drdrill(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drdrill", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and the output of one run."""
    cpu, started = _cpu(), time.perf_counter()
    done = _drdrill(args, env, cwd)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):  # check exits 1 for a lab that is not ready
        raise SystemExit(f"drdrill {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return took, _cpu() - cpu, done.stdout


def _spread(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds):6.3f} s   "
        f"range {min(seconds):.3f}–{max(seconds):.3f} s"
    )


def _figures(label: str, walls: list[float], cpus: list[float]) -> None:
    print(
        f"{label:<22} {_spread(walls)}   (n={len(walls)}); "
        f"CPU median {statistics.median(cpus):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument("--base-port", type=int, default=28800, help="the lab's first port")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="drdrill-cli-startup-", dir="/tmp"))
    os.chmod(root, 0o755)  # the lab's PostgreSQL runs as another user
    config = root / "drdrill.yaml"
    config.write_text(f"lab:\n  base_port: {args.base_port}\n  state_dir: {root / 'lab'}\n")
    env = _env(root / "pycache")
    lab = ["--drill-config", str(config), "lab"]

    walls, cpus = [], []
    _timed(["--help"], env, root)  # warm the bytecode cache
    for _ in range(args.runs):
        took, cpu, _ = _timed(["--help"], env, root)
        walls.append(took)
        cpus.append(cpu)
    _figures("drdrill --help", walls, cpus)

    up = _drdrill([*lab, "up"], env, root)
    try:
        if up.returncode != 0:
            raise SystemExit(f"lab up failed:\n{up.stderr}")
        check = ["--drill-config", str(config), "check", "--json"]
        _timed(check, env, root)
        walls, cpus, checks, ready = [], [], [], 0
        for _ in range(args.runs):
            took, cpu, out = _timed(check, env, root)
            report = json.loads(out)
            walls.append(took)
            cpus.append(cpu)
            checks.append(float(report["wall_s"]))
            ready += bool(report["ready"])
        _figures("drdrill check --json", walls, cpus)
        print(f"{'  its checks (wall_s)':<22} {_spread(checks)}   ready {ready}/{args.runs}")
        rest = [w - c for w, c in zip(walls, checks, strict=True)]
        print(f"{'  start-up and exit':<22} {_spread(rest)}")
    finally:
        down = _drdrill([*lab, "down"], env, root)
        print(down.stdout.strip() or down.stderr.strip())
        if down.returncode == 0:  # else the state is left for `lab down` by hand
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

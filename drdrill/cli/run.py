"""``drdrill run full|partial``: run the Gherkin drills through pytest, with live progress.

By default the stock drills shipped in the package (``drdrill.stock.drills``), in the
working directory's project (its ``drdrill.yaml``, its ``reports/``); given test paths,
the project's own drills instead. Either way the drdrill pytest plugin supplies the
options, fixtures and steps.

The run holds the target's lock (its pytest shares it). SIGINT and SIGTERM are passed on
to pytest, which stops the drill and rolls back; the command waits for that to finish
and never cuts it short. If this command is killed outright, its pytest gets SIGTERM
from the kernel (``PR_SET_PDEATHSIG``) and rolls back all the same. If its pytest dies
without finishing its drill (``kill -9``, the OOM killer, an INTERNALERROR), this command
puts the platform back from the drill's journal (``drdrill.orchestration.recovery``): the drill's
processes ended, the target failed back, the drill recorded ``aborted``; one line says
so, and the exit code is 128 + the signal (or pytest's own). ``--dry-run`` runs
nothing: it prints the runbook (``drdrill plan``). A non-lab target needs ``--confirm`` and
an approver (``--approved-by``, else asked here on the terminal and passed on to pytest);
without them the command exits 2 before it takes the lock
(``drdrill.orchestration.approval``), as it does when ``reports_dir`` lacks
``reports_min_free_mb`` of free space.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from drdrill.errors import SafetyError
from drdrill.stock import DRILLS
from drdrill.support import jsonl

if TYPE_CHECKING:
    from drdrill.config import DrillConfig
    from drdrill.support.lock import TargetLock

__all__ = ["register"]

_MODES = {"power-off": "power", "blackhole": "blackhole", "partition": "partition"}


class Progress:
    """Prints the timeline events of drills started during this run, as they happen."""

    def __init__(self, reports_dir: Path, since: float) -> None:
        self.reports_dir = reports_dir
        self.since = since
        self.shown: dict[Path, int] = {}
        self.faults: dict[Path, int] = {}
        self.starts: dict[tuple[Path, str], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Progress:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._poll()

    def _poll(self) -> None:
        if not self.reports_dir.is_dir():
            return
        for path in sorted(self.reports_dir.glob("*/timeline.jsonl")):
            if path.stat().st_mtime < self.since:
                continue
            # A line still being written is not yet a record: it is shown next time.
            records = jsonl.read(path).records
            for event in records[self.shown.get(path, 0) :]:
                with contextlib.suppress(AttributeError, KeyError, TypeError, ValueError):
                    self._show(path, event)  # a line that is no event is not shown
            self.shown[path] = len(records)

    def _show(self, path: Path, event: dict[str, Any]) -> None:
        kind, name, t_ns = event["kind"], event.get("name", ""), int(event["t_ns"])
        drill = path.parent.name
        if kind == "fault_injected":
            self.faults[path] = t_ns
            print(f"[{drill}] 💥 region {name} failed ({event['detail'].get('mode')})", flush=True)
        elif kind == "phase_start":
            self.starts[(path, name)] = t_ns
        elif kind == "phase_end":
            took = (t_ns - self.starts.get((path, name), t_ns)) / 1e9
            mark = "✓" if event["detail"].get("ok") else "✗"
            since = ""
            if path in self.faults:
                since = f"  (t_fault +{(t_ns - self.faults[path]) / 1e9:.2f} s)"
            print(f"[{drill}]   {mark} {name:<22} {took:7.3f} s{since}", flush=True)
        elif kind == "rollback":
            print(f"[{drill}] ↩ putting the platform back (fail back)", flush=True)


def _ensure_lab(config: DrillConfig) -> bool:
    """Bring the lab up unless it runs; True if this call did."""
    from drdrill.lab import Lab

    lab = Lab.from_config(config)
    if lab.is_running():
        return False
    print("bringing the lab up ...", flush=True)
    status = lab.up()
    print(f"lab up in {status.get('up_seconds')} s: edge {status['edge']}", flush=True)
    return True


def _run(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.report.space import check_report_space
    from drdrill.targets import target_lock

    config = load_config(args.drill_config)
    config.target(args.target)  # unknown target: a clear error before anything runs
    if args.dry_run:
        from drdrill.cli.plan import print_plan

        print(f"dry run: nothing is executed; the {args.kind} drill would do this:", flush=True)
        return print_plan(config, args.kind, args.target)
    approved_by = _approval(args, config)  # refused: exit 2, before the lock or the lab
    check_report_space(config.reports_dir, config.reports_min_free_mb)  # (each drill again)
    with target_lock(config, args.target, command=f"drdrill run {args.kind}") as lock:
        started_lab = args.target == "lab" and _ensure_lab(config)
        try:
            started = time.time()
            print(f"running the {args.kind} drill(s) on target {args.target} ...", flush=True)
            argv = _pytest_argv(args, config, approved_by)
            code, pytest_pid = _drill(argv, lock, config, started)
            code = _recover_if_abandoned(args, config, code, pytest_pid)
        finally:
            if started_lab and not args.keep_lab:
                from drdrill.lab import Lab

                Lab.from_config(config).down()
                print("lab down (it was down before this run; --keep-lab keeps it up)", flush=True)
    _print_outcome(config.reports_dir, started)
    return code


def _approval(args: argparse.Namespace, config: DrillConfig) -> str | None:
    """Who approved the drill: ``--approved-by``, else (a non-lab target) asked on the
    terminal, else refused; a non-lab target without ``--confirm`` is refused at once."""
    from drdrill.orchestration.approval import approver, ask_approver, needs_approval

    if config.target(args.target).kind != "lab" and not args.confirm:
        raise SafetyError(
            f"target {args.target!r} is not the lab: pass --confirm to drill it, or "
            "--dry-run to see what it would do. Nothing was changed"
        )
    if args.approved_by is not None:
        return approver(args.approved_by)
    if not needs_approval(config, args.target, confirm=args.confirm, dry_run=False):
        return None
    return ask_approver(sys.stdin, target=args.target, kind=args.kind)


def _pytest_argv(
    args: argparse.Namespace, config: DrillConfig, approved_by: str | None = None
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *(args.paths or [str(DRILLS)]),
        "-m",
        args.kind,
        "--target",
        args.target,
        "--alluredir",
        str(config.reports_dir / "allure-results"),
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
    ]
    if args.drill_config:
        argv += [f"--drill-config={Path(args.drill_config).resolve()}"]
    if args.mode:
        argv += ["-k", _MODES[args.mode]]
    argv += ["--confirm"] if args.confirm else []
    argv += ["--approved-by", approved_by] if approved_by else []
    return argv


def _die_with_parent() -> None:
    """In the pytest child: SIGTERM when this command dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _drill(
    argv: list[str], lock: TargetLock, config: DrillConfig, started: float
) -> tuple[int, int]:
    """Run pytest in its own process group, pass SIGINT/SIGTERM on, wait for it to end;
    its return code (negative: the signal that killed it) and its pid."""
    child = subprocess.Popen(
        argv,
        env={**os.environ, **lock.child_env()},
        pass_fds=lock.pass_fds(),
        start_new_session=True,  # a terminal's Ctrl-C reaches it once: through us
        preexec_fn=_die_with_parent,
    )
    stops = 0

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stops
        stops += 1
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        if stops == 1:
            print("\ndrdrill: stopping the drill; it rolls back first", flush=True)
        else:
            print("drdrill: the rollback runs to completion; waiting for it", flush=True)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    progress = Progress(config.reports_dir, started).start()
    try:
        while True:
            with contextlib.suppress(InterruptedError):
                return child.wait(), child.pid
    finally:
        progress.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _recover_if_abandoned(
    args: argparse.Namespace, config: DrillConfig, code: int, pytest_pid: int
) -> int:
    """After pytest: a drill it left unfinished (killed, INTERNALERROR) is rolled back
    and recorded here, with one line; the exit code says how pytest ended."""
    ended = _how_it_ended(pytest_pid, code)
    exit_code = 128 - code if code < 0 else code
    from drdrill.orchestration.journal import is_abandoned, journal_path, read
    from drdrill.orchestration.recovery import recover

    journal = read(journal_path(config, args.target))
    if not is_abandoned(journal):
        if code < 0:
            print(f"drdrill: {ended}; no drill was left unfinished", flush=True)
        return exit_code
    assert journal is not None
    print(
        f"drdrill: {ended}, leaving drill {journal.drill_id} unfinished (state "
        f"{journal.state}); recovering: ending its processes, rolling back",
        flush=True,
    )
    recovery = recover(config, journal, ended, confirm=args.confirm)
    print(f"drdrill: {recovery.line()}", flush=True)
    return exit_code or 1


def _how_it_ended(pid: int, code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the drill's pytest (pid {pid}) was killed by {name}"
    return f"the drill's pytest (pid {pid}) exited with code {code}"


def _print_outcome(reports_dir: Path, since: float) -> None:
    from drdrill.report.history import read_history, readiness

    summaries = sorted(p for p in reports_dir.glob("*/summary.md") if p.stat().st_mtime >= since)
    for path in summaries:
        text = path.read_text(encoding="utf-8", errors="replace")
        print()
        print(text.split("## Activation phases")[0].rstrip())
        print(f"\nreport: {path.parent}")
    history = read_history(reports_dir)
    score = readiness(history.rows)
    if score is not None:
        print(f"\nDR readiness (last 10 drills passed): {score:.0%}")
    if note := history.skipped_note():
        print(f"{note} (reports/history.jsonl)")


def register(sub: Any) -> None:
    parser = sub.add_parser("run", help="run the full or partial drills (pytest + Allure)")
    parser.add_argument("kind", choices=["full", "partial"])
    parser.add_argument(
        "paths",
        nargs="*",
        help="your own drills (test modules binding your features) instead of the stock ones",
    )
    parser.add_argument("--target", default="lab", help="target profile (default: lab)")
    parser.add_argument("--mode", choices=sorted(_MODES), help="only this failure mode (full)")
    parser.add_argument(
        "--dry-run", action="store_true", help="run nothing: print what the drill would do"
    )
    parser.add_argument("--confirm", action="store_true", help="allow mutating a non-lab target")
    parser.add_argument(
        "--approved-by",
        metavar="NAME",
        help="who approved the drill, recorded before the fault; a non-lab target needs it "
        "(asked on a terminal; refused, exit 2, without one)",
    )
    parser.add_argument(
        "--keep-lab", action="store_true", help="leave the lab up if this run brought it up"
    )
    parser.set_defaults(func=_run)

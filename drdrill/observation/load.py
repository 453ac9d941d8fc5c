"""Locust load during a drill, run as its own process group (gevent stays out of the harness).

``LoadRun`` starts ``locust --headless`` against the global endpoint, bounded in
time. With ``load.workers: N`` (N != 1) or ``load.remote_workers`` it runs Locust's
distributed mode instead: a ``--master`` and N local ``--worker`` processes, all in the
master's process group, which ``stop()`` ends; remote workers attach to the master with
``remote_worker_argv()`` (``drdrill.observation.load_workers``). Every worker sends its
request and checkout lines to the master over Locust's own connection, and the master
alone writes them (the locustfile says how), so afterwards the run reads one set of files
in ``out_dir`` whatever the workers:

- ``locust-requests.jsonl``: one record per request → ``requests()`` (the
  user-observed outage, ``drdrill.measurement.measure.user_outages``);
- ``locust-ledger.jsonl``: one line per checkout → ``ledger_entries()`` /
  ``add_writes_to(ledger)`` (Locust's writes count towards the RPO);
- ``locust-stats.json`` (Locust's own ``--json-file``) and the JSONL → ``stats()``
  (``drdrill.observation.load_stats``);
- ``locust.log``: Locust's output.

::

    run = LoadRun(lab.edge_url, config.load, report_dir, max_seconds=120).start()
    run.wait_sending()       # every worker connected, the first lines written
    ...                      # inject, activate, wait restored
    run.stop()               # SIGTERM (distributed: to the master), then SIGKILL to the group
    run.requests(), run.ledger_entries(), run.stats().to_json()
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from drdrill import stock
from drdrill.config import LoadSettings
from drdrill.errors import LoadError
from drdrill.measurement.ledger import Write
from drdrill.measurement.measure import Request
from drdrill.observation.load_stats import LoadStats, endpoint_stats, sustained_rps
from drdrill.observation.load_workers import (
    RECORD_FILES,
    check_master_port,
    local_worker_argv,
    master_options,
    remote_worker_argv,
)
from drdrill.observation.write_ledger import Ledger, read_writes
from drdrill.support import jsonl
from drdrill.support.wait import poll

__all__ = ["LOCUSTFILE", "LoadRun"]

LOCUSTFILE = stock.LOCUSTFILE
_WATCHDOG_SLACK_S = 15.0
"""Locust gets ``-t max_seconds``; past that plus this slack the group is killed."""
_COLLECT_WAIT_S = 5.0
"""How long a quitting master waits for each worker's last lines (the locustfile's
``DRDRILL_COLLECT_WAIT``); ``stop()`` grants it on top of its grace period."""


class LoadRun:
    """One headless Locust run against ``host`` for at most ``max_seconds``."""

    def __init__(
        self,
        host: str,
        settings: LoadSettings,
        out_dir: Path,
        *,
        max_seconds: float = 300.0,
        locustfile: Path = LOCUSTFILE,
        request_timeout_s: float = 1.0,
        marker_env: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.marker_env = dict(marker_env or {})
        self.settings = settings
        self.out_dir = out_dir.resolve()
        self.max_seconds = max_seconds
        self.locustfile = locustfile.resolve()
        self.request_timeout_s = request_timeout_s
        self.requests_path = self.out_dir / "locust-requests.jsonl"
        self.ledger_path = self.out_dir / "locust-ledger.jsonl"
        self.stats_path = self.out_dir / "locust-stats.json"
        self.log_path = self.out_dir / "locust.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes]] = []
        self._watchdog: threading.Timer | None = None
        self._lock = threading.Lock()

    # -- running -------------------------------------------------------------

    def argv(self) -> list[str]:
        """The command line of the Locust process drdrill starts first (the master when
        distributed)."""
        argv = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(self.locustfile),
            "--headless",
            "--host",
            self.host,
            "-u",
            str(self.settings.users),
            "-r",
            str(self.settings.spawn_rate),
            "-t",
            f"{max(1, int(self.max_seconds))}s",
            "--stop-timeout",
            "1",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--json-file",
            str(self.stats_path.with_suffix("")),
        ]
        if self.settings.distributed:
            argv += master_options(self.settings)
        return argv

    def worker_argv(self) -> list[str]:
        """The command line of each local worker (distributed runs)."""
        return local_worker_argv(self.settings, self.locustfile)

    def remote_worker_argv(
        self, master_address: str, locustfile: str = "locustfile.py"
    ) -> list[str]:
        """What a worker on another machine runs to join this run's master at
        ``master_address`` (the address that machine reaches the master by). It needs the
        same locustfile and nothing else: the options come from the master."""
        return remote_worker_argv(self.settings, master_address, locustfile)

    def start(self) -> LoadRun:
        """Start Locust in its own process group; returns self. LoadError if it cannot run."""
        if self._process is not None:
            raise LoadError("this load run was already started")
        if not self.locustfile.exists():
            raise LoadError(f"locustfile not found: {self.locustfile}")
        if self.settings.distributed:
            check_master_port(self.settings)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (self.requests_path, self.ledger_path, self.stats_path):
            stale.unlink(missing_ok=True)
        common = {
            "DRDRILL_BROWSE_WEIGHT": str(self.settings.browse_weight),
            "DRDRILL_CHECKOUT_WEIGHT": str(self.settings.checkout_weight),
            "DRDRILL_REQUEST_TIMEOUT": str(self.request_timeout_s),
            "DRDRILL_COLLECT_WAIT": str(_COLLECT_WAIT_S),
            # the locustfile quits when this process is gone (a killed drill)
            "DRDRILL_PARENT_PID": str(os.getpid()),
            **self.marker_env,
        }
        env = {
            **os.environ,
            **common,
            "DRDRILL_REQUESTS_JSONL": str(self.requests_path),
            "DRDRILL_LEDGER_JSONL": str(self.ledger_path),
        }
        try:
            with self.log_path.open("ab") as log:
                # cwd = out_dir: no stray locust.conf / pyproject [tool.locust] is picked up
                self._process = subprocess.Popen(
                    self.argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.out_dir,
                    # a group of its own (not the terminal's: Ctrl-C reaches the drill, which
                    # stops the load), in the drill's session: workers can join the group
                    process_group=0,
                )
                # workers write no file: they send their lines to the master
                worker_env = {
                    k: v for k, v in {**os.environ, **common}.items() if k not in RECORD_FILES
                }
                for _ in range(self.settings.workers if self.settings.distributed else 0):
                    self._workers.append(
                        subprocess.Popen(
                            self.worker_argv(),
                            stdin=subprocess.DEVNULL,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env=worker_env,
                            cwd=self.out_dir,
                            process_group=self._process.pid,
                        )
                    )
        except OSError as exc:
            if self._process is not None:
                self._kill()
            raise LoadError(f"cannot start Locust: {exc}") from exc
        bound = self.max_seconds + _WATCHDOG_SLACK_S
        if self.settings.distributed:
            bound += self.settings.workers_wait + _COLLECT_WAIT_S
        self._watchdog = threading.Timer(bound, self._kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def wait_sending(self, timeout_s: float | None = None) -> None:
        """Block until the load runs: the first request lines are written (distributed:
        every worker connected first). LoadError, with Locust's last words, if Locust
        ended or nothing was sent within ``timeout_s`` (default: ``load.workers_wait`` plus
        half a minute for the processes to start)."""
        if self._process is None:
            raise LoadError("this load run was not started")
        bound = self.settings.workers_wait + 30.0 if timeout_s is None else timeout_s

        def sending() -> str | None:
            with contextlib.suppress(OSError):
                if self.requests_path.stat().st_size > 0:
                    return "sending"
            return "ended" if self._exit_status(0.0) is not None else None

        outcome = poll(sending, bound, interval_s=0.1)
        if outcome != "sending":
            what = "ended" if outcome == "ended" else f"sent nothing in {bound:.0f} s"
            expected = self.settings.expected_workers
            workers = f" (waiting for {expected} workers)" if self.settings.distributed else ""
            raise LoadError(f"Locust {what}{workers}: {self._log_tail()}")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "no log"
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "empty log"

    @property
    def pid(self) -> int | None:
        """The Locust process id (= its process group id; the master when distributed),
        None before start()."""
        return self._process.pid if self._process else None

    @property
    def worker_pids(self) -> list[int]:
        """The local workers' process ids (in the master's group); none unless distributed."""
        return [worker.pid for worker in self._workers]

    def is_running(self) -> bool:
        return self._process is not None and self._exit_status(0.0) is None

    def wait(self, timeout_s: float | None = None) -> int | None:
        """Wait for Locust to end on its own; its exit code, or None on timeout."""
        return None if self._process is None else self._exit_status(timeout_s)

    def stop(self, grace_s: float = 5.0) -> int | None:
        """Stop the load: SIGTERM to its group (distributed: to the master, which collects
        every worker's last lines and tells them to quit), SIGKILL to the whole group after
        ``grace_s`` (distributed: plus the time the master grants the workers); Locust's
        exit code (negative: killed by that signal). Idempotent, and safe when Locust
        already ended."""
        with self._lock:
            process = self._process
            if process is None:
                return None
            if self._watchdog is not None:
                self._watchdog.cancel()
            if process.returncode is None:
                if self._exit_status(0.0) is None:
                    if self.settings.distributed:
                        # not the workers: a worker told to quit first would send its last
                        # lines after its goodbye, and the master would drop them
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(process.pid, signal.SIGTERM)
                        grace_s += _COLLECT_WAIT_S
                    else:
                        self._signal(signal.SIGTERM)
                    if self._exit_status(grace_s) is None:
                        self._signal(signal.SIGKILL)
                # The leader is now a zombie, not yet reaped, so the group id cannot have
                # been reused: workers that outlived it can be killed safely.
                self._signal(signal.SIGKILL)
                process.wait()
            for worker in self._workers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(timeout=5.0)
            return process.returncode

    def _exit_status(self, timeout_s: float | None) -> int | None:
        """The leader's exit status once it has ended, WITHOUT reaping it (None: still
        running after ``timeout_s``). Only ``stop()`` reaps, after signalling the group."""
        process = self._process
        assert process is not None
        if process.returncode is not None:
            return process.returncode

        def exit_status() -> int | None:
            try:
                info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return process.wait()
            if info is not None and info.si_pid == process.pid:
                exited = info.si_code == os.CLD_EXITED
                return info.si_status if exited else -info.si_status
            return None

        return poll(exit_status, math.inf if timeout_s is None else timeout_s)

    def _signal(self, signum: int) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signum)

    def _kill(self) -> None:
        with self._lock:
            self._signal(signal.SIGKILL)

    def __enter__(self) -> LoadRun:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what it recorded ----------------------------------------------------

    def requests(self) -> list[Request]:
        """Every request Locust sent (send time, ok), in send order."""
        result = []
        for raw in jsonl.read(self.requests_path).records:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                result.append(Request(int(raw["t_ns"]), bool(raw["ok"])))
        return sorted(result, key=lambda r: r.t_ns)

    def ledger_entries(self) -> list[Write]:
        """Locust's checkouts as write-ledger entries (client ``locust``)."""
        entries, _ = read_writes(self.ledger_path)
        return sorted(entries, key=lambda w: w.send_ns)

    def add_writes_to(self, ledger: Ledger) -> int:
        """Put Locust's checkouts into the drill's write ledger; how many."""
        entries = self.ledger_entries()
        for write in entries:
            ledger.record(write)
        return len(entries)

    def stats(self) -> LoadStats:
        """Totals, req/s and failures: counts from the per-request records (exact),
        per-endpoint figures from Locust's ``--json-file`` when it was written."""
        requests = self.requests()
        endpoints = endpoint_stats(self.stats_path)
        workers = self.settings.expected_workers
        if not requests:
            return LoadStats(
                sum(e.requests for e in endpoints),
                sum(e.failures for e in endpoints),
                0.0,
                workers=workers,
            )
        first, last = requests[0].t_ns, requests[-1].t_ns
        span = max((last - first) / 1e9, 1e-9)
        return LoadStats(
            requests=len(requests),
            failures=sum(not r.ok for r in requests),
            duration_s=span,
            sustained_rps=sustained_rps(requests),
            endpoints=endpoints,
            workers=workers,
        )

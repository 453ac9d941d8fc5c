"""Locust load during a drill, run as its own process group (gevent stays out of the harness).

``LoadRun`` starts ``locust --headless`` against the global endpoint, bounded in
time, and afterwards reads what the locustfile wrote: one record per request
(for the user-observed outage) and one ledger line per checkout (for the RPO).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.config import LoadSettings
from drdrill.errors import DrillError
from drdrill.ledger import Ledger
from drdrill.measure import Request

__all__ = ["LOCUSTFILE", "LoadRun", "LoadStats"]

LOCUSTFILE = Path(__file__).resolve().parent.parent / "loadtests" / "locustfile.py"


@dataclass(frozen=True)
class LoadStats:
    """Totals of one load run."""

    requests: int
    failures: int
    duration_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "duration_s": round(self.duration_s, 3),
            "requests_per_s": round(self.rps, 1),
        }


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
    ) -> None:
        self.request_timeout_s = request_timeout_s
        self.host = host
        self.settings = settings
        self.out_dir = out_dir
        self.max_seconds = max_seconds
        self.locustfile = locustfile
        self.requests_path = out_dir / "locust-requests.jsonl"
        self.ledger_path = out_dir / "locust-ledger.jsonl"
        self._process: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._stopped = 0.0

    def start(self) -> LoadRun:
        if not self.locustfile.exists():
            raise DrillError(f"locustfile not found: {self.locustfile}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "DRDRILL_REQUESTS_JSONL": str(self.requests_path),
                "DRDRILL_LEDGER_JSONL": str(self.ledger_path),
                "DRDRILL_BROWSE_WEIGHT": str(self.settings.browse_weight),
                "DRDRILL_CHECKOUT_WEIGHT": str(self.settings.checkout_weight),
                "DRDRILL_REQUEST_TIMEOUT": str(self.request_timeout_s),
            }
        )
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
            f"{int(self.max_seconds)}s",
            "--stop-timeout",
            "1",
            "--only-summary",
            "--json-file",
            str(self.out_dir / "locust-stats"),
        ]
        if self.settings.processes > 1:
            argv += ["--processes", str(self.settings.processes)]
        log = (self.out_dir / "locust.log").open("ab")
        self._process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        self._started = time.monotonic()
        return self

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop the load (SIGTERM to its group, SIGKILL after ``grace_s``). Idempotent."""
        process = self._process
        if process is None or self._stopped:
            return
        self._stopped = time.monotonic()
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def requests(self) -> list[Request]:
        """Every request Locust sent (send time, ok)."""
        result = []
        if self.requests_path.exists():
            for line in self.requests_path.read_text().splitlines():
                with contextlib.suppress(ValueError, KeyError):
                    raw = json.loads(line)
                    result.append(Request(int(raw["t_ns"]), bool(raw["ok"])))
        return result

    def add_writes_to(self, ledger: Ledger) -> int:
        """Put Locust's checkouts into the drill's write ledger."""
        return ledger.ingest_jsonl(self.ledger_path)

    def stats(self) -> LoadStats:
        requests = self.requests()
        if not requests:
            return LoadStats(0, 0, 0.0)
        span = (max(r.t_ns for r in requests) - min(r.t_ns for r in requests)) / 1e9
        return LoadStats(len(requests), sum(not r.ok for r in requests), max(span, 1e-9))

"""Drive ``drdrill run`` as a user would and stop it at a chosen moment of the drill; an
independent writer of orders through the global endpoint (none of drdrill's canary code)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg

from drdrill.config import DrillConfig, load_config
from drdrill.lab import Lab
from drdrill.lab.processes import MARKER, recorded
from drdrill.observation.verify import verify_http
from drdrill.support import jsonl
from drdrill.support.http import call


@dataclass
class Bench:
    """A lab of its own (ports from ``base_port``) and the config file that names it."""

    config_file: Path
    config: DrillConfig
    lab: Lab
    seen_before: frozenset[Path] = frozenset()
    """Timelines of earlier drills: ``events`` reads only the drills started since ``mark``."""
    first_edge: int | None = None
    """The edge's pid when the lab was brought up (``edge_pid``)."""

    @classmethod
    def make(cls, base_port: int) -> Bench:
        root = Path(tempfile.mkdtemp(prefix="drdrill-reliability-", dir="/tmp"))
        os.chmod(root, 0o755)
        config_file = root / "drdrill.yaml"
        config_file.write_text(
            f"lab: {{base_port: {base_port}, state_dir: {root / 'lab'}}}\n"
            f"reports_dir: {root / 'reports'}\n"
        )
        config = load_config(config_file)
        return cls(config_file, config, Lab(config.lab))

    @property
    def reports(self) -> Path:
        return self.config.reports_dir

    def drdrill(self, *args: str, **popen: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "drdrill", "--drill-config", str(self.config_file), *args],
            cwd=self.config_file.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **popen,
        )

    def mark(self) -> None:
        """From now on, ``events`` are those of drills started after this call."""
        self.seen_before = frozenset(self.reports.glob("*/timeline.jsonl"))

    def events(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for timeline in sorted(set(self.reports.glob("*/timeline.jsonl")) - self.seen_before):
            found += jsonl.read(timeline).records
        return found

    def wait_for(self, seen: Callable[[list[dict[str, Any]]], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if seen(self.events()):
                return
            time.sleep(0.05)
        raise AssertionError(f"the drill never got there in {timeout_s} s: {self.events()[-3:]}")

    def edge_pid(self) -> int | None:
        """The lab's edge process: another one after a rollback means the lab was
        re-created."""
        return recorded(self.lab.pid_dir).get("edge")

    def rollbacks(self) -> list[str]:
        """What each rollback of the drills since ``mark`` did (their audit's ``how``)."""
        found: list[str] = []
        for audit in sorted(self.reports.glob("*/audit.jsonl")):
            if audit.parent / "timeline.jsonl" in self.seen_before:
                continue
            found += [
                str(r.get("how") or r.get("error"))
                for r in jsonl.read(audit).records
                if r["action"] == "fail_back" and r["outcome"] != "started"
            ]
        return found

    def history(self) -> list[dict[str, Any]]:
        return list(jsonl.read(self.reports / "history.jsonl").records)

    def steady(self) -> list[str]:
        """What keeps the lab from its steady state (empty: steady)."""
        status = self.lab.status()
        problems = []
        if not status["running"]:
            problems.append("the lab is down")
            return problems
        for region, role in (("primary", "primary"), ("dr", "standby")):
            if status["regions"][region]["failure"] is not None:
                problems.append(f"{region} still failed ({status['regions'][region]['failure']})")
            if status["regions"][region]["db"]["role"] != role:
                problems.append(f"{region} database is {status['regions'][region]['db']['role']}")
        if status["replication"]["state"] != "streaming":
            problems.append(f"replication {status['replication']['state']}")
        if not verify_http(self.lab.edge_url, None, 2.0).ok:
            problems.append("the global endpoint fails its checks")
        return problems

    def fault_ns(self) -> int | None:
        """When the fault of the drills since ``mark`` was injected (their timeline)."""
        return next((e["t_ns"] for e in self.events() if e["kind"] == "fault_injected"), None)

    def lost_by_the_stop(self, writer: Writer, acked_after: float | None = None) -> list[str]:
        """The writer's acknowledged orders that the final primary lacks, but for those sent
        before the fault: an order in flight or unreplicated when the region failed is the
        disaster's loss (the drill's RPO), not the stop's. ``acked_after`` (monotonic): only
        the orders acknowledged since then. Empty: the stop cost no data."""
        on_primary = ids_on(self.lab, "primary", writer.prefix)
        fault = self.fault_ns()
        return [
            order
            for order in list(writer.acked)
            if order not in on_primary
            and (fault is None or writer.sent_ns[order] >= fault)
            and (acked_after is None or writer.acked_at.get(order, acked_after) >= acked_after)
        ]

    def kept_every_write(self, writer: Writer, *, acked_after: float | None = None) -> None:
        """The independent writer goes on after the rollback, and the stop cost none of its
        acknowledged orders (``lost_by_the_stop``). ``acked_after``: judge only the orders
        acknowledged since then — after a partition, an order the cut-off old primary took
        and the gateway acknowledged at the heal is the split brain's loss (divergent), not
        the stop's, and nothing here can tell it apart."""
        acked = len(writer.acked)
        time.sleep(0.5)
        assert len(writer.acked) > acked, "no order acknowledged after the rollback"
        lost = self.lost_by_the_stop(writer, acked_after)
        fault = self.fault_ns()
        assert lost == [], [
            (order, f"sent {(writer.sent_ns[order] - (fault or 0)) / 1e9:+.3f} s from the fault")
            for order in lost[:10]
        ] + [f"fault {'unknown' if fault is None else fault}, {len(lost)} lost"]

    def orphans(self) -> list[str]:
        """Live processes outside the lab's own that carry the lab's marker (Locust...)."""
        lab_pids = set(self.lab_pids())
        found = []
        for proc in psutil.process_iter(["pid", "status", "cmdline"]):
            try:
                if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid in lab_pids:
                    continue
                if proc.environ().get(MARKER) == str(self.lab.dir):
                    found.append(" ".join(proc.info["cmdline"] or [])[:120])
            except psutil.Error:
                continue
        return found

    def lab_pids(self) -> list[int]:
        pids = []
        for pid_file in self.lab.pid_dir.glob("*.pid"):
            try:
                leader = int(pid_file.read_text().split()[0])
                pids += [leader, *(c.pid for c in psutil.Process(leader).children(recursive=True))]
            except (OSError, ValueError, psutil.Error):
                continue
        return pids


def phase_started(name: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["kind"] == "phase_start" and e["name"] == name for e in events)


def kind_seen(kind: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["kind"] == kind for e in events)


def stop(proc: subprocess.Popen[str], how: signal.Signals) -> tuple[int, float, str]:
    """Send ``how``; the exit code, the seconds until the command ended, its output."""
    sent = time.monotonic()
    proc.send_signal(how)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, time.monotonic() - sent, out


def ids_on(lab: Lab, region: str, prefix: str) -> set[str]:
    """The ids of the orders starting with ``prefix-`` in ``region``'s database."""
    with psycopg.connect(lab.db_dsn(region), connect_timeout=3) as conn:
        rows = conn.execute("SELECT id FROM orders WHERE id LIKE %s", (f"{prefix}-%",))
        return {r[0] for r in rows.fetchall()}


class Writer:
    """Writes orders through the global endpoint until stopped; the ids acknowledged."""

    def __init__(self, lab: Lab, prefix: str) -> None:
        self.url = f"{lab.edge_url}/orders"
        self.prefix = prefix
        self.acked: list[str] = []
        self.acked_at: dict[str, float] = {}
        self.sent_at: dict[str, float] = {}
        self.sent_ns: dict[str, int] = {}
        """When each order was sent, wall clock (the drill's timeline's clock)."""
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            order = f"{self.prefix}-{i}"
            i += 1
            self.sent_at[order] = time.monotonic()
            self.sent_ns[order] = time.time_ns()
            reply = call("POST", self.url, {"id": order}, timeout=2.0)
            if reply.status == 201:
                self.acked.append(order)
                self.acked_at[order] = time.monotonic()
            else:
                self.failed += 1
            time.sleep(0.01)

    def sent_before(self, t: float) -> set[str]:
        """The orders sent before ``t`` (monotonic), acknowledged or not."""
        return {order for order, sent in list(self.sent_at.items()) if sent < t}

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

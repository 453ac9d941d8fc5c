"""How long does the lab's failback take, and what do customers see of its switchover?

Brings up a lab of its own, then ``--cycles`` times: fail the primary region
(``--mode``), run the DR activation's actions, and fail back (restore, rebuild, catch
up, weighted traffic 10/50/100 %, switchover, scale DR down, validate DR) while four
clients (two writing orders, two reading) call the global endpoint every 10 ms. Prints
per cycle and as medians: each failback action's duration, the switchover's fence →
writable time as the lab measures it, the longest run of failed client requests during
the switchover (what customers saw), and the acknowledged writes missing from the final
primary (must be 0).

    flock /tmp/drdrill-lab.lock .venv/bin/python benchmarks/failback_spread.py \\
        [--cycles 5] [--mode power-off] [--base-port 27200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from drdrill.lab import Lab, LabSettings
from drdrill.support.http import call


class Clients:
    """Writers and readers on the global endpoint; every request's time and outcome."""

    def __init__(self, lab: Lab) -> None:
        self.url = lab.edge_url
        self.log: list[tuple[float, bool]] = []
        self.acked: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(f"{kind}{i}",), daemon=True)
            for kind in ("w", "r")
            for i in range(2)
        ]

    def _run(self, name: str) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            sent = time.monotonic()
            if name.startswith("w"):
                order = f"bench-{name}-{time.time_ns()}-{i}"
                ok = call("POST", f"{self.url}/orders", {"id": order}, timeout=2).status == 201
                if ok:
                    self.acked.append(order)
            else:
                ok = call("GET", f"{self.url}/products/1", timeout=2).ok
            self.log.append((sent, ok))
            time.sleep(0.01)

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def longest_outage(self, start: float, end: float) -> float:
        """The longest run of failed requests overlapping [start, end]: first failure's
        send time to the next success's send time."""
        longest, down_since = 0.0, None
        for sent, ok in sorted(self.log):
            if not ok and down_since is None:
                down_since = sent
            elif ok and down_since is not None:
                if sent >= start and down_since <= end:
                    longest = max(longest, sent - down_since)
                down_since = None
        return longest


def cycle(lab: Lab, mode: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with Clients(lab) as clients:
        time.sleep(0.3)
        lab.fail_region("primary", mode)
        lab.fail_over_dns("dr")
        lab.scale_region("dr", lab.settings.dr_scaled_workers)
        lab.promote_database("dr")
        lab.repoint_applications("dr", "dr")
        time.sleep(1.0)

        def timed(name: str, action: Any) -> Any:
            started = time.monotonic()
            result = action()
            figures[name] = round(time.monotonic() - started, 3)
            return result

        timed("restore", lambda: lab.restore_region("primary"))
        rebuild = timed("rebuild", lambda: lab.rebuild_region_database("primary"))
        timed("catch_up", lambda: lab.catch_up("primary"))
        timed("traffic", lambda: lab.shift_traffic((10, 50, 100)))
        started = time.monotonic()
        switch = timed("switchover", lambda: lab.switchover("primary"))
        fenced_end = started + switch.fenced_s + 0.5
        timed("scale_down", lambda: lab.scale_down_region("dr"))
        timed("validate", lambda: lab.validate_standby("dr", 300.0))
        time.sleep(0.5)
    figures["rebuild_steps"] = rebuild.steps
    figures["reattach_steps"] = switch.reattach.steps if switch.reattach else None
    figures["rebuild_method"] = rebuild.method
    figures["reattach_method"] = switch.reattach.method if switch.reattach else None
    figures["fence_to_writable"] = switch.fenced_s
    figures["customer_outage"] = round(clients.longest_outage(started, fenced_end), 3)
    with psycopg.connect(lab.db_dsn("primary")) as conn:
        rows = conn.execute("SELECT id FROM orders WHERE id = ANY(%s)", (clients.acked,)).fetchall()
    figures["acked"] = len(clients.acked)
    figures["lost"] = len(set(clients.acked) - {r[0] for r in rows})
    figures["steady"] = not lab.steady_problems()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--mode", default="power-off")
    parser.add_argument("--base-port", type=int, default=27200)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="drdrill-failback-spread-", dir="/tmp"))
    os.chmod(state, 0o755)
    lab = Lab(LabSettings(base_port=args.base_port, state_dir=state / "lab"))
    lab.up()
    runs = []
    try:
        for i in range(args.cycles):
            figures = cycle(lab, args.mode)
            runs.append(figures)
            print(f"cycle {i + 1}: {figures}", flush=True)
    finally:
        lab.down()
    numeric = [k for k, v in runs[0].items() if isinstance(v, float)]
    print("median:", {k: round(statistics.median(r[k] for r in runs), 3) for k in numeric})
    print("max:   ", {k: max(r[k] for r in runs) for k in numeric})
    ok = all(r["lost"] == 0 and r["steady"] for r in runs)
    print("every cycle lost nothing and ended steady:", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

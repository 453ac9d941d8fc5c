"""How long does a new order-service worker take to start? (On the RTO's path: the DR
scale-up waits until the new workers listen.)

Starts ``python -m drdrill.lab.order_service`` ``--runs`` times on a free port (its
database unreachable: a worker listens before it connects) and prints the seconds from
spawn until its port accepts connections: each run and the median.

    .venv/bin/python benchmarks/worker_start.py [--runs 7] [--port 29901]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time


def once(port: int) -> float:
    started = time.monotonic()
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "drdrill.lab.order_service"),
            *("--region", "dr", "--port", str(port)),
            *("--dsn", "postgresql://drdrill@127.0.0.1:1/drdrill"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.05).close()
                return time.monotonic() - started
            except OSError:
                time.sleep(0.01)
        raise SystemExit(f"worker on port {port} did not listen within 30 s")
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--port", type=int, default=29901)
    args = parser.parse_args()
    runs = [once(args.port + i) for i in range(args.runs)]
    print("spawn -> listening (s): " + ", ".join(f"{r:.2f}" for r in runs))
    print(f"median {statistics.median(runs):.3f} s over {len(runs)} starts")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The in-region client group: customers inside a partitioned region who keep shopping.

A partition cuts a region off from the edge and the other region, not from the
people and services inside it. They keep placing orders through the region's own
entry point (its order-service workers, reached directly, inside the gateway that is
the region's border), so while DR is promoted the old primary may keep acknowledging
writes: split brain. This process plays them.

It is bounded: it stops by itself after ``--max-orders`` acknowledged orders or
``--max-seconds``, whichever comes first, and on SIGTERM after the request in flight
(its answer is still recorded). Every acknowledged order is appended to ``--ledger``
(JSONL: ``id``, ``sent_ns``, ``ack_ns``, ``url``) the moment its 201 arrives, so a
kill -9 loses at most the line being written.

Run as ``python -m drdrill.lab.in_region_clients --region R --url URL [--url URL ...]
--ledger FILE [--clients N] [--interval S] [--max-orders N] [--max-seconds S]``.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import threading
import time
import uuid
from pathlib import Path

from drdrill.support import jsonl
from drdrill.support.http import call

__all__ = ["CLIENT", "main", "run_clients"]

CLIENT = "in-region"
"""The ``client`` column of every order this group places."""
REQUEST_TIMEOUT_S = 3.0
"""Longer than the worker's own database timeout: a write is never left unanswered by us
while the worker may still commit it (its ack would be lost, and the count with it)."""


def run_clients(
    region: str,
    urls: list[str],
    ledger: Path,
    *,
    clients: int,
    interval_s: float,
    max_orders: int,
    max_seconds: float,
    stop: threading.Event,
) -> int:
    """Place orders from ``clients`` threads, round-robin over ``urls``, one every
    ``interval_s`` per thread, until ``stop``, ``max_orders`` acknowledged or ``max_seconds``;
    the number acknowledged."""
    run = uuid.uuid4().hex[:8]
    deadline = time.monotonic() + max_seconds
    numbers = itertools.count()
    acked = 0
    lock = threading.Lock()

    def client(index: int) -> None:
        nonlocal acked
        for n in itertools.count():
            if stop.is_set() or time.monotonic() >= deadline:
                return
            with lock:
                if acked >= max_orders:
                    return
            order = f"{CLIENT}-{region}-{run}-{next(numbers)}"
            url = urls[(index + n) % len(urls)]
            sent_ns = time.time_ns()
            reply = call(
                "POST",
                f"{url}/orders",
                {"id": order, "client": CLIENT, "product_id": 1, "quantity": 1},
                timeout=REQUEST_TIMEOUT_S,
            )
            if reply.status == 201:
                jsonl.append(
                    ledger, {"id": order, "sent_ns": sent_ns, "ack_ns": time.time_ns(), "url": url}
                )
                with lock:
                    acked += 1
            stop.wait(interval_s)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acked


def main() -> None:
    parser = argparse.ArgumentParser(description="drdrill lab in-region client group")
    parser.add_argument("--region", required=True)
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--max-orders", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_clients(
        args.region,
        args.url,
        args.ledger,
        clients=args.clients,
        interval_s=args.interval,
        max_orders=args.max_orders,
        max_seconds=args.max_seconds,
        stop=stop,
    )


if __name__ == "__main__":
    main()

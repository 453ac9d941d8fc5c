"""The canary writer: one order every ``canary_interval`` through the global endpoint.

Each write carries a client-generated id and a sequence number; the ledger keeps
its send time and, when the acknowledgement (201/200) arrives, its ack time.
Writes are sent on a fixed clock from a thread pool, like the probes.
"""

from __future__ import annotations

import math
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from drdrill.clock import ticks
from drdrill.http import call
from drdrill.ledger import Ledger, Write
from drdrill.timeline import now_ns

__all__ = ["CanaryWriter"]


class CanaryWriter:
    """Writes canary orders until stopped, recording each in the ledger."""

    def __init__(
        self, endpoint: str, ledger: Ledger, interval: float = 0.05, timeout: float = 1.0
    ) -> None:
        self.endpoint = endpoint
        self.ledger = ledger
        self.interval = interval
        self.timeout = timeout
        self.run_id = uuid.uuid4().hex[:8]
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=math.ceil(timeout / interval) + 2, thread_name_prefix="canary"
        )
        self._thread = threading.Thread(target=self._run, name="canary", daemon=True)

    def start(self) -> CanaryWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing; waits for writes in flight (at most one timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)

    def _run(self) -> None:
        for seq in ticks(self.interval, self._stop):
            self._pool.submit(self._write, seq)

    def _write(self, seq: int) -> None:
        order_id = f"canary-{self.run_id}-{seq}"
        sent = now_ns()
        reply = call(
            "POST",
            f"{self.endpoint}/orders",
            {"id": order_id, "client": "canary", "seq": seq, "product_id": 1 + seq % 10},
            timeout=self.timeout,
        )
        acked = reply.status in (200, 201) and reply.latency_s <= self.timeout
        self.ledger.record(
            Write(order_id, "canary", seq, sent, now_ns() if acked else None, reply.status)
        )

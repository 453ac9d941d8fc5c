"""The canary writer: one order every ``canary_interval`` through the global endpoint.

Each write carries a client-generated id and a sequence number; the ledger keeps
its send time and, when the acknowledgement (201/200) arrives, its ack time.
Writes are sent on a fixed clock from a thread pool, like the probes.
"""

from __future__ import annotations

import uuid

from drdrill.measurement.ledger import Write
from drdrill.observation.write_ledger import Ledger
from drdrill.records.timeline import now_ns
from drdrill.support.clock import Clocked
from drdrill.support.http import call

__all__ = ["CanaryWriter"]


class CanaryWriter(Clocked):
    """Writes canary orders until stopped, recording each in the ledger."""

    def __init__(
        self, endpoint: str, ledger: Ledger, interval: float = 0.05, timeout: float = 1.0
    ) -> None:
        super().__init__("canary", interval, timeout)
        self.endpoint = endpoint
        self.ledger = ledger
        self.run_id = uuid.uuid4().hex[:8]

    def start(self) -> CanaryWriter:
        super().start()
        return self

    def on_tick(self, tick: int) -> None:
        order_id = f"canary-{self.run_id}-{tick}"
        sent = now_ns()
        reply = call(
            "POST",
            f"{self.endpoint}/orders",
            {"id": order_id, "client": "canary", "seq": tick, "product_id": 1 + tick % 10},
            timeout=self.timeout,
        )
        acked = reply.status in (200, 201) and reply.latency_s <= self.timeout
        self.ledger.record(
            Write(order_id, "canary", tick, sent, now_ns() if acked else None, reply.status)
        )

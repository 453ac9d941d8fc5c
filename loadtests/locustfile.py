"""Customers of the e-commerce platform: browsers and buyers.

Plain ``locust -f loadtests/locustfile.py --host http://127.0.0.1:PORT`` works.
Inside a drill, two environment variables make it write JSON lines:

- ``DRDRILL_REQUESTS_JSONL``: one line per request (send time, ok, latency) —
  the drill's user-observed outage at 100 ms resolution;
- ``DRDRILL_LEDGER_JSONL``: one line per checkout (client order id, send and ack
  times) — Locust's writes count towards the measured RPO.

This file imports nothing from drdrill: Locust monkey-patches gevent on import.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid

from locust import FastHttpUser, between, events, task

RUN = uuid.uuid4().hex[:8]
_SEQ = itertools.count()


class _JsonLines:
    """Buffered JSON-lines writer (flushes every 200 lines and at exit)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.buffer: list[str] = []

    def write(self, record: dict[str, object]) -> None:
        if self.path:
            self.buffer.append(json.dumps(record))
            if len(self.buffer) >= 200:
                self.flush()

    def flush(self) -> None:
        if self.path and self.buffer:
            with open(self.path, "a", encoding="utf-8") as out:
                out.write("\n".join(self.buffer) + "\n")
            self.buffer.clear()


REQUESTS = _JsonLines(os.environ.get("DRDRILL_REQUESTS_JSONL"))
LEDGER = _JsonLines(os.environ.get("DRDRILL_LEDGER_JSONL"))


@events.request.add_listener
def _record_request(request_type, name, response_time, response_length, exception, **kw):  # type: ignore[no-untyped-def]
    sent_ns = time.time_ns() - int(response_time * 1_000_000)
    REQUESTS.write(
        {
            "t_ns": sent_ns,
            "name": name,
            "ok": exception is None,
            "latency_s": response_time / 1000,
        }
    )


@events.quitting.add_listener
def _flush(environment, **kw):  # type: ignore[no-untyped-def]
    REQUESTS.flush()
    LEDGER.flush()


# A customer gives up after a second, like the drill's probes: a blackholed region
# shows up as failed requests at their send time, not as silence.
TIMEOUT_S = float(os.environ.get("DRDRILL_REQUEST_TIMEOUT", "1.0"))


class Browser(FastHttpUser):
    """Looks at the catalogue and at products."""

    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    weight = int(os.environ.get("DRDRILL_BROWSE_WEIGHT", "3"))
    wait_time = between(0.01, 0.05)

    @task(3)
    def catalogue(self) -> None:
        self.client.get("/products", name="/products")

    @task(5)
    def product(self) -> None:
        self.client.get(f"/products/{random.randint(1, 50)}", name="/products/[id]")


class Buyer(FastHttpUser):
    """Places an order with its own order id and reads it back."""

    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    weight = int(os.environ.get("DRDRILL_CHECKOUT_WEIGHT", "1"))
    wait_time = between(0.02, 0.1)

    @task
    def checkout(self) -> None:
        seq = next(_SEQ)
        order_id = f"locust-{RUN}-{os.getpid()}-{seq}"
        sent = time.time_ns()
        with self.client.post(
            "/orders",
            json={
                "id": order_id,
                "client": "locust",
                "seq": seq,
                "product_id": random.randint(1, 50),
            },
            name="/orders",
            catch_response=True,
        ) as response:
            acked = response.status_code in (200, 201)
            if not acked:
                response.failure(f"checkout failed: {response.status_code}")
            LEDGER.write(
                {
                    "id": order_id,
                    "client": "locust",
                    "seq": seq,
                    "send_ns": sent,
                    "ack_ns": time.time_ns() if acked else None,
                    "status": response.status_code,
                }
            )
        if acked:
            self.client.get(f"/orders/{order_id}", name="/orders/[id]")

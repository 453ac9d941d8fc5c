"""Probes: what customers would see, sampled on a fixed clock (default every 100 ms).

Sampling is clock-driven: tick ``k`` is sent at ``start + k * interval`` from a
thread pool, so a request that hangs (a blackholed region) never delays the next
sample. A sample is stamped with its SEND time; one that times out counts as
failed at that time.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from collections.abc import Callable

import psycopg

from drdrill.lab.replication import replication_state
from drdrill.measurement.samples import Sample
from drdrill.records.timeline import now_ns
from drdrill.support.clock import Clocked
from drdrill.support.http import call

__all__ = [
    "Check",
    "Sampler",
    "accepts_writes_check",
    "critical_flow_check",
    "edge_record_check",
    "health_check",
    "replication_lag_check",
]


Check = Callable[[float], tuple[bool, str]]
"""A probe body: takes its timeout in seconds, returns (ok, detail). Must not raise."""


def health_check(endpoint: str) -> Check:
    """``GET /health`` through the endpoint answers 200."""

    def check(timeout: float) -> tuple[bool, str]:
        reply = call("GET", f"{endpoint}/health", timeout=timeout)
        return reply.ok, f"{reply.status} {reply.error}".strip()

    return check


def critical_flow_check(endpoint: str, client: str = "probe") -> Check:
    """The critical user flow: place an order, then read it back, through the endpoint."""
    counter = itertools.count()
    run = uuid.uuid4().hex[:8]

    def check(timeout: float) -> tuple[bool, str]:
        started = time.monotonic()
        order_id = f"{client}-{run}-{next(counter)}"
        placed = call(
            "POST",
            f"{endpoint}/orders",
            {"id": order_id, "client": client, "product_id": 1, "quantity": 1},
            timeout=timeout,
        )
        if placed.status not in (200, 201):
            return False, f"place order: {placed.status} {placed.error or placed.body}"
        left = max(0.05, timeout - (time.monotonic() - started))
        read = call("GET", f"{endpoint}/orders/{order_id}", timeout=left)
        region = read.headers.get("x-drdrill-region", "?")
        return read.ok, f"read back: {read.status} via {region}"

    return check


def edge_record_check(endpoint: str) -> Check:
    """Which region the global endpoint resolves to (ok while one resolves)."""

    def check(timeout: float) -> tuple[bool, str]:
        reply = call("GET", f"{endpoint}/_edge/resolve", timeout=timeout)
        region = reply.body.get("region") if reply.ok and isinstance(reply.body, dict) else None
        return region is not None, f"region={region}"

    return check


def replication_lag_check(dsn: str, alarm_s: float) -> Check:
    """The standby's replication lag (``drdrill.lab.replication``: the primary's latest
    commit minus the standby's last replayed one), ok while under the alarm threshold."""

    def check(timeout: float) -> tuple[bool, str]:
        replication = replication_state(dsn, timeout_s=timeout)
        if replication.state == "down":
            return False, "unreachable"
        return replication.lag_s < alarm_s, f"lag_s={replication.lag_s:.3f}"

    return check


def accepts_writes_check(dsn: str) -> Check:
    """Whether the database at ``dsn`` accepts writes now: it answers, is not in recovery
    (a standby) and a new transaction is not read-only (a fenced primary). It asks and
    writes nothing, so it may watch any target's databases. ok = accepts writes; a
    database that does not answer in time is not evidence of either."""

    def check(timeout: float) -> tuple[bool, str]:
        try:
            conn = psycopg.connect(dsn, connect_timeout=max(2, math.ceil(timeout)))
        except psycopg.Error as exc:
            return False, f"unreachable: {str(exc).strip()[:120]}"
        try:
            with conn:
                conn.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
                ).fetchone()
        except psycopg.Error as exc:
            return False, f"unreachable: {str(exc).strip()[:120]}"
        if row is None or row[0]:
            return False, "standby"
        if row[1] == "on":
            return False, "read-only (fenced)"
        return True, "accepts writes"

    return check


class Sampler(Clocked):
    """Runs one check every ``interval`` seconds on a fixed clock, in threads."""

    def __init__(self, name: str, check: Check, interval: float, timeout: float) -> None:
        super().__init__(f"probe-{name}", interval, timeout)
        self.name = name
        self.check = check
        self._samples: list[Sample] = []
        self._lock = threading.Lock()

    def start(self) -> Sampler:
        super().start()
        return self

    def samples(self) -> list[Sample]:
        with self._lock:
            return sorted(self._samples, key=lambda s: s.t_ns)

    def on_tick(self, tick: int) -> None:
        self._probe(now_ns())

    def _probe(self, sent_ns: int) -> None:
        started = time.monotonic()
        try:
            ok, detail = self.check(self.timeout)
        except Exception as exc:  # a probe must never kill the sampler
            ok, detail = False, f"probe error: {type(exc).__name__}: {exc}"
        latency = time.monotonic() - started
        if latency > self.timeout:
            ok, detail = False, f"timeout after {latency:.3f}s ({detail})"
        with self._lock:
            self._samples.append(Sample(sent_ns, self.name, ok, latency, detail))

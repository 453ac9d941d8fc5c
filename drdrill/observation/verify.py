"""Service verification (phase 6): health, then the critical user flows, over HTTP.

Shared by every target: the lab verifies through its edge or a region's gateway,
AWS through the global endpoint. Stops at the first failed check.
"""

from __future__ import annotations

import time
from typing import Any

from drdrill.support.http import call
from drdrill.targets.base import CheckResult, ServiceCheck

__all__ = ["verify_http"]


def verify_http(base: str, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
    """Health (writable), place an order, read it back, browse the catalogue at ``base``."""
    order_id = f"verify-{time.time_ns()}"
    steps: list[tuple[str, str, str, Any, set[int]]] = [
        ("health", "GET", "/health?require=writable", None, {200}),
        ("place order", "POST", "/orders", {"id": order_id, "client": "verify"}, {200, 201}),
        ("read order back", "GET", f"/orders/{order_id}", None, {200}),
        ("browse catalogue", "GET", "/products", None, {200}),
    ]
    checks: list[CheckResult] = []
    for name, method, path, body, good in steps:
        reply = call(method, base + path, body, timeout=timeout_s)
        ok = reply.status in good
        detail = str(reply.status) if ok else f"{reply.status} {reply.error}".strip()
        checks.append(CheckResult(name, ok, reply.latency_s, detail))
        if not ok:
            break
    return ServiceCheck(region, tuple(checks))

"""The totals of one Locust load run: requests, failures, req/s held, per endpoint.

``LoadRun.stats()`` builds a ``LoadStats`` from the per-request records (exact counts)
and Locust's own ``--json-file`` (per-endpoint response times) when it was written.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drdrill.measurement.measure import Request

__all__ = ["EndpointStats", "LoadStats", "endpoint_stats", "sustained_rps"]


@dataclass(frozen=True)
class EndpointStats:
    """Locust's totals for one ``name=`` group (e.g. ``/orders``)."""

    name: str
    method: str
    requests: int
    failures: int
    avg_ms: float
    max_ms: float


@dataclass(frozen=True)
class LoadStats:
    """Totals of one load run.

    ``rps`` is requests over the span from the first send to the last;
    ``sustained_rps`` the 10th percentile of the per-second request counts over the
    whole seconds of that span (what the load held, not its peak).
    """

    requests: int
    failures: int
    duration_s: float
    sustained_rps: float = 0.0
    endpoints: tuple[EndpointStats, ...] = field(default_factory=tuple)
    workers: int = 1
    """Locust processes that generated the load (local and remote workers; 1: one process)."""

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "duration_s": round(self.duration_s, 3),
            "requests_per_s": round(self.rps, 1),
            "sustained_requests_per_s": round(self.sustained_rps, 1),
            "workers": self.workers,
            "endpoints": [
                {
                    "name": e.name,
                    "method": e.method,
                    "requests": e.requests,
                    "failures": e.failures,
                    "avg_ms": round(e.avg_ms, 2),
                    "max_ms": round(e.max_ms, 2),
                }
                for e in self.endpoints
            ],
        }


def sustained_rps(requests: list[Request], quantile: float = 0.1) -> float:
    per_second = Counter(r.t_ns // 1_000_000_000 for r in requests)
    seconds = sorted(per_second)[1:-1]  # the first and last second are partial
    if not seconds:
        return 0.0
    counts = sorted(per_second.get(s, 0) for s in range(seconds[0], seconds[-1] + 1))
    return float(counts[int(quantile * (len(counts) - 1))])


def endpoint_stats(path: Path) -> tuple[EndpointStats, ...]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    result = []
    for entry in raw if isinstance(raw, list) else []:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            count = int(entry["num_requests"])
            result.append(
                EndpointStats(
                    name=str(entry["name"]),
                    method=str(entry.get("method") or ""),
                    requests=count,
                    failures=int(entry["num_failures"]),
                    avg_ms=float(entry.get("total_response_time", 0)) / count if count else 0.0,
                    max_ms=float(entry.get("max_response_time") or 0),
                )
            )
    return tuple(sorted(result, key=lambda e: e.name))

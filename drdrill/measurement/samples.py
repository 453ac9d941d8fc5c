"""What a probe sample is, and the probes' names (pure: the probing itself is
``drdrill.observation.sampling``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCEPTS_WRITES",
    "CRITICAL_FLOW",
    "EDGE_RECORD",
    "HEALTH",
    "REPLICATION_LAG",
    "Sample",
    "accepts_writes_probe",
    "accepts_writes_region",
]


HEALTH = "health"
CRITICAL_FLOW = "critical_flow"
EDGE_RECORD = "edge_record"
REPLICATION_LAG = "replication_lag"
ACCEPTS_WRITES = "accepts_writes"
"""Prefix of the per-region write probes: ``accepts_writes_<region>``."""


@dataclass(frozen=True)
class Sample:
    """One probe result, stamped with the time the probe was sent."""

    t_ns: int
    probe: str
    ok: bool
    latency_s: float
    detail: str = ""


def accepts_writes_probe(region: str) -> str:
    """The name of ``region``'s write probe."""
    return f"{ACCEPTS_WRITES}_{region}"


def accepts_writes_region(probe: str) -> str | None:
    """The region a write probe's name is about (None: not a write probe)."""
    prefix = f"{ACCEPTS_WRITES}_"
    return probe[len(prefix) :] if probe.startswith(prefix) else None

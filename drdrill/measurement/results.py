"""What a drill measured and how it was judged: frozen, JSON-serialisable results.

Produced by ``drdrill.measurement.measure`` / ``drdrill.measurement.verdict`` (pure code
over a timeline, probe samples and a reconciled ledger), consumed by the report. All times are
UTC nanoseconds since the epoch; durations are seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "Bounds",
    "LedgerSummary",
    "Measurements",
    "OutageWindow",
    "PhaseTiming",
    "Status",
    "Verdict",
    "Verdicts",
]

Status = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Bounds:
    """An interval a figure is known to lie in (seconds)."""

    low_s: float
    high_s: float


@dataclass(frozen=True)
class OutageWindow:
    """A span during which the service was observed down."""

    start_ns: int
    end_ns: int

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True)
class PhaseTiming:
    """One activation phase as it ran (from the Chaos Toolkit activity events)."""

    name: str
    start_ns: int
    end_ns: int
    ok: bool = True

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True)
class LedgerSummary:
    """The write ledger reconciled against the surviving database."""

    acked: int
    lost: int
    """Acknowledged before t_fault and absent now."""
    in_doubt: int
    """Not acknowledged (error/timeout) yet present: a commit whose ack was lost."""
    never_acked: int
    """Not acknowledged and absent: the client was told it failed, correctly."""
    lost_ids: tuple[str, ...] = ()
    in_doubt_ids: tuple[str, ...] = ()
    lost_after_fault: int = 0
    """Acknowledged after t_fault and absent: split brain or a broken restore."""
    lost_after_fault_ids: tuple[str, ...] = ()
    discarded_by_restore: int = 0
    """Acknowledged after t_fault by the database a restore to a point before the fault
    replaced, and absent: discarded by the repair by design (``drdrill.measurement.ledger``)."""
    discarded_by_restore_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measurements:
    """Every figure of one drill (docs/measurements.md)."""

    t_fault_ns: int | None
    t_restored_ns: int | None
    rto_s: float | None
    """None when the service was never restored within the drill."""
    rto_resolution_s: float
    detection_s: float | None
    confirmation_s: float | None
    rpo_s: float
    rpo_bounds: Bounds
    ledger: LedgerSummary
    phases: tuple[PhaseTiming, ...] = ()
    outages: tuple[OutageWindow, ...] = ()
    """Probe-observed outages (critical flow through the global endpoint)."""
    user_outages: tuple[OutageWindow, ...] = ()
    """Locust-observed: spans of 100 ms buckets over the error-rate threshold."""
    error_rate: float = 0.0
    samples: int = 0

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["phases"] = {p.name: p.duration_s for p in self.phases}
        raw["outages"] = [
            {"start_ns": o.start_ns, "end_ns": o.end_ns, "duration_s": o.duration_s}
            for o in self.outages
        ]
        raw["user_outages"] = [
            {"start_ns": o.start_ns, "end_ns": o.end_ns, "duration_s": o.duration_s}
            for o in self.user_outages
        ]
        return raw


@dataclass(frozen=True)
class Verdict:
    """One figure against its target: pass, warn (over a phase target by ≤ margin), fail."""

    figure: str
    """e.g. ``rto``, ``rpo``, ``dns_failover``."""
    title: str
    """As the plan's metrics table says it, e.g. ``RTO``, ``DNS Failover``."""
    target_s: float
    measured_s: float | None
    status: Status
    detail: str = ""
    source: str = ""
    """Where the target came from (RTO/RPO: ``scenarios.<name>``, ``objectives``,
    ``mode <mode>``; phases: ``phases``)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdicts:
    """All verdicts of one drill."""

    items: tuple[Verdict, ...] = field(default_factory=tuple)
    mode: str = ""
    """The standby mode the drill was judged as (``warm_standby``, ``hot_standby``)."""
    objective_source: str = ""
    """Where the RTO/RPO targets came from (see ``DrillConfig.objective_for``)."""

    @property
    def passed(self) -> bool:
        """True unless a figure failed (warnings do not fail a drill)."""
        return all(v.status != "fail" for v in self.items)

    def by_figure(self) -> dict[str, Verdict]:
        return {v.figure: v for v in self.items}

    def to_json(self) -> dict[str, str]:
        """Each figure's status, plus the ``mode`` and the ``objective_source`` that
        judged the drill (when known)."""
        judged_by = {"mode": self.mode, "objective_source": self.objective_source}
        return {
            **{v.figure: v.status for v in self.items},
            **{k: v for k, v in judged_by.items() if v},
        }

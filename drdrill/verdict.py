"""Verdicts: each measured figure against its target from the DR plan.

RTO and RPO are judged against the scenario's objective: pass or fail. A phase is
judged against its target with the plan's "⚠️ Needs improvement" band: pass when
within the target, warn when over it by at most ``phases.warn_margin`` (20 %),
fail beyond. A figure that could not be measured (never restored) fails.
"""

from __future__ import annotations

from drdrill.config import DrillConfig
from drdrill.phases import ALL_PHASES
from drdrill.results import Measurements, Status, Verdict, Verdicts

__all__ = ["judge", "judge_phase"]


def judge_phase(measured_s: float | None, target_s: float, warn_margin: float) -> Status:
    """pass / warn / fail of one phase duration against its target."""
    if measured_s is None:
        return "fail"
    if measured_s <= target_s:
        return "pass"
    return "warn" if measured_s <= target_s * (1 + warn_margin) else "fail"


def judge(
    measurements: Measurements, config: DrillConfig, scenario: str = "region_failure"
) -> Verdicts:
    """All verdicts of one drill."""
    objective = config.objective_for(scenario)
    items: list[Verdict] = []
    if measurements.t_fault_ns is not None:
        items += _objective_verdicts(measurements, objective.rto, objective.rpo)
    return Verdicts((*items, *_phase_verdicts(measurements, config)))


def _objective_verdicts(
    measurements: Measurements, rto_target: float, rpo_target: float
) -> list[Verdict]:
    rto = measurements.rto_s
    items: list[Verdict] = []
    items.append(
        Verdict(
            "rto",
            "RTO",
            rto_target,
            rto,
            "pass" if rto is not None and rto <= rto_target else "fail",
            "service never restored" if rto is None else "",
        )
    )
    lost = measurements.ledger.lost
    items.append(
        Verdict(
            "rpo",
            "RPO",
            rpo_target,
            measurements.rpo_s,
            "pass" if measurements.rpo_s <= rpo_target else "fail",
            f"{lost} acknowledged write(s) lost" if lost else "no acknowledged write lost",
        )
    )
    return items


def _phase_verdicts(measurements: Measurements, config: DrillConfig) -> list[Verdict]:
    items: list[Verdict] = []
    durations = {p.name: p for p in measurements.phases}
    for phase in ALL_PHASES:
        timing = durations.get(phase.name)
        if timing is None:
            continue
        target = config.phases.target_for(phase.name)
        status = judge_phase(timing.duration_s, target, config.phases.warn_margin)
        if not timing.ok:
            status = "fail"
        items.append(
            Verdict(
                phase.name,
                phase.title,
                target,
                timing.duration_s,
                status,
                "" if timing.ok else "the phase's activity failed",
            )
        )
    return items

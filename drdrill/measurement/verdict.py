"""Verdicts: each measured figure against its target from the DR plan.

RTO and RPO are judged against the scenario's objective (its own target, else the
file's ``objectives``, else the standby mode's): pass or fail. A phase is judged
against its target with the plan's "⚠️ Needs improvement" band: pass when within
the target, warn when over it by at most ``phases.warn_margin`` (20 %), fail
beyond. A figure that could not be measured (never restored) fails; a restoration
later than the target fails with its value.
"""

from __future__ import annotations

from drdrill.config import DrillConfig, ResolvedObjective
from drdrill.measurement.phases import ALL_PHASES
from drdrill.measurement.results import Measurements, Status, Verdict, Verdicts

__all__ = ["judge", "judge_phase", "restore_wait_s"]


def restore_wait_s(config: DrillConfig) -> float:
    """How long a drill waits for the service to come back: ``measurement.restore_wait``
    (plus the window that confirms a restoration), never the RTO target, so a
    restoration after the target is measured and reported with its value."""
    return config.measurement.restore_wait_s


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
        items += _objective_verdicts(measurements, objective)
    return Verdicts(
        (*items, *_phase_verdicts(measurements, config)),
        mode=objective.mode,
        objective_source=objective.source,
    )


def _objective_verdicts(measurements: Measurements, objective: ResolvedObjective) -> list[Verdict]:
    rto, rto_target = measurements.rto_s, objective.rto
    if rto is None:
        rto_detail = "service never restored"
    elif rto > rto_target:
        rto_detail = f"restored after {rto:.3f} s, over the {rto_target:g} s objective"
    else:
        rto_detail = ""
    lost = measurements.ledger.lost
    return [
        Verdict(
            "rto",
            "RTO",
            rto_target,
            rto,
            "pass" if rto is not None and rto <= rto_target else "fail",
            rto_detail,
            objective.rto_source,
        ),
        Verdict(
            "rpo",
            "RPO",
            objective.rpo,
            measurements.rpo_s,
            "pass" if measurements.rpo_s <= objective.rpo else "fail",
            f"{lost} acknowledged write(s) lost" if lost else "no acknowledged write lost",
            objective.rpo_source,
        ),
    ]


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
                f"phases.{phase.name}",
            )
        )
    return items

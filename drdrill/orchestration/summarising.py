"""What a drill measured, once its observation has stopped: the ledger checked against the
surviving database, the measurements, the verdicts against the scenario's targets, the
failback figures — one ``DrillSummary``."""

from __future__ import annotations

from typing import Any

from drdrill.config import DrillConfig
from drdrill.measurement.failback import failback_figures
from drdrill.measurement.ledger import Reconciliation
from drdrill.measurement.measure import Request, declared_restore, measure
from drdrill.measurement.samples import Sample
from drdrill.measurement.verdict import judge
from drdrill.observation.load import LoadRun
from drdrill.observation.observe import Observation
from drdrill.observation.write_ledger import reconcile
from drdrill.records.audit import AuditTrail
from drdrill.records.timeline import FAULT_INJECTED, Timeline
from drdrill.report.summary import DrillSummary
from drdrill.report.target_calls import calls_by_phase

__all__ = ["reconcile_writes", "record_measured", "summarise"]


def reconcile_writes(
    observation: Observation | None, load: LoadRun | None, dsn: str, timeline: Timeline
) -> Reconciliation | None:
    """Every ledgered write (canary and Locust checkouts) against the database at ``dsn``
    (the one serving now); None when nothing was observed."""
    if observation is None:
        return None
    if load is not None:
        load.add_writes_to(observation.ledger)
    fault = timeline.first(FAULT_INJECTED)
    return reconcile(
        observation.ledger.writes(),
        dsn,
        fault.t_ns if fault else None,
        declared_restore(timeline, fault.t_ns) if fault else None,
    )


def summarise(
    identity: dict[str, Any],
    *,
    config: DrillConfig,
    timeline: Timeline,
    samples: list[Sample],
    requests: list[Request],
    load_stats: dict[str, Any],
    reconciliation: Reconciliation | None,
    audit_records: list[dict[str, Any]],
    actor: str,
    switchover_goal_s: float,
) -> DrillSummary:
    """The drill measured and judged against ``identity["scenario"]``'s targets."""
    measurements = measure(timeline, samples, config.measurement, reconciliation, requests)
    verdicts = judge(measurements, config, str(identity["scenario"]))
    failback = failback_figures(
        timeline,
        samples,
        requests,
        measurements.phases,
        verdicts,
        measurements.ledger,
        switchover_target_s=switchover_goal_s,
        max_step_error_rate=config.failback.max_step_error_rate,
    )
    return DrillSummary(
        **identity,
        measurements=measurements,
        verdicts=verdicts,
        load=load_stats,
        actor=actor,
        failback=failback,
        calls=calls_by_phase(timeline, audit_records),
    )


def record_measured(audit: AuditTrail, summary: DrillSummary, target: str) -> None:
    """The audit trail's ``drill_measured``: the figures, the verdicts and, in short, the
    plan's "issues encountered" (the summary has them in full)."""
    measurements = summary.measurements
    audit.record(
        "drill_measured",
        target=target,
        outcome="passed" if summary.verdicts.passed else "failed",
        parameters={"drill_id": summary.drill_id},
        rto_s=measurements.rto_s,
        rpo_s=measurements.rpo_s,
        lost_writes=measurements.ledger.lost,
        verdicts=summary.verdicts.to_json(),
        findings=[f"{f.severity}: {f.what}" for f in summary.findings],
    )

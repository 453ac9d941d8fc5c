"""Steps of the planned failback: the return trip of a region-failure drill.

Judged as the plan's Failback Procedures require: no acknowledged write of the whole
drill lost (RPO 0 for a planned failback, the ledger checked against the final primary),
the switchover's customer-visible outage within ``failback.switchover_outage`` (or the
target's own goal, ``SwitchoverGoal``), each
traffic step's error rate within ``failback.max_step_error_rate``, the data found
consistent before any traffic moved, each failback phase within its target.
"""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from drdrill.measurement.failback import FailbackFigures
from drdrill.measurement.phases import FAILBACK_PHASES
from drdrill.orchestration.drill import Drill
from drdrill.report.allure import attach_text
from drdrill.report.metrics_table import human_duration
from drdrill.steps.capabilities import needs
from drdrill.steps.verification import _finish
from drdrill.targets.base import FailbackTarget, RoutingObserver


@when("the DR region serves customers again")
def dr_serves(drill: Drill) -> None:
    """The activation's result is stable (the RTO's restoration) before the failback."""
    restored = drill.wait_restored()
    assert restored is not None, "the service was not restored after the DR activation"


@when(parsers.parse("the {region} region is restored"))
def region_restored(drill: Drill, region: str) -> None:
    drill.restore_region(region)


@when("the DR team runs the planned failback")
def run_failback(drill: Drill) -> None:
    needs(drill, FailbackTarget, "fail back")
    journal = drill.fail_back_planned()
    failed = [r["activity"]["name"] for r in journal["run"] if r["status"] != "succeeded"]
    assert journal["status"] == "completed" and not failed, (
        f"failback failed: status {journal['status']}, failed phases {failed}"
    )


def _failback(drill: Drill) -> FailbackFigures:
    """The finished drill's failback figures (the summary's: nothing recomputed here)."""
    figures = _finish(drill).failback
    assert figures is not None, "the drill has no failback figures"
    return figures


@then("the data was found consistent before any traffic moved")
def consistent_before_traffic(drill: Drill) -> None:
    problem = _failback(drill).consistency_problem
    assert problem is None, problem


@then("no acknowledged write is lost by the failback")
def nothing_lost(drill: Drill) -> None:
    """The whole drill's ledger against the final primary: every write acknowledged after
    the fault is there, and a write acknowledged before it is missing only if neither
    database held it when the failback began (lost to the disaster: the RPO step's
    business, reported here)."""
    summary = _finish(drill)
    ledger = summary.measurements.ledger
    assert drill.serving_database == "primary", (
        f"the ledger was checked against {drill.serving_database}, expected the final primary"
    )
    assert ledger.acked > 0, "no acknowledged write was recorded: nothing to check"
    by_failback = _failback(drill).lost_ids
    assert ledger.lost_after_fault == 0 and not by_failback, (
        f"RPO breach of the planned failback (RPO 0): {ledger.lost_after_fault} write(s) "
        f"acknowledged after the fault missing, and {len(by_failback)} that DR still held "
        f"when the failback began missing from the final primary: {list(by_failback[:10])}"
    )


@then("the switchover's customer-visible outage stays within its target")
def switchover_within_target(drill: Drill) -> None:
    figures = _failback(drill)
    outage, target = figures.switchover, figures.switchover_target_s
    attach_text(
        f"customer-visible outage {outage.seconds} s (probes), fence → writable "
        f"{outage.target_seconds} s (target), goal {target} s",
        "Switchover outage",
    )
    assert outage.seconds is not None, "no switchover phase was timed"
    assert outage.seconds <= target, (
        f"switchover outage {human_duration(outage.seconds)} against "
        f"{human_duration(target)} (fence → writable {outage.target_seconds} s)"
    )


@then("the error rate at each traffic step stays within its target")
def steps_within_error_rate(drill: Drill) -> None:
    figures = _failback(drill)
    rates, limit = figures.steps, figures.max_step_error_rate
    report = [f"{r.percent} %: {r.errors}/{r.requests} ({r.rate:.1%}, {r.source})" for r in rates]
    attach_text("\n".join(report), "Error rate per traffic step")
    expected = list(drill.config.failback.traffic_steps)
    assert [r.percent for r in rates] == expected, (
        f"traffic steps run {report}, expected {expected}"
    )
    over = [line for r, line in zip(rates, report, strict=True) if r.rate > limit]
    assert not over, f"traffic steps over the {limit:.0%} error rate: {over}"


@then("every failback phase finishes within its target")
def failback_phases_within_targets(drill: Drill) -> None:
    summary = _finish(drill)
    names = [p.name for p in FAILBACK_PHASES]
    verdicts = {v.figure: v for v in summary.verdicts.items if v.figure in names}
    assert sorted(verdicts) == sorted(names), f"failback phases timed: {sorted(verdicts)}"
    late = [
        f"{v.title} {human_duration(v.measured_s)}" for v in verdicts.values() if v.status == "fail"
    ]
    assert not late, f"failback phase over its target: {late}"


@then("the platform is back in its original topology")
def original_topology(drill: Drill) -> None:
    target = needs(drill, FailbackTarget, "fail back")
    assert target.serving_region() == "primary", (
        f"the {target.serving_region()} database serves, expected the primary's"
    )
    lag = target.validate_standby("dr")
    assert lag < drill.config.alarms.replica_lag
    if isinstance(drill.target, RoutingObserver):
        assert drill.target.answering_region() == "primary"
    check = drill.target.verify_services()
    assert check.ok, f"after the failback the platform is not healthy: {check.checks}"

"""Steps that check the outcome against the plan's targets and attach the evidence."""

from __future__ import annotations

from pytest_bdd import parsers, then

from drdrill.measurement.phases import ACTIVATION_PHASES
from drdrill.measurement.verdict import judge, restore_wait_s
from drdrill.observation.integrity import accepts_writes
from drdrill.orchestration.drill import Drill
from drdrill.report.allure import attach_file, attach_text
from drdrill.report.metrics_table import as_html, human_duration
from drdrill.report.summary import DrillSummary
from drdrill.steps.capabilities import needs
from drdrill.support import jsonl
from drdrill.targets.base import RoutingObserver, ServiceCheck

AUDITED_AS = {
    "fail_region": {
        "fail_region",
        "eks:update_nodegroup_config",
        "ec2:stop_instances",
        "fis:start_experiment",
    },
    "fail_over_dns": {"fail_over_dns", "route53:change_resource_record_sets"},
    "promote_database": {"promote_database", "rds:promote_read_replica"},
}
"""How each DR step shows in the audit trail: the lab's action, or the aws target's call."""


def _finish(drill: Drill, scenario: str | None = None) -> DrillSummary:
    first = drill.summary is None
    summary = drill.finish(scenario)
    if first:
        attach_text(as_html(summary.verdicts), "Test Metrics", "html")
        for name in (
            "summary.md",
            "timeline.png",
            "trend.png",
            "journal-region-failure.json",
            "journal-dr-activation.json",
            "journal-failback.json",
            "locust-stats.json",
            "ledger.json",
            "audit.jsonl",
        ):
            attach_file(drill.report_dir / name, name)
    return summary


@then(parsers.parse('the service is restored within the RTO of the "{scenario}" scenario'))
def restored_within_rto(drill: Drill, scenario: str) -> None:
    drill.wait_restored(timeout_s=restore_wait_s(drill.config))
    summary = _finish(drill, scenario)
    verdict = judge(summary.measurements, drill.config, scenario).by_figure()["rto"]
    assert verdict.status == "pass", (
        f"RTO breach: {human_duration(verdict.measured_s)} "
        f"against {human_duration(verdict.target_s)}"
        f" ({verdict.detail or 'exceeded'})"
    )


@then(parsers.parse('acknowledged writes lost stay within the RPO of the "{scenario}" scenario'))
def lost_within_rpo(drill: Drill, scenario: str) -> None:
    summary = _finish(drill, scenario)
    verdict = judge(summary.measurements, drill.config, scenario).by_figure()["rpo"]
    ledger = summary.measurements.ledger
    assert ledger.acked > 0, "no acknowledged write was recorded: RPO cannot be measured"
    if scenario == "region_failure":
        # after a region failure nothing may be acknowledged and then lost: split brain
        assert ledger.lost_after_fault == 0, (
            f"RPO breach: {ledger.lost_after_fault} write(s) acknowledged after the fault lost"
        )
    assert verdict.status == "pass", (
        f"RPO breach: {human_duration(verdict.measured_s)} of acknowledged writes lost "
        f"({ledger.lost} writes) against {human_duration(verdict.target_s)}"
    )


@then("every activation phase finishes within its target")
def phases_within_targets(drill: Drill) -> None:
    summary = _finish(drill)
    names = {p.name for p in ACTIVATION_PHASES}
    phases = [v for v in summary.verdicts.items if v.figure in names]
    assert len(phases) == len(names), (
        f"expected the {len(names)} activation phases, timed: {[v.figure for v in phases]}"
    )
    late = [f"{v.title} {human_duration(v.measured_s)}" for v in phases if v.status == "fail"]
    assert not late, f"activation phase over its target: {late}"


@then(parsers.parse('the "{phase}" phase finishes within its target'))
def phase_within_target(drill: Drill, phase: str) -> None:
    summary = _finish(drill)
    verdict = summary.verdicts.by_figure().get(phase)
    assert verdict is not None, f"phase {phase} was not timed"
    assert verdict.status != "fail", (
        f"activation phase {verdict.title} took {human_duration(verdict.measured_s)} "
        f"against {human_duration(verdict.target_s)}"
    )


@then("the drill is recorded in the audit trail")
def recorded_in_audit(drill: Drill) -> None:
    _finish(drill)
    records = jsonl.read(drill.report_dir / "audit.jsonl").records
    actions = {r["action"] for r in records}
    assert "drill_started" in actions, "audit trail lacks drill_started"
    missing = [step for step, names in AUDITED_AS.items() if not names & actions]
    assert not missing, f"audit trail lacks {missing} (as any of {AUDITED_AS})"
    assert all(r["actor"] and r["time"] for r in records)
    assert any(r["action"] == "drill_measured" and "rto_s" in r for r in records)


@then("the global endpoint answers from the DR region")
def answers_from_dr(drill: Drill) -> None:
    routing = needs(drill, RoutingObserver, "say which region answers the global endpoint")
    assert routing.answering_region() == "dr"


@then("the DR database accepts writes")
def dr_writable(drill: Drill) -> None:
    problem = accepts_writes(drill.target.database_dsn("dr"))
    assert problem is None, f"the DR database refuses writes: {problem}"


@then("its health and critical flows pass")
def flows_pass(verification: ServiceCheck) -> None:
    assert verification.ok, f"DR region verification failed: {verification.checks}"

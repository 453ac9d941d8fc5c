"""The target's calls are placed in the phase they ended in, from the audit trail."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from drdrill.records.audit import AuditTrail
from drdrill.records.timeline import (
    ACTIVITY_END,
    ACTIVITY_START,
    PHASE_END,
    PHASE_START,
    ROLLBACK,
    Timeline,
)
from drdrill.report.summary import write_summary
from drdrill.report.target_calls import BETWEEN, FAIL_BACK, PhaseCalls, calls_by_phase

from .drill_data import summary

S = 1_000_000_000


def _call(audit: AuditTrail, action: str, outcome: str = "succeeded") -> None:
    audit.record(action, target="aws-x", outcome="started")
    audit.record(action, target="aws-x", outcome=outcome)


def test_each_call_is_counted_once_in_the_phase_it_ended_in() -> None:
    timeline, audit = Timeline(), AuditTrail(None)
    _call(audit, "sts:get_caller_identity")
    timeline.record(ACTIVITY_START, "fail-region")
    _call(audit, "eks:update_nodegroup_config")
    timeline.record(ACTIVITY_END, "fail-region")
    timeline.record(PHASE_START, "dns_failover")
    _call(audit, "route53:change_resource_record_sets")
    timeline.record(PHASE_END, "dns_failover")
    timeline.record(PHASE_START, "scale_dr")
    _call(audit, "kubernetes:patch_namespaced_deployment_scale")
    _call(audit, "kubernetes:patch_namespaced_deployment_scale")
    _call(audit, "eks:update_nodegroup_config", "failed")
    audit.record("twin_follow", target="aws-x", outcome="succeeded")  # not a target call
    timeline.record(PHASE_END, "scale_dr")
    timeline.record(ROLLBACK, "fail_back")
    _call(audit, "route53:change_resource_record_sets")

    found = calls_by_phase(timeline, audit.records())

    assert found == (
        PhaseCalls(BETWEEN, (("sts:get_caller_identity", 1),)),
        PhaseCalls("fail-region", (("eks:update_nodegroup_config", 1),)),
        PhaseCalls("dns_failover", (("route53:change_resource_record_sets", 1),)),
        PhaseCalls(
            "scale_dr",
            (
                ("kubernetes:patch_namespaced_deployment_scale", 2),
                ("eks:update_nodegroup_config", 1),
            ),
            failed=1,
        ),
        PhaseCalls(FAIL_BACK, (("route53:change_resource_record_sets", 1),)),
    )


def test_the_summary_shows_the_calls_per_phase(tmp_path: Path) -> None:
    calls = (PhaseCalls("database_promotion", (("rds:promote_read_replica", 1),)),)
    the_summary = replace(summary(tmp_path), calls=calls)

    paths = write_summary(the_summary, tmp_path)

    record = json.loads(paths["json"].read_text())
    assert record["target_calls"] == [
        {"phase": "database_promotion", "calls": {"rds:promote_read_replica": 1}, "failed": 0}
    ]
    assert "| database_promotion | rds:promote_read_replica | 0 |" in paths["md"].read_text()
    assert "rds:promote_read_replica" in paths["html"].read_text()


def test_a_drill_without_target_calls_has_no_such_section(tmp_path: Path) -> None:
    paths = write_summary(summary(tmp_path), tmp_path)
    assert "Target calls" not in paths["md"].read_text()
    assert "target-calls" not in paths["html"].read_text()

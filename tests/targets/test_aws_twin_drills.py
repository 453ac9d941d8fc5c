"""The stock drills on the AWS twin: ``pytest -m "full or partial" --target <twin>``
(the monthly backup drill: test_aws_twin_backup_drill.py), every step that acts on the platform a
call of the aws target (to moto in server mode and a Kubernetes API emulator per
cluster), the lab following what that control plane was told, RTO and RPO measured on
the lab's data plane.

What this cannot prove: AWS's own timings (moto and the emulators answer at once: the
phase times are our calls plus the lab's work), IAM permissions, quotas and throttling,
nor that EKS, Kubernetes and RDS behave as the twin's controller plays them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drdrill.config import DrillConfig
from drdrill.lab.topology import port_in_use
from drdrill.records.audit import AuditTrail
from drdrill.targets.twin.target import AwsTwinTarget
from tests.ports import port_block
from tests.targets.twin_drills import audit_records as _audit
from tests.targets.twin_drills import calls_by_phase as _calls
from tests.targets.twin_drills import run_stock_drills

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.aws]


def test_full_and_partial_drills_pass_on_the_twin_through_the_aws_targets_calls() -> None:
    """``pytest -m "full or partial" --target <twin>`` with the power-off full drill (the
    other failure modes: the matrix test below), one session: the full drill (activation,
    planned failback) and the partial test's three."""
    run = run_stock_drills(["-m", "full or partial", "-k", "not by_mode or power"], port_block())

    assert run.done.returncode == 0, run.done.stdout[-3000:]
    assert "4 passed" in run.done.stdout, run.done.stdout[-3000:]
    found = run.summaries()
    full = {s["failure_mode"]: s for s in found if s["kind"] == "full"}
    assert sorted(full) == ["power-off"]
    _check_measured_on_the_lab(full.values())
    _check_partial(run.reports, [s for s in found if s["kind"] == "partial"])
    _check_full_power_off(run.reports, full["power-off"])
    # the session brought the lab up, so it took it down with the twin's emulators
    assert not any(port_in_use(p) for p in run.twin_ports)


@pytest.mark.matrix
def test_every_failure_mode_passes_on_the_twin() -> None:
    """The mode x target matrix's twin column: blackhole and partition full drills through
    the aws target's calls (power-off: the test above)."""
    run = run_stock_drills(["-m", "full", "-k", "blackhole or partition"], port_block())

    assert run.done.returncode == 0, run.done.stdout[-3000:]
    full = {s["failure_mode"]: s for s in run.summaries() if s["kind"] == "full"}
    assert sorted(full) == ["blackhole", "partition"]
    _check_measured_on_the_lab(full.values())


def _check_measured_on_the_lab(full: Iterable[dict[str, Any]]) -> None:
    for summary in full:  # every mode: measured on the lab's data plane, 0 lost
        assert summary["outcome"] == "passed", summary["findings"]
        assert summary["acked_writes"] > 0 and summary["lost_after_fault"] == 0
        assert summary["failback"]["lost_writes"] == 0


def _check_partial(reports: Path, found: list[dict[str, Any]]) -> None:
    drills = {next(iter(s["phases"]), "none"): s for s in found}
    assert sorted(drills) == ["database_promotion", "dns_failover", "service_verification"]
    assert {s["outcome"] for s in drills.values()} == {"passed"}
    assert {s["target"] for s in drills.values()} == {"twin-under-test"}
    # each phase made the aws target's calls, audited, and the lab followed them
    assert _calls(drills["dns_failover"])["dns_failover"] == {
        "sts:get_caller_identity": 1,  # the allow-list, before the first change
        "route53:change_resource_record_sets": 1,
    }
    assert _calls(drills["database_promotion"])["database_promotion"] == {
        "sts:get_caller_identity": 1,
        "rds:promote_read_replica": 1,
    }
    assert "service_verification" not in _calls(drills["service_verification"])  # read-only
    audit = _audit(reports, drills["database_promotion"]["drill_id"])
    follows = [r["parameters"]["lab_action"] for r in audit if r["action"] == "twin_follow"]
    assert follows == ["promote_database"]
    assert [r["parameters"]["account"] for r in audit if r["action"].startswith("sts:")] == [
        "123456789012"
    ]


def _check_full_power_off(reports: Path, summary: dict[str, Any]) -> None:
    """The power-off drill: each activation and failback phase the aws target's calls,
    the lab following them in order, RTO and RPO from the lab's data plane."""
    calls = _calls(summary)
    assert calls["fail-region"] == {
        "sts:get_caller_identity": 1,
        "eks:update_nodegroup_config": 1,
    }
    assert calls["dns_failover"] == {"route53:change_resource_record_sets": 1}
    assert calls["scale_dr"] == {
        "eks:update_nodegroup_config": 1,
        "kubernetes:patch_namespaced_deployment_scale": 1,
    }
    assert calls["database_promotion"] == {"rds:promote_read_replica": 1}
    assert calls["repoint_applications"] == {"kubernetes:patch_namespaced_deployment": 1}
    # RTO and RPO are the lab's: writes acknowledged through its edge, checked in its
    # database, and the service came back only after the lab's workers were repointed
    assert summary["acked_writes"] > 0
    assert summary["lost_after_fault"] == 0
    assert summary["rto_s"] is not None and summary["rpo_s"] is not None
    audit = _audit(reports, summary["drill_id"])
    repointed = next(
        r["t_ns"]
        for r in audit
        if r["action"] == "twin_follow" and r["parameters"]["lab_action"] == "repoint_applications"
    )
    assert summary["t_restored"] is not None
    fault = datetime.fromisoformat(summary["t_fault"]).timestamp()
    assert summary["rto_s"] >= repointed / 1e9 - fault - 0.1  # (to the probe interval)

    # the planned failback that ends the drill: each phase the aws target's calls, and
    # the lab following each of them
    assert calls["prepare_primary"] == {
        "rds:create_db_instance_read_replica": 1,  # the new primary: a replica of DR
        "kubernetes:patch_namespaced_deployment": 1,  # the primary's apps on DR meanwhile
    }
    for percent in (10, 50, 100):
        assert calls[f"traffic_shift_{percent}pct"] == {"route53:change_resource_record_sets": 1}
    assert calls["switchover"] == {
        "rds:modify_db_parameter_group": 1,  # the fence
        "rds:promote_read_replica": 1,
        "kubernetes:patch_namespaced_deployment": 2,  # both regions' DATABASE_URL
        "rds:create_db_instance_read_replica": 1,  # DR re-attached
    }
    assert calls["scale_down_dr"] == {
        "kubernetes:patch_namespaced_deployment_scale": 1,
        "eks:update_nodegroup_config": 1,
    }
    assert "verify_primary" not in calls and "validate_dr" not in calls  # read-only
    follows = [
        (r["parameters"]["lab_action"], r["parameters"]["args"])
        for r in audit
        if r["action"] == "twin_follow" and r["outcome"] == "succeeded"
    ]
    assert not [r for r in audit if r["action"] == "twin_follow" and r["outcome"] == "failed"]
    restored = follows.index(("restore_region", ["primary"]))
    in_order = iter(follows[restored + 1 :])
    assert all(
        action in in_order
        for action in [
            ("rebuild_region_database", ["primary"]),
            ("set_traffic_weight", ["primary", 10]),
            ("set_traffic_weight", ["primary", 50]),
            ("set_traffic_weight", ["primary", 100]),
            ("fence_database", ["dr"]),
            ("catch_up", ["primary"]),
            ("promote_standby", ["primary"]),
            ("repoint_applications", ["primary", "primary"]),
            ("repoint_applications", ["dr", "primary"]),
            ("rebuild_region_database", ["dr"]),
            ("scale_region", ["dr", DrillConfig().lab.dr_workers]),
        ]
    ), follows
    failback = summary["failback"]
    assert failback["lost_writes"] == 0 and failback["consistency_problem"] is None
    assert failback["switchover"]["customer_visible_s"] <= failback["switchover"]["target_s"]
    # the control plane left the lab in its steady state: its own fail back had nothing to do
    [in_place] = [r for r in audit if r["action"] == "fail_back" and r.get("how")]
    assert in_place["how"] == "steady already: nothing to roll back"


def test_the_twins_fail_back_after_an_activation_carries_the_data_home_through_aws() -> None:
    """After an activation (DR serving), the twin's ``fail_back`` is the aws target's:
    the primary's database prepared and switched over to through RDS, the lab following;
    the lab's own fail back then finds it steady."""
    state = Path(tempfile.mkdtemp(prefix="drdrill-twin-", dir="/tmp"))
    os.chmod(state, 0o755)
    base = port_block()
    config = DrillConfig.model_validate(
        {
            "lab": {"base_port": base, "state_dir": str(state / "lab")},
            "targets": {
                "twin": {
                    "kind": "aws-twin",
                    "moto_port": base + 80,
                    "kube_ports": {"primary": base + 81, "dr": base + 82},
                }
            },
        }
    )
    audit = AuditTrail(state / "audit.jsonl")
    twin = AwsTwinTarget(config.target("twin"), config, name="twin", audit=audit)  # type: ignore[arg-type]
    try:
        twin.ensure_up()
        twin.fail_region("primary", "power-off")
        twin.fail_over_dns("dr")
        twin.scale_region("dr")
        twin.promote_database("dr")
        twin.repoint_applications("dr", "dr")
        with psycopg.connect(twin.lab.db_dsn("dr"), autocommit=True) as conn:
            conn.execute("INSERT INTO orders (id, product_id) VALUES ('written-on-dr', 1)")
        assert twin.serving_region() == "dr"

        twin.fail_back()

        assert twin.lab.steady_problems() == []
        with psycopg.connect(twin.lab.db_dsn("primary")) as conn:
            found = conn.execute("SELECT id FROM orders WHERE id = 'written-on-dr'").fetchall()
        assert found == [("written-on-dr",)]
    finally:
        twin.release()
        twin.lab.down()
    records = audit.records()
    changes = [r["action"] for r in records if r["outcome"] == "started" and ":" in r["action"]]
    assert changes.count("rds:create_db_instance_read_replica") == 2  # new primary, new DR
    assert "rds:modify_db_parameter_group" in changes  # the fence
    assert changes.count("rds:promote_read_replica") == 2  # the activation's, the new primary
    follows = [
        (r["parameters"]["lab_action"], r["parameters"]["args"])
        for r in records
        if r["action"] == "twin_follow" and r["outcome"] == "succeeded"
    ]
    in_order = iter(follows)  # the lab followed the aws target's failback, in its order
    assert all(
        action in in_order
        for action in [
            ("restore_region", ["primary"]),
            ("rebuild_region_database", ["primary"]),
            ("fence_database", ["dr"]),
            ("catch_up", ["primary"]),
            ("promote_standby", ["primary"]),
            ("repoint_applications", ["primary", "primary"]),
            ("rebuild_region_database", ["dr"]),
        ]
    ), follows
    assert ("repoint_applications", ["dr", "primary"]) in follows
    assert ("fail_over_dns", ["primary"]) in follows
    [in_place] = [r for r in records if r["action"] == "fail_back" and r.get("how")]
    assert in_place["how"] == "steady already: nothing to roll back"

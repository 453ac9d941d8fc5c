"""The monthly backup drill on the AWS twin: ``pytest -k backup_restore --target <twin>``,
every snapshot, copy and restore an RDS call of the aws target (to moto in server mode),
the lab following it; what the drill checks is read from the real PostgreSQL the lab
restored.

What this cannot prove: RDS's own timings (moto answers at once and restores nothing: the
lab does the restoring), IAM permissions, quotas, nor snapshot storage and cost.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.ports import port_block
from tests.targets.twin_drills import audit_records as _audit
from tests.targets.twin_drills import calls_by_phase as _calls
from tests.targets.twin_drills import run_stock_drills

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.aws]


def test_the_monthly_backup_drill_on_the_twin_restores_through_rds_calls() -> None:
    """``pytest -k backup_restore --target <twin>``: every snapshot, copy and restore is
    the aws target's RDS call, followed by the lab's own backup action; what the drill
    checks (the census of a restored database, the orders customers acknowledged) is
    read from the real PostgreSQL the lab restored."""
    run = run_stock_drills(["-k", "backup_restore"], port_block())
    reports = run.reports

    assert run.done.returncode == 0, run.done.stdout[-3000:]
    assert "7 passed" in run.done.stdout, run.done.stdout[-3000:]
    found = run.summaries()
    assert len(found) == 7
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for summary in found:
        by_scenario.setdefault(summary["scenario"], []).append(summary)
    follows: list[str] = []
    calls: dict[str, int] = {}
    for summary in found:
        for record in _audit(reports, summary["drill_id"]):
            if record["action"] == "twin_follow":
                assert record["outcome"] == "succeeded", record
                follows.append(record["parameters"]["lab_action"])
            elif ":" in record["action"] and record["outcome"] == "succeeded":
                calls[record["action"]] = calls.get(record["action"], 0) + 1
    # integrity (snapshot, restore), PITR, primary + DR copy, ransomware (snapshot, copy,
    # restore of the isolated copy), data corruption (PITR): each an RDS call, followed
    assert calls["rds:create_db_snapshot"] == follows.count("snapshot") == 3
    assert calls["rds:copy_db_snapshot"] == follows.count("copy_snapshot") == 2
    assert calls["rds:restore_db_instance_from_db_snapshot"] == 4
    assert follows.count("restore_snapshot") == 4
    assert calls["rds:restore_db_instance_to_point_in_time"] == 2
    assert follows.count("restore_to_point_in_time") == 2
    assert calls["s3:copy_object"] >= 10  # object versions restored by the aws target
    # the scenarios without a fault passed on their checks alone
    assert {s["outcome"] for s in by_scenario["region_failure"]} == {"passed"}
    [ransomware] = by_scenario["ransomware"]
    assert ransomware["outcome"] == "passed"
    ransom_calls = _calls(ransomware)
    assert ransom_calls["database_restore"] == {"rds:restore_db_instance_from_db_snapshot": 1}
    assert ransom_calls["repoint_applications"] == {"kubernetes:patch_namespaced_deployment": 1}
    # measured on the lab's data plane: writes acknowledged through its edge
    assert ransomware["acked_writes"] > 0 and ransomware["rto_s"] is not None
    [corruption] = by_scenario["data_corruption"]
    assert _calls(corruption)["database_restore"] == {
        "sts:get_caller_identity": 1,  # its first change: the allow-list is checked
        "rds:restore_db_instance_to_point_in_time": 1,
    }
    assert corruption["rto_s"] is not None
    # orders acknowledged by the corrupted database before the repair: discarded by the
    # point-in-time restore by design, named, and not a failure of the drill
    assert corruption["outcome"] == "passed", corruption["findings"]
    assert corruption["discarded_by_restore"] > 0 and corruption["lost_after_fault"] == 0

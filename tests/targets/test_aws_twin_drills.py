"""The stock drills on the AWS twin: ``pytest -m partial|full --target <twin>``, every
activation step a call of the aws target (to moto in server mode and a Kubernetes API
emulator per cluster), the lab following what that control plane was told, RTO and RPO
measured on the lab's data plane.

What this cannot prove: AWS's own timings (moto and the emulators answer at once: the
phase times are our calls plus the lab's work), IAM permissions, quotas and throttling,
nor that EKS, Kubernetes and RDS behave as the twin's controller plays them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drdrill.lab.topology import port_in_use

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.aws]
ROOT = Path(__file__).resolve().parents[2]
TWIN_PORTS = (23610, 23611, 23612)


def _drill(selection: list[str], base_port: int) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the stock features on a twin of a lab this test owns; the reports dir."""
    state = Path(tempfile.mkdtemp(prefix="drdrill-twin-", dir="/tmp"))
    os.chmod(state, 0o755)
    config = state / "drdrill.yaml"
    config.write_text(
        f"lab: {{base_port: {base_port}, state_dir: {state / 'lab'}}}\n"
        f"reports_dir: {state / 'reports'}\n"
        "targets:\n"
        "  twin-under-test:\n"
        "    kind: aws-twin\n"
        f"    moto_port: {TWIN_PORTS[0]}\n"
        f"    kube_ports: {{primary: {TWIN_PORTS[1]}, dr: {TWIN_PORTS[2]}}}\n"
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_features.py")),
            *selection,
            *("--target", "twin-under-test", f"--drill-config={config}"),
            *("-p", "no:cacheprovider", "-q"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return done, state / "reports"


def _summaries(reports: Path) -> dict[str, dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in reports.glob("*/summary.json")]
    return {next(iter(s["phases"]), "none"): s for s in found}


def _audit(reports: Path, drill_id: str) -> list[dict[str, Any]]:
    lines = (reports / drill_id / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _calls(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {p["phase"]: p["calls"] for p in summary["target_calls"]}


def test_the_partial_drill_passes_on_the_twin_through_the_aws_targets_calls() -> None:
    done, reports = _drill(["-m", "partial"], base_port=26100)

    assert done.returncode == 0, done.stdout[-3000:]
    drills = _summaries(reports)
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
    # the session brought the lab up, so it took it down with the twin's emulators
    assert not any(port_in_use(p) for p in TWIN_PORTS)


def test_the_full_drill_on_the_twin_is_measured_on_the_labs_data_plane() -> None:
    done, reports = _drill(["-m", "full", "-k", "power"], base_port=26200)

    assert done.returncode == 0, done.stdout[-3000:]
    [summary] = _summaries(reports).values()
    assert summary["outcome"] == "passed"
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


def test_the_monthly_backup_drill_on_the_twin_restores_through_rds_calls() -> None:
    """``pytest -k backup_restore --target <twin>``: every snapshot, copy and restore is
    the aws target's RDS call, followed by the lab's own backup action; what the drill
    checks (the census of a restored database, the orders customers acknowledged) is
    read from the real PostgreSQL the lab restored."""
    done, reports = _drill(["-k", "backup_restore"], base_port=26300)

    assert done.returncode == 0, done.stdout[-3000:]
    assert "7 passed" in done.stdout, done.stdout[-3000:]
    found = [json.loads(p.read_text()) for p in reports.glob("*/summary.json")]
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

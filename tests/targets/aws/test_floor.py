"""The activation's floor on AWS, from the profile: what ``drdrill plan`` prints next to
the targets. Pure arithmetic over the profile; nothing here times AWS itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drdrill.cli.plan import print_plan
from drdrill.config import load_config
from drdrill.targets.aws.floor import activation_floor, failback_floor, switchover_outage_floor
from drdrill.targets.aws.profile import AwsProfile
from tests.test_plan import profile


def _profile(tmp_path: Path, **changes: object) -> dict[str, object]:
    raw = profile(1, "scale-nodegroups", tmp_path / "kubeconfig")
    raw.update(changes)
    return raw


def test_each_phase_floor_comes_from_the_profile(tmp_path: Path) -> None:
    raw = _profile(
        tmp_path,
        timings={
            "health_check_interval_s": 10,
            "health_check_failure_threshold": 2,
            "node_launch_s": 100,
            "pod_start_s": 20,
            "rds_promotion_s": 240,
            "rollout_s": 45,
        },
    )
    dr = raw["regions"]["dr"]  # type: ignore[index]
    dr["standby_scaling"] = {"min_size": 1, "max_size": 9, "desired_size": 3}
    dr["scaling"] = {"min_size": 9, "max_size": 9, "desired_size": 9}
    raw["dns"]["ttl"] = 60  # type: ignore[index]

    floors = {f.phase: f.seconds for f in activation_floor(AwsProfile.model_validate(raw))}

    assert floors == {
        "assessment": 20.0,  # 2 failures x 10 s
        "dns_failover": 60.0,  # the record TTL
        "scale_dr": 120.0,  # 3 -> 9 nodes: a node launch, then the replicas
        "database_promotion": 240.0,
        "repoint_applications": 45.0,
        "service_verification": 0.0,
    }


def test_warm_nodes_enough_means_only_the_replicas_start(tmp_path: Path) -> None:
    raw = _profile(tmp_path)  # dr: no standby scaling, serving size already there
    floor = {f.phase: f for f in activation_floor(AwsProfile.model_validate(raw))}
    assert floor["scale_dr"].seconds == AwsProfile.model_validate(raw).timings.pod_start_s
    assert "already at 3 nodes" in floor["scale_dr"].why


@pytest.mark.parametrize("method", ["read-replica", "snapshot"])
def test_each_failback_phase_floor_comes_from_the_profile_and_its_method(
    tmp_path: Path, method: str
) -> None:
    raw = _profile(
        tmp_path,
        timings={
            "rds_promotion_s": 200,
            "rollout_s": 40,
            "rds_snapshot_s": 300,
            "rds_snapshot_copy_s": 600,
            "rds_restore_s": 500,
            "rds_replica_create_s": 1000,
            "parameter_apply_s": 5,
            "metric_period_s": 60,
        },
        failback={"method": method},
    )
    raw["dns"]["ttl"] = 30  # type: ignore[index]
    aws = AwsProfile.model_validate(raw)

    floors = {f.phase: f.seconds for f in failback_floor(aws, (10, 50, 100))}
    outage, _ = switchover_outage_floor(aws)

    if method == "read-replica":
        prepare, expected_outage = 1000 + 40, 5 + 60 + 200 + 40  # fence, a lag period, ...
    else:
        prepare, expected_outage = 300 + 600 + 500 + 40, 40  # writes frozen since the snapshot
    assert outage == expected_outage
    assert floors == {
        "prepare_primary": prepare,
        "verify_primary": 0.0,
        "traffic_shift": 90.0,  # 3 steps x the TTL
        "switchover": expected_outage + 1000,  # then DR's new replica
        "scale_down_dr": 0.0,
        "validate_dr": 60.0,
    }


@pytest.mark.parametrize(("rto", "verdict"), [("30m", "reachable"), ("5m", "NOT reachable")])
def test_the_plan_prints_the_floor_next_to_the_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rto: str, verdict: str
) -> None:
    config_file = tmp_path / "drdrill.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {"objectives": {"rto": rto, "rpo": "5m"}, "targets": {"aws-x": _profile(tmp_path)}}
        )
    )
    # defaults: 3 x 30 s detection + 60 s TTL + 30 s replicas + 300 s promotion + 60 s rollout
    assert print_plan(load_config(config_file), "full", "aws-x") == 0
    out = capsys.readouterr().out
    assert "assessment: >= 90.00 s (target 5 min: reachable)" in out
    assert "database_promotion: >= 5 min (target 10 min: reachable)" in out
    assert f"RTO floor: >= 9 min (target {rto.replace('m', ' min')} from objectives: " in out
    assert out.rstrip().endswith(f"{verdict})")

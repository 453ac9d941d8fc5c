"""The twin's controller, its parts without a lab: a lab action is audited by its name
and tried once; the RDS calls of a failback and of a backup become the lab's actions,
in the order the trail holds them. A recording stand-in plays the lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import load_config
from drdrill.records.audit import AuditTrail
from drdrill.targets.aws.fence import READ_ONLY
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.lab_actions import LabActions
from drdrill.targets.twin.rds_calls import RdsFollower
from drdrill.targets.twin.seed import new_instance, parameter_group, planned_profile, rds_instance
from drdrill.targets.twin.trail import Call
from tests.ports import port_block


class Backups:
    def __init__(self, lab: RecordingLab) -> None:
        self.lab = lab

    def snapshot(self, name: str, region: str = "primary") -> None:
        self.lab._did("snapshot", name, region)

    def copy_snapshot(self, name: str, to_region: str) -> None:
        self.lab._did("copy_snapshot", name, to_region)


class RecordingLab:
    """What the controller asks of the lab, in order; ``broken`` actions raise."""

    def __init__(self, broken: tuple[str, ...] = ()) -> None:
        self.done: list[tuple[Any, ...]] = []
        self.broken = broken

    def _did(self, *call: Any) -> None:
        if call[0] in self.broken:
            raise RuntimeError(f"{call[0]} broke")
        self.done.append(call)

    def rebuild_region_database(self, region: str) -> None:
        self._did("rebuild_region_database", region)

    def promote_standby(self, region: str) -> None:
        self._did("promote_standby", region)

    def fence_database(self, region: str) -> None:
        self._did("fence_database", region)

    def unfence_database(self, region: str) -> None:
        self._did("unfence_database", region)

    def catch_up(self, standby_region: str) -> None:
        self._did("catch_up", standby_region)

    def backups(self) -> Backups:
        return Backups(self)  # a new object each time, as the lab's


def _audit(tmp_path: Path) -> tuple[AuditTrail, Path]:
    path = tmp_path / "audit.jsonl"
    return AuditTrail(path, who="tester"), path


def _follows(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if r["action"] == "twin_follow"]


@pytest.fixture
def profile(tmp_path: Path) -> AwsProfile:
    file = tmp_path / "drdrill.yaml"
    file.write_text(f"lab: {{base_port: {port_block()}, state_dir: {tmp_path / 'lab'}}}\n")
    config = load_config(file)
    return planned_profile(config, config.target("aws-twin"))  # type: ignore[arg-type]


def test_a_lab_action_is_audited_by_its_name_with_its_signal_and_arguments(
    tmp_path: Path,
) -> None:
    lab = RecordingLab()
    audit, path = _audit(tmp_path)
    actions = LabActions(lab, audit, "aws-twin")  # type: ignore[arg-type]

    assert actions.do("read replica created", lab.rebuild_region_database, "primary")

    [record] = _follows(path)
    assert record["outcome"] == "succeeded"
    assert record["target"] == "aws-twin"
    assert record["parameters"] == {
        "signal": "read replica created",
        "lab_action": "rebuild_region_database",
        "args": ["primary"],
    }
    assert lab.done == [("rebuild_region_database", "primary")]


def test_a_failed_lab_action_is_noted_audited_and_never_tried_again(tmp_path: Path) -> None:
    lab = RecordingLab(broken=("snapshot",))
    audit, path = _audit(tmp_path)
    actions = LabActions(lab, audit, "aws-twin")  # type: ignore[arg-type]

    # each time through a new backups object: still the same action, given up
    assert not actions.do("DB snapshot created", lab.backups().snapshot, "s1", "dr")
    assert not actions.do("DB snapshot created", lab.backups().snapshot, "s1", "dr")
    assert actions.do("DB snapshot created", lab.backups().copy_snapshot, "s1", "primary")

    follows = _follows(path)
    assert [(r["parameters"]["lab_action"], r["outcome"]) for r in follows] == [
        ("snapshot", "failed"),
        ("copy_snapshot", "succeeded"),
    ]
    assert follows[0]["error"] == "snapshot broke"
    assert actions.errors == ["snapshot('s1', 'dr') after DB snapshot created: snapshot broke"]


def _call(action: str, region: str, **params: str) -> Call:
    return Call(service="rds", region=region, action=action, params=params)


def test_a_failbacks_rds_calls_become_the_labs_rebuild_fence_and_promotion(
    tmp_path: Path, profile: AwsProfile
) -> None:
    lab = RecordingLab()
    audit, path = _audit(tmp_path)
    rds = RdsFollower(lab, profile, LabActions(lab, audit, "aws-twin"))  # type: ignore[arg-type]
    primary = profile.regions["primary"].name
    new, fence = new_instance("primary"), parameter_group(rds_instance("dr"))

    def set_fence(value: str) -> Call:
        return _call(
            "ModifyDBParameterGroup",
            profile.regions["dr"].name,
            **{
                "DBParameterGroupName": fence,
                "Parameters.Parameter.1.ParameterName": READ_ONLY,
                "Parameters.Parameter.1.ParameterValue": value,
            },
        )

    assert rds.follow(_call("CreateDBInstanceReadReplica", primary, DBInstanceIdentifier=new))
    assert rds.database_of(new) == "primary"
    assert rds.follow(set_fence("1"))
    assert rds.fenced
    assert rds.follow(_call("PromoteReadReplica", primary, DBInstanceIdentifier=new))
    assert not rds.fenced
    assert rds.follow(set_fence("0"))
    # not followed: a promotion of no replica it made, another parameter group
    assert not rds.follow(_call("PromoteReadReplica", primary, DBInstanceIdentifier=new))
    assert not rds.follow(
        _call("ModifyDBParameterGroup", primary, DBParameterGroupName="another-group")
    )

    assert lab.done == [
        ("rebuild_region_database", "primary"),
        ("fence_database", "dr"),
        ("catch_up", "primary"),
        ("promote_standby", "primary"),
        ("unfence_database", "dr"),
    ]
    assert [r["parameters"]["signal"] for r in _follows(path)] == [
        "read replica created",
        "write fence set",
        "write fence set",
        "read replica promoted",
        "write fence lifted",
    ]


def test_a_snapshot_of_a_seeded_instance_is_the_labs_snapshot_of_its_region(
    tmp_path: Path, profile: AwsProfile
) -> None:
    lab = RecordingLab()
    audit, path = _audit(tmp_path)
    rds = RdsFollower(lab, profile, LabActions(lab, audit, "aws-twin"))  # type: ignore[arg-type]
    dr = profile.regions["dr"]

    assert rds.follow(
        _call(
            "CreateDBSnapshot",
            dr.name,
            DBInstanceIdentifier=dr.rds_instance,
            DBSnapshotIdentifier="before-the-release",
        )
    )
    # a snapshot of an instance the lab does not stand for: nothing to do in the lab
    assert rds.follow(
        _call(
            "CreateDBSnapshot", dr.name, DBInstanceIdentifier="elsewhere", DBSnapshotIdentifier="x"
        )
    )

    assert lab.done == [("snapshot", "before-the-release", "dr")]
    assert [r["parameters"]["lab_action"] for r in _follows(path)] == ["snapshot"]

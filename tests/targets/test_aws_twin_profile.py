"""The AWS twin as a target profile: built in, local (no --confirm, no approver, the
lab's lock), its ports checked, its runbook the aws target's calls — all without
starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.cli.plan import print_plan
from drdrill.config import load_config
from drdrill.errors import ConfigError
from drdrill.orchestration.approval import needs_approval
from drdrill.targets import lock_name
from tests.ports import port_block

PORT = port_block()  # configured, never bound


def _config(tmp_path: Path, text: str = "") -> Path:
    file = tmp_path / "drdrill.yaml"
    file.write_text(f"lab: {{base_port: {PORT}, state_dir: {tmp_path / 'lab'}}}\n{text}")
    return file


def test_the_twin_is_built_in_local_and_shares_the_labs_lock(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))

    assert config.target("aws-twin").kind == "aws-twin"
    assert not needs_approval(config, "aws-twin", confirm=True, dry_run=False)
    lab = f"lab at {(tmp_path / 'lab').resolve()}"
    assert lock_name(config, "aws-twin") == lock_name(config, "lab") == lab


def test_the_twin_name_cannot_be_given_to_a_real_aws_profile(tmp_path: Path) -> None:
    aws = "targets:\n  aws-twin: {kind: aws, allowed_account_ids: ['1'], global_endpoint: x}\n"
    with pytest.raises(ConfigError, match="aws-twin"):
        load_config(_config(tmp_path, aws))


def test_twin_ports_must_be_distinct_and_below_the_ephemeral_range(tmp_path: Path) -> None:
    clash = "targets:\n  t: {kind: aws-twin, moto_port: 23601}\n"
    with pytest.raises(ConfigError, match="moto_port and kube_ports"):
        load_config(_config(tmp_path, clash))
    high = "targets:\n  t: {kind: aws-twin, moto_port: 40000}\n"
    with pytest.raises(ConfigError, match="moto_port"):
        load_config(_config(tmp_path, high))


def test_the_twins_runbook_is_the_aws_targets_calls_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(_config(tmp_path))

    assert print_plan(config, "partial", "aws-twin") == 0

    out = capsys.readouterr().out
    assert "would call: rds promote_read_replica [us-west-2] DBInstanceIdentifier=shop-dr-db" in out
    assert "route53 change_resource_record_sets" in out
    assert "['123456789012'] (moto's)" in out
    assert not (tmp_path / "lab").exists()


def test_the_twins_failback_runbook_is_the_aws_targets_read_replica_failback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(_config(tmp_path))

    assert print_plan(config, "failback", "aws-twin") == 0

    out = capsys.readouterr().out
    assert "refuses" not in out  # the twin seeds the failback's settings and groups
    assert (
        "would call: rds create_db_instance_read_replica [us-east-1] "
        "DBInstanceIdentifier=shop-primary-db-new" in out
    )
    assert "rds modify_db_parameter_group [us-west-2] DBParameterGroupName=shop-dr-db-params" in out
    assert "rds promote_read_replica [us-east-1] DBInstanceIdentifier=shop-primary-db-new" in out
    assert "'Weight': 10" in out  # the traffic steps on weighted records
    assert not (tmp_path / "lab").exists()

"""The drill configuration: the plan's targets by default, clear errors on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.config import load_config, parse_duration
from drdrill.errors import ConfigError


def test_defaults_carry_the_plans_targets(tmp_path: Path) -> None:
    config = load_config(root=tmp_path)

    assert (config.objectives.rto, config.objectives.rpo) == (1800, 300)
    assert config.objective_for("ransomware").rto == 7200
    assert config.objective_for("data_corruption").rpo == 900
    assert config.objective_for("security_breach").rto == 14400
    assert config.phases.target_for("dns_failover") == 300
    assert config.phases.target_for("database_promotion") == 600
    assert config.phases.target_for("service_verification") == 300
    assert config.alarms.replica_lag == 300
    assert config.alarms.s3_replication == 900
    assert config.modes["hot_standby"].rto == 300
    assert config.measurement.probe_interval == pytest.approx(0.1)
    assert config.lab.state_dir == tmp_path / ".drdrill/lab"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("100ms", 0.1), ("5s", 5), ("5m", 300), ("2h", 7200), ("7d", 604800), (3, 3), ("1.5", 1.5)],
)
def test_durations_are_read_in_their_units(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_a_file_overrides_defaults_and_resolves_paths_against_itself(tmp_path: Path) -> None:
    file = tmp_path / "conf" / "drdrill.yaml"
    file.parent.mkdir()
    file.write_text("objectives: {rto: 10m, rpo: 30s}\nlab: {base_port: 21000, state_dir: lab}\n")

    config = load_config(file)

    assert (config.objectives.rto, config.objectives.rpo) == (600, 30)
    assert config.lab.base_port == 21000
    assert config.lab.state_dir == file.parent / "lab"
    assert config.source == str(file)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("measurement: {probe_interval: soon}\n", ["measurement.probe_interval", "'soon'"]),
        ("lab: {base_port: 80}\n", ["lab.base_port", "80", "1024"]),
        ("lab: {colour: blue}\n", ["lab.colour", "Extra inputs"]),
        ("lab: {base_port: 50000}\n", ["lab", "ephemeral range"]),
        ("mode: lukewarm\n", ["lukewarm", "warm_standby"]),
        ("targets: {prod: {kind: gcp}}\n", ["targets.prod", "gcp"]),
        ("- just\n- a list\n", ["mapping"]),
        ("objectives: {rto: [\n", ["not valid YAML"]),
    ],
)
def test_a_bad_value_is_named_with_file_key_and_expectation(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    file = tmp_path / "drdrill.yaml"
    file.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load_config(file)

    message = str(caught.value)
    assert str(file) in message
    for part in expected:
        assert part in message


def test_a_missing_file_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_scenario_and_target_name_the_known_ones(tmp_path: Path) -> None:
    config = load_config(root=tmp_path)
    with pytest.raises(ConfigError, match="region_failure"):
        config.objective_for("meteor")
    with pytest.raises(ConfigError, match="'lab'"):
        config.target("aws-prod")

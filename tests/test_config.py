"""The drill configuration: the plan's targets by default, clear errors on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.config import LAB_MAX_WORKERS, DrillConfig, load_config, parse_duration
from drdrill.errors import ConfigError
from drdrill.lab.state_dir import default_state_dir
from drdrill.measurement.verdict import restore_wait_s


def test_defaults_carry_the_plans_targets(tmp_path: Path) -> None:
    config = load_config(root=tmp_path)

    region = config.objective_for("region_failure")
    assert (region.rto, region.rpo, region.mode) == (1800, 300, "warm_standby")
    assert region.source == "mode warm_standby"
    assert config.objective_for("ransomware").rto == 7200
    assert config.objective_for("data_corruption").rpo == 900
    assert config.objective_for("security_breach").rto == 14400
    assert config.phases.target_for("dns_failover") == 300
    assert config.phases.target_for("database_promotion") == 600
    assert config.phases.target_for("service_verification") == 300
    # the failback's day plan: prepare day 1, verify day 2, shift traffic days 3-5, ...
    assert config.phases.target_for("prepare_primary") == 86400
    assert config.phases.target_for("traffic_shift") == 3 * 86400
    assert config.phases.target_for("validate_dr") == 86400
    assert config.failback.traffic_steps == (10, 50, 100)
    assert config.failback.switchover_outage == 1.0
    assert config.alarms.replica_lag == 300
    assert config.alarms.s3_replication == 900
    assert config.modes["hot_standby"].rto == 300
    assert config.measurement.probe_interval == pytest.approx(0.1)
    assert config.lab.state_dir == default_state_dir(tmp_path)  # .drdrill/lab unless root


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
        ("lab: {primary_workers: 16}\n", ["lab.primary_workers", "16", "8"]),
        ("lab: {dr_scaled_workers: 9}\n", ["lab.dr_scaled_workers", "9", "8"]),
        ("measurement: {restore_wait: .nan}\n", ["measurement.restore_wait", "finite"]),
        ("objectives: {rto: .inf, rpo: 1s}\n", ["objectives.rto", "finite"]),
        ("targets: {lab: {kind: aws}}\n", ["targets.lab"]),
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


def config_from(tmp_path: Path, text: str) -> DrillConfig:
    file = tmp_path / "drdrill.yaml"
    file.write_text(text)
    return load_config(file)


def test_objectives_in_the_file_judge_every_scenario_without_its_own(tmp_path: Path) -> None:
    config = config_from(tmp_path, "objectives: {rto: 1s, rpo: 0s}\n")

    for scenario in ("region_failure", "data_center_disaster"):
        objective = config.objective_for(scenario)
        assert (objective.rto, objective.rpo, objective.source) == (1, 0, "objectives")
    # a backup-restore scenario keeps the plan's own targets
    assert config.objective_for("ransomware").rto == 7200


def test_hot_standby_mode_brings_the_plans_hot_standby_targets(tmp_path: Path) -> None:
    config = config_from(tmp_path, "mode: hot_standby\n")

    objective = config.objective_for("region_failure")
    assert (objective.rto, objective.rpo) == (300, 60)
    assert (objective.mode, objective.source) == ("hot_standby", "mode hot_standby")


def test_scenario_beats_objectives_beats_mode_target_by_target(tmp_path: Path) -> None:
    config = config_from(
        tmp_path,
        "mode: hot_standby\n"
        "objectives: {rto: 10m, rpo: 2m}\n"
        "scenarios: {region_failure: {rto: 4s}, meteor: {rpo: 1s}}\n",
    )

    region = config.objective_for("region_failure")
    assert (region.rto, region.rto_source) == (4, "scenarios.region_failure")
    assert (region.rpo, region.rpo_source) == (120, "objectives")
    assert config.objective_for("data_center_disaster").rto == 600
    assert config.objective_for("meteor").rpo == 1
    # naming some scenarios keeps the plan's others
    assert config.objective_for("ransomware").rpo == 3600


def test_the_wait_for_restoration_does_not_depend_on_the_rto_target(tmp_path: Path) -> None:
    tight = config_from(tmp_path, "scenarios: {region_failure: {rto: 4s}}\n")
    bounded = config_from(tmp_path, "measurement: {restore_wait: 30s, stable_for: 2s}\n")

    assert restore_wait_s(tight) >= 45 * 60
    assert restore_wait_s(bounded) == 32


def test_a_targets_block_keeps_the_lab_target(tmp_path: Path) -> None:
    profile = (Path(__file__).parent.parent / "docs" / "aws.md").read_text()
    block = profile.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = config_from(tmp_path, block)

    assert config.target("aws-staging").kind == "aws"
    assert config.target("lab").kind == "lab"


def test_lab_workers_are_limited_to_what_the_port_plan_holds(tmp_path: Path) -> None:
    config = config_from(tmp_path, f"lab: {{primary_workers: {LAB_MAX_WORKERS}}}\n")

    assert config.lab.primary_workers == LAB_MAX_WORKERS == 8
    with pytest.raises(ConfigError, match="primary_workers"):
        config_from(tmp_path, f"lab: {{primary_workers: {LAB_MAX_WORKERS + 1}}}\n")


def test_failback_steps_and_targets_are_overridable_and_checked(tmp_path: Path) -> None:
    file = tmp_path / "drdrill.yaml"
    file.write_text(
        "phases: {switchover: 10m}\nfailback: {traffic_steps: [25, 100], switchover_outage: 3s}\n"
    )
    config = load_config(file)
    assert config.phases.target_for("switchover") == 600
    assert (config.failback.traffic_steps, config.failback.switchover_outage) == ((25, 100), 3)

    file.write_text("failback: {traffic_steps: [50, 10]}\n")
    with pytest.raises(ConfigError, match=r"failback.traffic_steps.*rising from 1 to a last step"):
        load_config(file)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("load: {workers: 0}", ["load.workers", "value 0", "at least 1 worker"]),
        ("load: {workers: -2}", ["load.workers", "value -2", "greater than or equal to 0"]),
        ("load: {workers: 100}", ["load.workers", "value 100", "less than or equal to 64"]),
        ("load: {workers: two}", ["load.workers", "'two'", "valid integer"]),
        ("load: {master_port: 70000}", ["load.master_port", "value 70000"]),
        ("load: {remote_workers: -1}", ["load.remote_workers", "value -1"]),
        ("load: {workers_wait: soon}", ["load.workers_wait", "'soon'"]),
        ("load: {processes: 2, workers: 3}", ["load", "processes 2 and workers 3 disagree"]),
    ],
)
def test_bad_load_workers_are_named_with_their_key(
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


def test_load_workers_choose_between_one_process_and_a_master(tmp_path: Path) -> None:
    def load(text: str) -> tuple[bool, int, int]:
        file = tmp_path / "drdrill.yaml"
        file.write_text(text)
        settings = load_config(file).load
        return settings.distributed, settings.workers, settings.expected_workers

    assert load("load: {}") == (False, 1, 1)  # one plain Locust process, as before
    assert load("load: {workers: 3}") == (True, 3, 3)
    assert load("load: {processes: 2}") == (True, 2, 2)  # the old name of workers
    assert load("load: {workers: 1, remote_workers: 2}") == (True, 1, 3)
    assert load("load: {workers: 0, remote_workers: 4}") == (True, 0, 4)

"""The experiments are real Chaos Toolkit experiments, and the control times the phases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drdrill.chaos.control import after_activity_control, before_activity_control
from drdrill.chaos.runner import load_experiment, with_steps
from drdrill.errors import ConfigError
from drdrill.measurement.phases import ACTIVATION_PHASES, FAILBACK_PHASES, split_step
from drdrill.records.timeline import ACTIVITY_START, PHASE_END, PHASE_START, Timeline

ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"


@pytest.mark.parametrize(
    "name",
    ["region-failure.json", "dr-activation.json", "failback.json", "aws-region-failure.json"],
)
def test_plain_chaos_validate_accepts_the_experiment(name: str) -> None:
    done = subprocess.run(
        [str(CHAOS), "--no-log-file", "validate", str(ROOT / "experiments" / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "experiment syntax and semantic look valid" in done.stdout + done.stderr


def test_plain_chaos_discover_lists_drdrills_activities(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    done = subprocess.run(
        [
            *(str(CHAOS), "--no-log-file", "discover", "--no-install", "--no-system-info"),
            *("--discovery-path", str(out), "drdrill"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    discovery = json.loads(out.read_text())
    names = {(a["type"], a["mod"], a["name"]) for a in discovery["activities"]}
    assert ("probe", "drdrill.chaos.aws", "account_allowed") in names
    assert ("probe", "drdrill.chaos.probes", "serving_region") in names
    assert any(kind == "action" and mod == "drdrill.chaos.actions" for kind, mod, _ in names)
    # every activity an experiment of ours calls is one chaos discover lists
    for name in ("region-failure.json", "dr-activation.json", "failback.json"):
        experiment = json.loads((ROOT / "experiments" / name).read_text())
        for activity in [*experiment.get("method", []), *experiment.get("rollbacks", [])]:
            provider = activity.get("provider", {})
            if provider.get("module", "").startswith("drdrill."):
                assert (activity["type"], provider["module"], provider["func"]) in names


def test_activation_activities_are_the_plans_phases_in_order() -> None:
    experiment = load_experiment(ROOT / "experiments" / "dr-activation.json")
    assert [a["name"] for a in experiment["method"]] == [p.name for p in ACTIVATION_PHASES]


def test_failback_activities_are_the_plans_failback_phases_one_per_traffic_step() -> None:
    experiment = load_experiment(ROOT / "experiments" / "failback.json")
    names = [a["name"] for a in experiment["method"] if a["type"] == "action"]
    phases = [(split_step(n) or (n,))[0] for n in names]
    assert list(dict.fromkeys(phases)) == [p.name for p in FAILBACK_PHASES]
    assert [split_step(n) for n in names if split_step(n)] == [
        ("traffic_shift", 10),
        ("traffic_shift", 50),
        ("traffic_shift", 100),
    ]


def test_the_traffic_steps_of_the_failback_come_from_the_configuration() -> None:
    experiment = load_experiment(ROOT / "experiments" / "failback.json")
    adjusted = with_steps(experiment, "traffic_shift", (25, 100))
    names = [a["name"] for a in adjusted["method"]]
    assert names[1:5] == [
        "verify_primary",
        "traffic_shift_25pct",
        "traffic_shift_100pct",
        "switchover",
    ]
    assert [a["provider"]["arguments"]["percent"] for a in adjusted["method"][2:4]] == [25, 100]
    assert adjusted["method"][2]["provider"]["arguments"]["to_region"] == "${failed_region}"
    assert len(experiment["method"]) == len(adjusted["method"]) + 1  # the original is untouched
    with pytest.raises(ConfigError, match="no traffic_shift step"):
        with_steps(
            load_experiment(ROOT / "experiments" / "dr-activation.json"), "traffic_shift", (100,)
        )


def test_an_invalid_experiment_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"title": "no method"}))
    with pytest.raises(ConfigError, match=r"broken\.json"):
        load_experiment(broken)
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_experiment(broken)


def test_control_records_phases_and_other_activities_into_the_timeline() -> None:
    from drdrill.chaos.context import ChaosContext
    from drdrill.config import DrillConfig

    timeline = Timeline()
    config = {"drill": ChaosContext(target=None, config=DrillConfig(), timeline=timeline)}  # type: ignore[arg-type]
    before_activity_control({"name": "database_promotion"}, configuration=config)
    after_activity_control({"name": "database_promotion"}, {"status": "failed"}, config)
    before_activity_control({"name": "fail-region"}, configuration=config)
    before_activity_control({"name": "traffic_shift_50pct"}, configuration=config)
    before_activity_control({"name": "switchover"}, configuration=config)
    before_activity_control({"name": "nophase_50pct"}, configuration=config)

    assert [(e.kind, e.name) for e in timeline] == [
        (PHASE_START, "database_promotion"),
        (PHASE_END, "database_promotion"),
        (ACTIVITY_START, "fail-region"),
        (PHASE_START, "traffic_shift_50pct"),
        (PHASE_START, "switchover"),
        (ACTIVITY_START, "nophase_50pct"),
    ]
    assert timeline.events(PHASE_END)[0].detail["ok"] is False


def test_control_without_a_drill_does_nothing() -> None:
    before_activity_control({"name": "assessment"}, configuration={})
    after_activity_control({"name": "assessment"}, None, None)


class _Region:
    """A region whose verification fails after ``takes_s`` (a blackhole: every check
    runs into its timeout) and counts when each check started."""

    def __init__(self, takes_s: float) -> None:
        self.takes_s = takes_s
        self.started: list[float] = []

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> object:
        from drdrill.targets.base import CheckResult, ServiceCheck

        self.started.append(time.monotonic())
        time.sleep(self.takes_s)
        return ServiceCheck(region, (CheckResult("health", False, self.takes_s, "timed out"),))


@pytest.mark.parametrize("takes_s", [0.0, 1.25])
def test_assessment_spaces_its_checks_start_to_start_and_does_not_wait_after_the_last(
    takes_s: float,
) -> None:
    from drdrill.chaos.actions import confirm_region_down
    from drdrill.chaos.context import ChaosContext
    from drdrill.config import DrillConfig

    region = _Region(takes_s)
    config = {"drill": ChaosContext(target=region, config=DrillConfig())}  # type: ignore[arg-type]
    began = time.monotonic()
    result = confirm_region_down("primary", checks=2, interval_s=1.0, configuration=config)
    took = time.monotonic() - began

    assert result["confirmed_down"] is True
    assert len(region.started) == 2
    gap = region.started[1] - region.started[0]
    assert gap >= max(1.0, takes_s) - 0.01, gap  # a sleep never ends early
    # two checks, one gap: a pause after the last check would add a whole second; the
    # 0.8 s of head-room is for a busy machine's scheduling, not for that pause
    assert took < max(1.0, takes_s) + takes_s + 0.8, took


def _interrupted_experiment(tmp_path: Path, runtime: dict[str, object] | None) -> Path:
    """An experiment whose method is Ctrl-C and whose rollback leaves a directory."""
    experiment: dict[str, object] = {
        "title": "interrupted",
        "description": "Ctrl-C in the method",
        "configuration": {"drill": None},
        "method": [
            {
                "type": "action",
                "name": "ctrl-c",
                "provider": {
                    "type": "process",
                    "path": "kill",
                    "arguments": ["-INT", str(os.getpid())],
                },
            }
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "leave-a-mark",
                "provider": {
                    "type": "process",
                    "path": "mkdir",
                    "arguments": [str(tmp_path / "rolled-back")],
                },
            }
        ],
    }
    if runtime is not None:
        experiment["runtime"] = runtime
    path = tmp_path / "interrupted.json"
    path.write_text(json.dumps(experiment))
    return path


@pytest.mark.parametrize(
    ("runtime", "rolled_back"),
    [({"rollbacks": {"strategy": "always"}}, True), (None, False)],
    ids=["declares-always", "declares-nothing"],
)
def test_the_runner_plays_the_rollback_strategy_the_experiment_declares(
    tmp_path: Path, runtime: dict[str, object] | None, rolled_back: bool
) -> None:
    from drdrill.chaos.context import ChaosContext
    from drdrill.chaos.runner import run
    from drdrill.config import DrillConfig

    context = ChaosContext(target=None, config=DrillConfig())  # type: ignore[arg-type]
    # Ctrl-C as under a terminal, even in a session started in the background (where
    # the shell made SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        journal = run(_interrupted_experiment(tmp_path, runtime), context)
    finally:
        signal.signal(signal.SIGINT, previous)

    assert journal["status"] == "interrupted"
    assert (tmp_path / "rolled-back").is_dir() is rolled_back

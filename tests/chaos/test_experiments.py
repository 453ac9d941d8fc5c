"""The experiments are real Chaos Toolkit experiments, and the control times the phases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drdrill.chaos.control import after_activity_control, before_activity_control
from drdrill.chaos.runner import load_experiment
from drdrill.errors import ConfigError
from drdrill.phases import ACTIVATION_PHASES
from drdrill.timeline import ACTIVITY_START, PHASE_END, PHASE_START, Timeline

ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"


@pytest.mark.parametrize("name", ["region-failure.json", "dr-activation.json"])
def test_plain_chaos_validate_accepts_the_experiment(name: str) -> None:
    done = subprocess.run(
        [str(CHAOS), "--no-log-file", "validate", str(ROOT / "experiments" / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "experiment syntax and semantic look valid" in done.stdout + done.stderr


def test_activation_activities_are_the_plans_phases_in_order() -> None:
    experiment = load_experiment(ROOT / "experiments" / "dr-activation.json")
    assert [a["name"] for a in experiment["method"]] == [p.name for p in ACTIVATION_PHASES]


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

    assert [(e.kind, e.name) for e in timeline] == [
        (PHASE_START, "database_promotion"),
        (PHASE_END, "database_promotion"),
        (ACTIVITY_START, "fail-region"),
    ]
    assert timeline.events(PHASE_END)[0].detail["ok"] is False


def test_control_without_a_drill_does_nothing() -> None:
    before_activity_control({"name": "assessment"}, configuration={})
    after_activity_control({"name": "assessment"}, None, None)

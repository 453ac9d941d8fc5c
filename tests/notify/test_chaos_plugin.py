"""``chaos run`` users get the same routing, through Chaos Toolkit's own notification plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from drdrill.notify.chaos_plugin import notification_of
from tests.notify.receivers import HttpReceiver

CHAOS = Path(sys.executable).parent / "chaos"


def experiment(marker: Path, deviate: bool) -> dict[str, Any]:
    """The hypothesis is "the marker file exists"; the method removes it, or leaves it."""
    return {
        "title": "marker survives",
        "description": "a notification test that touches nothing but its own file",
        "configuration": {"target": "lab", "drill_id": "chaos-1"},
        "steady-state-hypothesis": {
            "title": "the marker exists",
            "probes": [
                {
                    "type": "probe",
                    "name": "marker-exists",
                    "tolerance": True,
                    "provider": {
                        "type": "python",
                        "module": "os.path",
                        "func": "exists",
                        "arguments": {"path": str(marker)},
                    },
                }
            ],
        },
        "method": [
            {
                "type": "action",
                "name": "remove-marker" if deviate else "look-around",
                "provider": {
                    "type": "python",
                    "module": "os",
                    "func": "remove" if deviate else "listdir",
                    "arguments": {"path": str(marker)} if deviate else {"path": "."},
                },
            }
        ],
    }


def chaos_run(tmp_path: Path, http: HttpReceiver, deviate: bool) -> list[dict[str, Any]]:
    settings = {
        "notifications": [
            {
                "type": "plugin",
                "module": "drdrill.notify.chaos_plugin",
                "events": ["run-started", "run-completed", "run-failed", "run-deviated"],
                "drdrill": {
                    "channels": {"hook": {"kind": "webhook", "url": f"{http.url}/hook"}},
                    "recipients": {"ops-team": ["hook"], "leadership": ["hook"]},
                },
            }
        ]
    }
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    marker = tmp_path / "marker"
    marker.touch()
    (tmp_path / "experiment.json").write_text(json.dumps(experiment(marker, deviate)))
    subprocess.run(
        [
            str(CHAOS),
            "--no-log-file",
            "--settings",
            str(tmp_path / "settings.yaml"),
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            str(tmp_path / "experiment.json"),
        ],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        timeout=120,
    )
    return [body for path, body in http.received if path == "/hook"]


@pytest.mark.slow
def test_a_chaos_run_announces_its_start_and_its_outcome(
    tmp_path: Path, http: HttpReceiver
) -> None:
    bodies = chaos_run(tmp_path, http, deviate=False)

    assert [b["event"] for b in bodies] == ["drill_started", "drill_finished"]
    assert {b["drill_id"] for b in bodies} == {"chaos-1"}
    assert {b["target"] for b in bodies} == {"lab"}
    assert bodies[1]["facts"]["outcome"] == "passed"


@pytest.mark.slow
def test_a_deviated_chaos_run_is_announced_as_failed(tmp_path: Path, http: HttpReceiver) -> None:
    bodies = chaos_run(tmp_path, http, deviate=True)

    assert [b["event"] for b in bodies] == ["drill_started", "drill_finished"]
    assert bodies[1]["facts"]["outcome"] == "failed"
    assert bodies[1]["facts"]["deviated"] is True


@pytest.mark.parametrize(
    ("status", "deviated", "outcome"),
    [
        ("completed", False, "passed"),
        ("completed", True, "failed"),
        ("failed", False, "failed"),
        ("aborted", False, "aborted"),
        ("interrupted", False, "aborted"),
    ],
)
def test_a_journal_status_becomes_a_drill_outcome(
    status: str, deviated: bool, outcome: str
) -> None:
    journal = {"status": status, "deviated": deviated, "experiment": {"title": "t"}}
    notification = notification_of({"name": "run-completed", "payload": journal})

    assert notification is not None
    assert notification.facts["outcome"] == outcome


def test_a_hypothesis_unmet_before_the_method_is_a_failed_drill() -> None:
    journal = {
        "status": "completed",
        "deviated": False,
        "steady_states": {"before": {"steady_state_met": False}, "after": None},
        "experiment": {"title": "t"},
    }
    notification = notification_of({"name": "run-completed", "payload": journal})

    assert notification is not None
    assert notification.facts["outcome"] == "failed"


def test_events_other_than_a_run_are_not_forwarded() -> None:
    assert notification_of({"name": "validate-completed", "payload": {}}) is None
    assert notification_of({"name": "run-deviated", "payload": {}}) is None  # said already

"""A drill interrupted in the middle of the disaster still puts the platform back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.lab import Lab
from drdrill.observation.verify import verify_http
from drdrill.support import jsonl
from tests.ports import port_block

pytestmark = [pytest.mark.lab, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_after_the_fault_rolls_the_lab_back_to_steady_state() -> None:
    state = Path(tempfile.mkdtemp(prefix="drdrill-interrupt-", dir="/tmp"))
    os.chmod(state, 0o755)
    config_file = state / "drdrill.yaml"
    config_file.write_text(
        f"lab: {{base_port: {port_block()}, state_dir: {state / 'lab'}}}\n"
        f"reports_dir: {state / 'reports'}\n"
    )
    lab = Lab.from_config(load_config(config_file))
    lab.up()
    try:
        drill = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                str(ROOT / "tests" / "test_features.py"),
                "-m",
                "full",
                "-k",
                "power",
                f"--drill-config={config_file}",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        faulted = False
        while time.monotonic() < deadline and not faulted:
            for timeline in (state / "reports").glob("*/timeline.jsonl"):
                faulted = any(
                    json.loads(line)["kind"] == "fault_injected"
                    for line in timeline.read_text().splitlines()
                )
            time.sleep(0.05)
        assert faulted, "the drill never injected the fault"
        drill.send_signal(signal.SIGTERM)
        out, _ = drill.communicate(timeout=90)

        assert drill.returncode != 0, out
        status = lab.status()
        assert status["running"], out
        assert status["regions"]["primary"]["failure"] is None
        assert status["regions"]["primary"]["db"]["role"] == "primary"
        assert status["regions"]["dr"]["db"]["role"] == "standby"
        assert verify_http(lab.edge_url).ok
        audit = next((state / "reports").glob("*/audit.jsonl")).read_text()
        assert '"drill_finished"' in audit and '"fail_back"' in audit
        # one history line, truthful: aborted after the fault, by SIGTERM, not passed
        history = jsonl.read(state / "reports" / "history.jsonl").records
        assert [(h["outcome"], h["passed"]) for h in history] == [("aborted", False)], out
        assert history[0]["reached"] in ("fault_injected", "activating", "activated")
        assert "SIGTERM" in str(history[0]["error"])
    finally:
        lab.down()

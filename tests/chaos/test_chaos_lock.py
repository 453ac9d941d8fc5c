"""Plain ``chaos run`` of an experiment using drdrill's activities holds the target's lock:
refused at once, touching nothing, while a drill holds the target; run under the drill's
own lock when the drill started it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from drdrill.config import load_config
from drdrill.targets import target_lock
from tests.ports import port_block

ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"
EXPERIMENT = ROOT / "experiments" / "region-failure.json"

HOLD = """
import sys, time
from drdrill.config import load_config
from drdrill.targets import target_lock
target_lock(load_config(sys.argv[1]), "lab", command="drdrill run full", drill_id="D-7").acquire()
print("held", flush=True)
time.sleep(120)
"""


def _config(tmp_path: Path) -> Path:
    file = tmp_path / "drdrill.yaml"
    file.write_text(f"lab: {{base_port: {port_block()}, state_dir: {tmp_path / 'lab'}}}\n")
    return file


def _chaos_run(tmp_path: Path, config: Path, extra_env: dict[str, str]) -> dict[str, Any]:
    journal = tmp_path / "journal.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRDRILL_")}
    env.update(DRDRILL_CONFIG=str(config), **extra_env)
    done = subprocess.run(
        [str(CHAOS), "--no-log-file", "run", "--journal-path", str(journal), str(EXPERIMENT)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert journal.exists(), done.stdout + done.stderr
    result: dict[str, Any] = json.loads(journal.read_text())
    return result


def _errors(journal: dict[str, Any]) -> str:
    probes = journal["steady_states"]["before"]["probes"]
    return "\n".join(str(p.get("exception", "")) for p in probes)


def test_plain_chaos_run_is_refused_while_a_drill_holds_the_target(tmp_path: Path) -> None:
    config = _config(tmp_path)
    drill = subprocess.Popen([sys.executable, "-c", HOLD, str(config)], stdout=subprocess.PIPE)
    try:
        assert drill.stdout is not None and drill.stdout.readline().strip() == b"held"
        journal = _chaos_run(tmp_path, config, {})
    finally:
        drill.kill()
        drill.wait()

    assert "is busy: drill D-7 (pid" in _errors(journal), _errors(journal)
    assert journal["run"] == []  # no fault was injected
    assert not (tmp_path / "lab").exists()


def test_chaos_run_started_by_a_drill_runs_under_the_drills_lock(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with target_lock(load_config(config), "lab", command="drdrill run full") as lock:
        journal = _chaos_run(tmp_path, config, lock.child_env())

    errors = _errors(journal)
    assert "is busy" not in errors and "the lab is not up" in errors, errors

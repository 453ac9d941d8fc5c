"""A dry run changes nothing on any target: ``drdrill run --dry-run`` prints the runbook
(it used to power the lab's region off and record a real pass), and ``pytest --dry-run``
skips every drill."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.ports import port_block

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path) -> Path:
    file = tmp_path / "drdrill.yaml"
    file.write_text(
        f"lab: {{base_port: {port_block()}, state_dir: {tmp_path / 'lab'}}}\n"
        f"reports_dir: {tmp_path / 'reports'}\n"
    )
    return file


def test_drdrill_run_dry_run_prints_the_runbook_and_touches_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "drdrill",
            "--drill-config",
            str(config),
            "run",
            "full",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing is executed" in done.stdout and "DR runbook" in done.stdout
    assert not (tmp_path / "lab").exists()  # no lab brought up, no region failed
    assert not (tmp_path / "reports").exists()  # no drill, no history line


def test_pytest_dry_run_skips_every_drill(tmp_path: Path) -> None:
    config = _config(tmp_path)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_features.py")),
            *("-m", "partial", "--dry-run", f"--drill-config={config}"),
            *("-p", "no:cacheprovider", "-q", "-rs"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "3 skipped" in done.stdout and "dry run: a drill changes its target" in done.stdout
    assert not (tmp_path / "lab").exists() and not (tmp_path / "reports").exists()

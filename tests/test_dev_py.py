"""``python3 dev.py drill`` stops at the first failure with its exit code (it used to print
the previous drill's report and carry on)."""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _project(tmp_path: Path, drdrill_exit: int) -> Path:
    """A copy of dev.py whose venv is set up already and whose drdrill records its calls."""
    shutil.copy(ROOT / "dev.py", tmp_path / "dev.py")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    stamp = runpy.run_path(str(ROOT / "dev.py"))["install_stamp"](tmp_path)
    (tmp_path / ".venv" / ".drdrill-installed").write_bytes(stamp)
    allure = tmp_path / "node_modules" / ".bin" / "allure"
    allure.parent.mkdir(parents=True)
    allure.write_text("#!/bin/sh\n")
    fake = bin_dir / "drdrill"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\nexit {drdrill_exit}\n')
    fake.chmod(0o755)
    return tmp_path


def test_a_failed_drill_stops_dev_py_with_its_exit_code(tmp_path: Path) -> None:
    project = _project(tmp_path, drdrill_exit=3)
    done = subprocess.run(
        [sys.executable, "dev.py", "drill"], cwd=project, capture_output=True, text=True
    )
    assert done.returncode == 3
    assert (project / "calls").read_text().splitlines() == ["run full"]
    assert "did not pass (exit 3)" in done.stdout


def test_a_passed_drill_shows_its_report(tmp_path: Path) -> None:
    project = _project(tmp_path, drdrill_exit=0)
    done = subprocess.run([sys.executable, "dev.py", "drill"], cwd=project, check=False)
    assert done.returncode == 0
    calls = (project / "calls").read_text().splitlines()
    assert calls == ["run full", "report --latest", "report"]

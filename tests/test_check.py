"""``drdrill check`` on the real lab: ready when it is, and says what would break the next
activation when the DR region is down — without failing anything itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drdrill.lab import Lab
from drdrill.support import jsonl

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _check(file: Path) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "drdrill", "--drill-config", str(file), "check", "--json"],
        capture_output=True,
        text=True,
        cwd=file.parent,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_a_healthy_lab_is_ready_and_the_check_goes_to_history(lab_file: tuple[Lab, Path]) -> None:
    lab, file = lab_file
    code, report = _check(file)
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert code == 0, checks
    assert {name for name, c in checks.items() if c["status"] == "ok"} == {
        "replication",
        "object_replication",
        "dr_capacity",
        "routing",
        "experiments",
    }
    # a fresh lab's only snapshot has no cross-region copy yet: ready, with a warning
    assert checks["backups"]["status"] == "warn"
    assert "no copy in the DR region" in checks["backups"]["detail"]
    history = jsonl.read(file.parent / "reports" / "history.jsonl").records
    assert history[-1]["kind"] == "readiness" and history[-1]["ready"] is True

    lab.backups().copy_snapshot("lab-up", "dr")
    code, report = _check(file)
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert code == 0 and checks["backups"]["status"] == "ok", checks["backups"]


def test_a_dr_region_down_is_what_would_break_the_next_activation(
    lab_file: tuple[Lab, Path],
) -> None:
    lab, file = lab_file
    lab.fail_region("dr", "power-off")
    try:
        code, report = _check(file)
    finally:
        lab.restore_region("dr")
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert code == 1 and report["ready"] is False
    assert checks["replication"]["status"] == "fail"
    assert checks["dr_capacity"]["status"] == "fail"
    assert checks["routing"]["status"] == "ok"

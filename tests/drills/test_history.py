"""Every drill that starts leaves one history line with its outcome and how far it got —
also one that failed before anything was measured (on the real lab)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.errors import LabError
from drdrill.lab import Lab
from drdrill.orchestration.drill import Drill
from drdrill.report.history import read_history, readiness
from drdrill.support import jsonl
from tests.lab.conftest import lab_config

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_a_drill_that_errs_before_measurement_is_in_history_and_counts(tmp_path: Path) -> None:
    config, _ = lab_config(26200)
    reports = tmp_path / "reports"
    config = config.model_copy(update={"reports_dir": reports})
    try:
        drill = Drill(config, kind="full")
        drill.prepare()
        assert drill.close(LabError("set-up failed: port taken")) == "error"
        lines = jsonl.read(reports / "history.jsonl").records
        assert len(lines) == 1
        line = lines[0]
        assert (line["outcome"], line["passed"], line["reached"]) == ("error", False, "steady")
        assert "port taken" in line["error"] and line["rto_s"] is None
        summary = (reports / drill.drill_id / "summary.md").read_text()
        assert "ERROR before measurement" in summary and "`steady`" in summary
        assert readiness(read_history(reports).rows) == 0.0
        audit = jsonl.read(drill.report_dir / "audit.jsonl").records
        finished = [r for r in audit if r["action"] == "drill_finished"]
        assert finished and finished[-1]["outcome"] == "rolled back"
    finally:
        Lab(config.lab).down()

"""A drill leaves evidence an auditor can check: its report directory sealed when it ends
(no lab needed: the drill ends before it touches its target, which is a stub)."""

from __future__ import annotations

import json
from pathlib import Path

from drdrill.config import DrillConfig, load_config
from drdrill.drill import Drill
from drdrill.report.archive import MANIFEST, verify


class NothingToFailBack:
    """A target with nothing to put back."""

    def fail_back(self) -> None:
        return None


def config_for(tmp_path: Path) -> DrillConfig:
    return load_config(root=tmp_path).model_copy(update={"reports_dir": tmp_path / "reports"})


def ended(drill: Drill, error: BaseException | None = None) -> str:
    drill.target = NothingToFailBack()  # type: ignore[assignment]
    return drill.close(error)


def test_a_drill_that_ended_is_sealed_and_verifies(tmp_path: Path) -> None:
    drill = Drill(config_for(tmp_path), kind="full")

    assert ended(drill, RuntimeError("set-up failed")) == "error"

    manifest = json.loads((drill.report_dir / MANIFEST).read_text())
    names = {f["path"] for f in manifest["files"]}
    assert {"audit.jsonl", "summary.json", "summary.md", "timeline.jsonl"} <= names
    audit = [
        json.loads(line) for line in (drill.report_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert manifest["audit_chain"]["records"] == len(audit)
    assert audit[-1]["action"] == "drill_finished"  # the trail's last word precedes the seal
    result = verify(drill.report_dir)
    assert result.ok, result.problems

"""A drill leaves evidence an auditor can check: its report directory sealed when it ends
(no lab needed: the drill ends before it touches its target, which is a stub)."""

from __future__ import annotations

import json
from pathlib import Path

from drdrill.config import DrillConfig, load_config
from drdrill.errors import RollbackIncomplete
from drdrill.orchestration.drill import Drill
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


class RollsBack:
    """A target whose fail back audits what it did, or stops short with the reason."""

    def __init__(self, drill: Drill, reason: str | None = None) -> None:
        self.audit = drill.audit
        self.reason = reason

    def fail_back(self) -> None:
        if self.reason is not None:
            self.audit.record("fail_back", target="stub", outcome="failed", error=self.reason)
            raise RollbackIncomplete(self.reason)
        self.audit.record(
            "fail_back", target="stub", outcome="succeeded", how="restored primary in place"
        )


def test_the_summary_and_the_audit_say_what_the_rollback_did(tmp_path: Path) -> None:
    drill = Drill(config_for(tmp_path), kind="full")
    drill.target = RollsBack(drill)  # type: ignore[assignment]

    drill.close(KeyboardInterrupt())

    summary = json.loads((drill.report_dir / "summary.json").read_text())
    assert summary["rollback"] == "restored primary in place"
    assert "- rollback: restored primary in place" in (drill.report_dir / "summary.md").read_text()
    assert "restored primary in place" in (drill.report_dir / "summary.html").read_text()
    assert not [f for f in summary["findings"] if "rollback" in f["what"]]
    finished = [r for r in drill.audit.records() if r["action"] == "drill_finished"]
    assert finished[-1]["rollback"] == "restored primary in place"


def test_an_incomplete_rollback_after_ctrl_c_is_a_critical_finding_with_its_reason(
    tmp_path: Path,
) -> None:
    drill = Drill(config_for(tmp_path), kind="full")
    drill.target = RollsBack(drill, "the data dir of dr gone or incomplete")  # type: ignore[assignment]

    assert drill.close(KeyboardInterrupt()) == "aborted"

    summary = json.loads((drill.report_dir / "summary.json").read_text())
    [finding] = [f for f in summary["findings"] if f["what"].startswith("rollback incomplete")]
    assert finding["severity"] == "critical"
    assert finding["detail"] == (
        "rollback incomplete: the data dir of dr gone or incomplete; data left intact for a human"
    )
    assert summary["rollback"] == finding["detail"]
    assert "rollback incomplete" in (drill.report_dir / "summary.md").read_text()
    finished = [r for r in drill.audit.records() if r["action"] == "drill_finished"]
    assert finished[-1]["outcome"].startswith("rollback failed: RollbackIncomplete")

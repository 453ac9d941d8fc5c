"""Who approved a drill: needed on a non-lab target before anything is touched, recorded
before the fault, never with a secret; the lab needs none. No lab, no AWS: the drills
here end before they touch their target."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drdrill.cli import main
from drdrill.cli import run as run_command
from drdrill.config import DrillConfig, load_config
from drdrill.errors import SafetyError
from drdrill.orchestration.approval import approver, ask_approver, needs_approval
from drdrill.orchestration.drill import Drill
from drdrill.support import jsonl
from tests.projects import aws_project

AWS = "aws-approval-test"


def write_config(tmp_path: Path) -> Path:
    """A project with the lab (on ports no one else uses) and an AWS profile."""
    return aws_project(tmp_path, AWS)


def config_of(tmp_path: Path) -> DrillConfig:
    return load_config(write_config(tmp_path))


class Stdin:
    """A stand-in for sys.stdin: a terminal or not, with what the user types."""

    def __init__(self, tty: bool, typed: str = "") -> None:
        self.tty, self.typed, self.read = tty, typed, False

    def isatty(self) -> bool:
        return self.tty

    def readline(self) -> str:
        self.read = True
        return self.typed


class NothingToFailBack:
    def fail_back(self) -> None:
        return None


def test_only_a_real_drill_of_a_non_lab_target_needs_approval(tmp_path: Path) -> None:
    config = config_of(tmp_path)

    assert needs_approval(config, AWS, confirm=True, dry_run=False)
    assert not needs_approval(config, AWS, confirm=True, dry_run=True)
    assert not needs_approval(config, AWS, confirm=False, dry_run=False)  # refused anyway
    assert not needs_approval(config, "lab", confirm=True, dry_run=False)


def test_an_approver_is_one_line_of_text() -> None:
    assert approver("  Jane\tDoe\n") == "Jane Doe"
    assert approver("Jane\n- approved by: Mallory\x1b[0m") == "Jane - approved by: Mallory [0m"
    assert len(approver("x" * 500)) == 200
    with pytest.raises(SafetyError, match="needs a name"):
        approver(" \n\t ")


def test_a_terminal_is_asked_for_the_approver(capsys: pytest.CaptureFixture[str]) -> None:
    assert ask_approver(Stdin(True, "Jane Doe\n"), target=AWS, kind="full") == "Jane Doe"
    assert "Who approved it?" in capsys.readouterr().out


@pytest.mark.parametrize("stdin", [Stdin(False, "Jane\n"), Stdin(True, ""), Stdin(True, " \n")])
def test_without_a_terminal_or_an_answer_the_drill_is_refused(stdin: Stdin) -> None:
    with pytest.raises(SafetyError, match=f"target '{AWS}' is not the lab.*--approved-by NAME"):
        ask_approver(stdin, target=AWS, kind="full")
    assert not (stdin.read and not stdin.tty)  # a non-terminal is never read


def test_a_drill_without_an_approver_is_refused_before_anything_exists(tmp_path: Path) -> None:
    config = config_of(tmp_path)

    with pytest.raises(SafetyError, match="--approved-by NAME"):
        Drill(config, target_name=AWS, kind="full", confirm=True)

    assert not (tmp_path / "reports").exists()


def test_the_approver_is_in_the_audit_trail_before_the_fault_and_in_the_summary(
    tmp_path: Path,
) -> None:
    drill = Drill(
        config_of(tmp_path),
        target_name=AWS,
        kind="full",
        confirm=True,
        approved_by="Jane Doe PGPASSWORD=hunter2",
    )
    drill.target = NothingToFailBack()  # type: ignore[assignment]
    drill.close(RuntimeError("stopped before the fault"))

    audit = jsonl.read(drill.report_dir / "audit.jsonl").records
    assert [r["action"] for r in audit[:2]] == ["drill_started", "drill_approved"]
    assert audit[1]["parameters"]["approved_by"] == "Jane Doe PGPASSWORD=***"
    summary = json.loads((drill.report_dir / "summary.json").read_text())
    assert summary["approved_by"] == "Jane Doe PGPASSWORD=***"
    assert "approved by **Jane Doe PGPASSWORD=***" in (drill.report_dir / "summary.md").read_text()
    for name in ("audit.jsonl", "summary.json", "summary.md", "manifest.json"):
        assert "hunter2" not in (drill.report_dir / name).read_text()


def test_the_lab_needs_no_approval(tmp_path: Path) -> None:
    drill = Drill(config_of(tmp_path), kind="full")
    drill.target = NothingToFailBack()  # type: ignore[assignment]
    drill.close()

    assert drill.approved_by is None
    actions = [r["action"] for r in jsonl.read(drill.report_dir / "audit.jsonl").records]
    assert "drill_approved" not in actions


class PytestRuns:
    """``drdrill run``'s pytest, replaced: the argv it would have run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.argv: list[str] | None = None
        monkeypatch.setattr(run_command, "_drill", self.run)
        monkeypatch.setattr(run_command, "_ensure_lab", lambda config: False)

    def run(self, argv: list[str], *args: Any) -> tuple[int, int]:
        self.argv = argv
        return 0, 0  # pytest's return code, its pid


def drdrill_run(tmp_path: Path, *args: str) -> int:
    config = write_config(tmp_path)
    return main(["--drill-config", str(config), "run", "full", *args])


def test_drdrill_run_refuses_a_non_lab_target_without_an_approver_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest_run = PytestRuns(monkeypatch)
    monkeypatch.setattr(sys, "stdin", Stdin(False))

    assert drdrill_run(tmp_path, "--target", AWS, "--confirm") == 2
    assert "is not the lab" in capsys.readouterr().err
    assert drdrill_run(tmp_path, "--target", AWS) == 2
    assert "pass --confirm" in capsys.readouterr().err
    assert pytest_run.argv is None


def test_drdrill_run_passes_the_approver_on_to_its_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest_run = PytestRuns(monkeypatch)

    assert drdrill_run(tmp_path, "--target", AWS, "--confirm", "--approved-by", "Jane Doe") == 0
    assert pytest_run.argv is not None
    assert pytest_run.argv[-2:] == ["--approved-by", "Jane Doe"]

    monkeypatch.setattr(sys, "stdin", Stdin(True, "Ann Other\n"))
    assert drdrill_run(tmp_path, "--target", AWS, "--confirm") == 0
    assert pytest_run.argv[-2:] == ["--approved-by", "Ann Other"]


def test_drdrill_run_on_the_lab_asks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest_run = PytestRuns(monkeypatch)
    stdin = Stdin(True, "should not be read\n")
    monkeypatch.setattr(sys, "stdin", stdin)

    assert drdrill_run(tmp_path) == 0
    assert pytest_run.argv is not None and "--approved-by" not in pytest_run.argv
    assert not stdin.read


DRILL_TEST = """
def test_a_drill(drill):
    print("APPROVED BY", drill.approved_by)


def test_a_scenario(request):  # pytest-bdd's scenarios reach the drill only at run time
    print("SCENARIO RAN")
"""

# The stand-in keeps the test off AWS: the drill exists (approved) but touches nothing.
CONFTEST = """
import pytest
from drdrill.pytest_plugin import APPROVED_BY

class Drill:
    def __init__(self, approved_by):
        self.approved_by = approved_by

@pytest.fixture
def drill(request):
    return Drill(request.config.stash.get(APPROVED_BY, None))
"""


def pytest_project(tmp_path: Path) -> list[str]:
    write_config(tmp_path)
    (tmp_path / "test_drill.py").write_text(DRILL_TEST)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "--target", AWS]


def test_a_pytest_session_without_an_approver_is_refused_exit_2(tmp_path: Path) -> None:
    argv = pytest_project(tmp_path)

    refused = subprocess.run(
        [*argv, "--confirm"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    approved = subprocess.run(
        [*argv, "--confirm", "--approved-by", "Jane Doe"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"target '{AWS}' is not the lab" in refused.stdout + refused.stderr
    assert "APPROVED BY" not in refused.stdout and "SCENARIO RAN" not in refused.stdout
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "APPROVED BY Jane Doe" in approved.stdout


def test_a_pytest_session_on_a_terminal_asks_for_the_approver(tmp_path: Path) -> None:
    argv = pytest_project(tmp_path)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: pytest on a terminal
        os.chdir(tmp_path)
        os.execv(sys.executable, [*argv, "--confirm"])
    seen = _read_until(terminal, b"Who approved it?")
    os.write(terminal, b"Jane Doe\n")
    seen += _read_until(terminal, b"passed")
    _, status = os.waitpid(pid, 0)

    assert b"Who approved it?" in seen
    assert b"APPROVED BY Jane Doe" in seen
    assert os.waitstatus_to_exitcode(status) == 0


def _read_until(fd: int, marker: bytes, timeout_s: float = 60.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout_s
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen

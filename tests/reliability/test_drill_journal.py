"""The drill journal (read, write, the "abandoned" decision), the refusal it causes, the
end of a dead drill's processes and the free-space check: no lab, no drill."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from drdrill.cli import main
from drdrill.config import DrillConfig, load_config
from drdrill.errors import DrillAbandoned, DrillError, ReportSpaceError
from drdrill.orchestration.drill import Drill
from drdrill.orchestration.journal import (
    DrillJournal,
    Injection,
    JournaledProcess,
    abandoned_error,
    is_abandoned,
    journal_path,
    read,
    write,
)
from drdrill.orchestration.recovery import end_processes
from drdrill.report.space import check_report_space, free_bytes
from drdrill.support.lock import TargetLock
from drdrill.targets import lock_name, target_lock
from tests.projects import aws_project

AWS = "aws-staging"


def _config(tmp_path: Path) -> DrillConfig:
    return load_config(aws_project(tmp_path, AWS))


def _more_than_free(directory: Path) -> int:
    """MB well over what is free there (others on this machine may free some meanwhile)."""
    return free_bytes(directory) // (1024 * 1024) * 2 + 1024


def _dead_process() -> JournaledProcess:
    proc = subprocess.Popen(["sleep", "30"])
    found = JournaledProcess.of(proc.pid, "drill")
    assert found is not None
    proc.kill()
    proc.wait()
    return found


def _journal(
    tmp_path: Path, holder: JournaledProcess, state: str = "fault_injected"
) -> DrillJournal:
    return DrillJournal(
        drill_id="20261208T000000Z-full-abcd",
        target="lab",
        state=state,
        holder=holder,
        report_dir=tmp_path / "reports" / "20261208T000000Z-full-abcd",
        reports_dir=tmp_path / "reports",
        kind="full",
        scenario="region_failure",
        started_ns=1_765_000_000_000_000_000,
        approved_by="Jane",
        injected=Injection("primary", "power-off"),
        changes=("fail_region region=primary mode=power-off",),
        processes=(JournaledProcess("locust", 4242, 4242, 1.5),),
    )


def test_a_journal_reads_back_as_written_with_the_time_it_was_written(tmp_path: Path) -> None:
    path = tmp_path / "lab.drill-journal.json"
    journal = _journal(tmp_path, _dead_process())

    written = write(path, journal)

    assert read(path) == written
    assert written.updated and written == DrillJournal(
        **{**journal.__dict__, "updated": written.updated}
    )
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_no_journal_reads_as_none_and_a_foreign_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    assert read(path) is None
    path.write_text(json.dumps({"drill_id": "x"}))
    with pytest.raises(DrillError, match=str(path)):
        read(path)
    path.write_text("{torn")
    with pytest.raises(DrillError, match="cannot be read"):
        read(path)


def test_a_drill_is_abandoned_only_when_unfinished_and_its_holder_is_gone(tmp_path: Path) -> None:
    dead = _dead_process()
    me = JournaledProcess.of(os.getpid(), "drill")
    assert me is not None

    assert is_abandoned(_journal(tmp_path, dead))
    assert not is_abandoned(_journal(tmp_path, dead, state="done"))
    assert not is_abandoned(_journal(tmp_path, me))  # still running: busy, not abandoned
    assert not is_abandoned(None)
    # a pid now used by another process (another start time) is not the holder
    reused = JournaledProcess("drill", os.getpid(), os.getpgid(0), me.create_time - 100)
    assert is_abandoned(_journal(tmp_path, reused))


def test_the_refusal_names_the_drill_its_state_its_time_and_the_command(tmp_path: Path) -> None:
    journal = write(tmp_path / "j.json", _journal(tmp_path, _dead_process()))
    line = str(abandoned_error(journal))
    assert line.startswith(
        f"drill {journal.drill_id} was abandoned in state fault_injected at {journal.updated}"
    )
    assert line.endswith("run `drdrill recover`")
    aws = DrillJournal(**{**journal.__dict__, "target": AWS})
    assert str(abandoned_error(aws)).endswith(f"run `drdrill recover --target {AWS}`")


def test_the_journal_lives_next_to_the_labs_state_dir_or_with_the_reports(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert journal_path(config, "lab") == tmp_path / "lab.drill-journal.json"
    assert journal_path(config, "aws-twin") == journal_path(config, "lab")  # same lab, same lock
    aws = journal_path(config, AWS)
    assert aws == tmp_path / "reports" / ".drill-journals" / f"{lock_name(config, AWS)}.json"


def test_the_targets_lock_is_refused_and_given_back_while_a_drill_is_abandoned(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    write(journal_path(config, "lab"), _journal(tmp_path, _dead_process()))

    with pytest.raises(DrillAbandoned, match="run `drdrill recover`"):
        target_lock(config, "lab", command="drdrill lab up").acquire()
    assert TargetLock(lock_name(config, "lab"), "test").holder() is None  # given back
    with target_lock(config, "lab", command="drdrill recover", refuse_abandoned=False):
        pass
    write(journal_path(config, "lab"), _journal(tmp_path, _dead_process(), state="done"))
    with target_lock(config, "lab", command="drdrill lab up"):
        pass


@pytest.mark.parametrize(
    "command",
    [["lab", "fail", "primary"], ["lab", "down"], ["lab", "up"], ["check"], ["run", "full"]],
)
def test_commands_that_could_change_the_target_refuse_an_abandoned_drill_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = _config(tmp_path)
    journal = write(journal_path(config, "lab"), _journal(tmp_path, _dead_process()))

    assert main(["--drill-config", str(tmp_path / "drdrill.yaml"), *command]) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"drdrill: error: {abandoned_error(journal)}"]


def test_a_drill_refuses_to_start_over_an_unfinished_one(tmp_path: Path) -> None:
    config = _config(tmp_path)
    write(journal_path(config, "lab"), _journal(tmp_path, _dead_process()))
    with pytest.raises(DrillAbandoned):
        Drill(config, kind="full")
    assert not (tmp_path / "reports").exists()


def test_a_drill_refuses_to_overwrite_an_unfinished_one_of_its_own_process(tmp_path: Path) -> None:
    config = _config(tmp_path)
    me = JournaledProcess.of(os.getpid(), "drill")
    assert me is not None
    write(journal_path(config, "lab"), _journal(tmp_path, me, state="failing_back"))
    with pytest.raises(DrillAbandoned, match="did not finish: left in state failing_back"):
        Drill(config, kind="full")


def test_a_drill_closed_before_its_steady_state_journals_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    drill = Drill(config, kind="full")
    drill.target = NothingToFailBack()  # type: ignore[assignment]
    drill.close(RuntimeError("set-up failed"))
    assert read(journal_path(config, "lab")) is None


class NothingToFailBack:
    def fail_back(self) -> None:
        return None


def test_only_the_journaled_processes_are_ended_with_their_group(tmp_path: Path) -> None:
    leader = subprocess.Popen(["sleep", "60"], process_group=0)
    member = subprocess.Popen(["sleep", "60"], process_group=leader.pid)
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        journaled = JournaledProcess.of(leader.pid, "locust")
        other = JournaledProcess.of(stranger.pid, "in-region clients")
        assert journaled is not None and other is not None
        # the stranger's pid, journaled with another start time: a reused pid
        reused = JournaledProcess(other.role, other.pid, other.pgid, other.create_time - 50)

        ended = end_processes([journaled, reused])

        assert ended == (journaled,)
        assert leader.wait(timeout=5) < 0 and member.wait(timeout=5) < 0
        time.sleep(0.1)
        assert stranger.poll() is None
    finally:
        for proc in (leader, member, stranger):
            proc.kill()
            proc.wait()


def test_too_little_free_space_for_the_reports_is_refused_naming_the_directory(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "not" / "yet" / "reports"
    free = free_bytes(reports)
    assert free > 0
    needed_mb = _more_than_free(reports)
    with pytest.raises(ReportSpaceError) as refused:
        check_report_space(reports, needed_mb)
    message = str(refused.value)
    assert str(reports) in message and f"a drill needs {needed_mb * 1024 * 1024}" in message
    assert "bytes free" in message and "not started" in message
    check_report_space(reports, 0)


def test_a_drill_is_not_started_without_room_for_its_reports(tmp_path: Path) -> None:
    config = _config(tmp_path)
    hungry = config.model_copy(update={"reports_min_free_mb": _more_than_free(tmp_path)})
    with pytest.raises(ReportSpaceError, match="reports_dir"):
        Drill(hungry, kind="full")
    assert not (tmp_path / "reports").exists()


class Recorder:
    """A target that is always healthy and records its fail back."""

    def __init__(self) -> None:
        self.failed_back = 0

    def verify_services(self) -> object:
        return type("Check", (), {"ok": True})()

    def fail_back(self) -> None:
        self.failed_back += 1


def test_a_drill_whose_timeline_cannot_be_written_still_fails_back_and_is_journaled(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    drill = Drill(config, kind="full")
    target = Recorder()
    drill.target = target  # type: ignore[assignment]
    drill.prepare()
    assert read(journal_path(config, "lab")).state == "steady"  # type: ignore[union-attr]
    drill.declare_fault("primary", "power-off", "region_failure")
    journaled = read(journal_path(config, "lab"))
    assert journaled is not None and journaled.state == "fault_injected"
    assert journaled.injected == Injection("primary", "power-off")
    drill.audit.record("fail_over_dns", target="lab", outcome="started", parameters={"to": "dr"})
    journaled = read(journal_path(config, "lab"))
    assert journaled is not None and journaled.changes == ("fail_over_dns to=dr",)
    timeline = drill.report_dir / "timeline.jsonl"
    timeline.unlink()
    timeline.mkdir()  # no event can be written any more (as on a full disk)

    assert drill.close(OSError(28, "No space left on device")) == "error"

    assert target.failed_back == 1
    done = read(journal_path(config, "lab"))
    assert done is not None and done.state == "done"
    history = (tmp_path / "reports" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["outcome"] for line in history] == ["error"]


def test_drdrill_run_refuses_without_room_for_the_reports_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path)
    config = tmp_path / "drdrill.yaml"
    needed = _more_than_free(tmp_path)
    config.write_text(config.read_text() + f"reports_min_free_mb: {needed}\n")

    assert main(["--drill-config", str(config), "run", "full"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"drdrill: error: reports_dir {tmp_path / 'reports'} has ")
    assert "The drill was not started" in err

"""Recovery after any death, tried as a skeptical SRE would: ``kill -9`` of the drill's
pytest, of ``drdrill run`` and its pytest together, a reports disk that fills mid-drill.
After each, the lab is in its steady state, no process the drill started runs on (checked
by the pids its journal named), and the history says the drill was aborted. On the real
lab, through the ``drdrill`` command line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.orchestration.journal import DrillJournal, journal_path, read
from drdrill.orchestration.outcome import DRILL_STATES
from tests.ports import port_block

from .harness import Bench, Writer

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    bench = Bench.make(port_block())
    bench.lab.up()
    try:
        yield bench
    finally:
        bench.lab.down()


def _journal(bench: Bench) -> DrillJournal | None:
    return read(journal_path(bench.config, "lab"))


def _journaled(bench: Bench, state: str, timeout_s: float = 90) -> DrillJournal:
    """The journal of the drill started since ``bench.mark()``, once it reached ``state``."""
    earlier = {p.parent.name for p in bench.seen_before}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        journal = _journal(bench)
        if (
            journal is not None
            and journal.drill_id not in earlier
            and DRILL_STATES.index(journal.state) >= DRILL_STATES.index(state)
        ):
            return journal
        time.sleep(0.05)
    raise AssertionError(f"no drill journaled {state} in {timeout_s} s: {_journal(bench)}")


def _drill(bench: Bench) -> subprocess.Popen[str]:
    bench.mark()
    return bench.drdrill("run", "full", "--mode", "power-off", "--keep-lab")


def _aborted_once(bench: Bench, before: int, drill_id: str) -> dict[str, object]:
    lines = bench.history()[before:]
    assert [(line["drill_id"], line["outcome"]) for line in lines] == [(drill_id, "aborted")], [
        (line["outcome"], line.get("reached"), line.get("error")) for line in lines
    ]
    assert lines[0]["reached"] not in ("created", "done")
    return lines[0]


def _nothing_left_of(journal: DrillJournal, bench: Bench) -> None:
    roles = {p.role for p in journal.processes}
    assert "locust" in roles, journal.processes  # else this check could not fail
    assert [p for p in journal.processes if p.is_running()] == []
    assert bench.orphans() == []


@pytest.fixture
def writer(bench: Bench, request: pytest.FixtureRequest) -> Iterator[Writer]:
    """An independent writer of orders through the global endpoint for the whole test."""
    with Writer(bench.lab, request.node.name.removeprefix("test_")[:40]) as running:
        yield running


def test_kill_9_of_the_drills_pytest_is_recovered_by_drdrill_run(
    bench: Bench, writer: Writer
) -> None:
    before = len(bench.history())
    proc = _drill(bench)
    journal = _journaled(bench, "fault_injected")

    os.kill(journal.holder.pid, signal.SIGKILL)
    assert proc.stdout is not None
    recovering = recovered = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "recovering" in line and recovering is None:
            recovering = time.monotonic()
        if "rolled back" in line and "aborted in state" in line:
            recovered = time.monotonic()
    proc.wait(timeout=60)
    out = "".join(lines)

    assert proc.returncode == 128 + signal.SIGKILL, out
    assert recovering is not None and recovered is not None, out
    assert "was killed by SIGKILL" in out
    assert bench.steady() == [], out
    # The brief's bound for a rollback after a power-off (restore the region, check the
    # lab: ~2-4 s here, plus writing the record); 10 s leaves head-room on a busy machine.
    assert recovered - recovering < 10, f"recovery took {recovered - recovering:.1f} s"
    _nothing_left_of(journal, bench)
    line = _aborted_once(bench, before, journal.drill_id)
    assert "SIGKILL" in str(line["error"])
    assert _journal(bench) is None
    assert (journal.report_dir / "summary.md").is_file()
    bench.kept_every_write(writer)


def test_a_drill_killed_with_drdrill_run_is_refused_until_drdrill_recover(
    bench: Bench, writer: Writer
) -> None:
    before = len(bench.history())
    bench.mark()  # a partition: its in-region clients are the drill's processes too
    proc = bench.drdrill("run", "full", "--mode", "partition", "--keep-lab", start_new_session=True)
    journal = _journaled(bench, "fault_injected")
    assert any("in_region_clients" in p.role for p in journal.processes), journal.processes

    # Both at once: pytest stopped first, so drdrill run's death (PR_SET_PDEATHSIG's
    # SIGTERM) cannot start its rollback before SIGKILL ends it.
    os.kill(journal.holder.pid, signal.SIGSTOP)
    os.killpg(proc.pid, signal.SIGKILL)
    os.kill(journal.holder.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while journal.holder.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)

    left = _journal(bench)
    assert left is not None and left.drill_id == journal.drill_id
    for args in (["lab", "fail", "primary"], ["run", "full", "--mode", "power-off"], ["check"]):
        refused = bench.drdrill(*args)
        out, _ = refused.communicate(timeout=60)
        assert refused.returncode == 2, (args, out)
        assert out.strip() == (
            f"drdrill: error: drill {journal.drill_id} was abandoned in state {left.state} "
            f"at {left.updated} (its process, pid {journal.holder.pid}, is gone); "
            "run `drdrill recover`"
        ), args
    status = bench.drdrill("lab", "status")
    assert status.communicate(timeout=60)[0] and status.returncode == 0  # read-only: runs
    assert bench.steady() != []  # the platform was left failed: recover has work to do

    recover = bench.drdrill("recover")
    out, _ = recover.communicate(timeout=120)
    recovered = time.monotonic()

    assert recover.returncode == 0, out
    assert f"drill {journal.drill_id} aborted in state" in out
    assert bench.steady() == [], out
    _nothing_left_of(journal, bench)
    line = _aborted_once(bench, before, journal.drill_id)
    assert "recovered by `drdrill recover`" in str(line["error"])
    assert _journal(bench) is None
    again = bench.drdrill("recover")
    assert "nothing to recover" in again.communicate(timeout=60)[0]
    bench.kept_every_write(writer, acked_after=recovered)


@pytest.fixture
def small_reports_disk(bench: Bench) -> Iterator[Path]:
    """A config for the bench's lab whose reports_dir is an 8 MB file system of its own."""
    root = bench.config_file.parent / "small-disk"
    mount = root / "reports"
    mount.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    config = root / "drdrill.yaml"
    config.write_text(
        f"lab: {{base_port: {bench.config.lab.base_port}, "
        f"state_dir: {bench.config.lab.state_dir}}}\n"
        f"reports_dir: {mount}\nreports_min_free_mb: 1\n"
    )
    try:
        yield config
    finally:
        subprocess.run(["umount", "-l", str(mount)])


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_reports_disk_that_fills_mid_drill_still_rolls_back_and_orphans_nothing(
    bench: Bench, small_reports_disk: Path, writer: Writer
) -> None:
    small = Bench(small_reports_disk, load_config(small_reports_disk), bench.lab)
    small.mark()
    proc = small.drdrill("run", "full", "--mode", "power-off", "--keep-lab")
    journal = _journaled(small, "fault_injected")

    filler = _fill(small.reports)
    out, _ = proc.communicate(timeout=240)

    assert proc.returncode != 0, out
    assert small.steady() == [], out
    _nothing_left_of(journal, small)
    assert "could not be written" in out and "drdrill recover" in out, out
    refused = small.drdrill("lab", "fail", "primary")
    assert refused.communicate(timeout=60)[0].count("was abandoned") == 1

    filler.unlink()
    recover = small.drdrill("recover")
    out, _ = recover.communicate(timeout=120)

    assert recover.returncode == 0, out
    _aborted_once(small, 0, journal.drill_id)
    assert small.steady() == []
    assert _journal(small) is None
    small.kept_every_write(writer)
    shutil.rmtree(small.reports / journal.drill_id, ignore_errors=True)

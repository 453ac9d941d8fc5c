"""One drill or lab command per target: refused at once naming the holder, taken over
when the holder died, shared with the holder's own children; a lab's lock is its state
directory's, whatever the port or the process's ``TMPDIR``; an unusable lock directory is
one line and exit code 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from drdrill.cli import main
from drdrill.config import load_config
from drdrill.support import lock as lock_module
from drdrill.support.lock import LOCK_DIR, LOCK_ENV, LockUnusable, TargetBusy, TargetLock
from drdrill.targets import target_lock
from tests.ports import port_block

HOLD = """
import sys, time
from drdrill.support.lock import TargetLock
lock = TargetLock(sys.argv[1], "drdrill run full", drill_id="D-1").acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(target: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, target], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_command_is_refused_naming_who_holds_the_target() -> None:
    target = f"test-{uuid.uuid4().hex[:8]}"
    holder = _holder(target)
    try:
        with pytest.raises(TargetBusy, match=rf"drill D-1 \(pid {holder.pid}, since "):
            TargetLock(target, "lab down").acquire()
        found = TargetLock(target, "lab status").holder()
        assert found is not None and found.pid == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_holder_is_taken_over() -> None:
    target = f"test-{uuid.uuid4().hex[:8]}"
    holder = _holder(target)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lock = TargetLock(target, "lab up").acquire()
    try:
        found = lock.holder()
        assert found is not None and found.pid == os.getpid() and found.command == "lab up"
    finally:
        lock.release()
    assert TargetLock(target, "lab status").holder() is None


def test_the_holders_children_act_under_its_lock_others_do_not() -> None:
    target = f"test-{uuid.uuid4().hex[:8]}"
    with TargetLock(target, "drdrill run") as lock:
        take = (
            "from drdrill.support.lock import TargetLock; "
            f"TargetLock({target!r}, 'pytest').acquire()"
        )
        child = subprocess.run(
            [sys.executable, "-c", take], env={**os.environ, **lock.child_env()}, check=False
        )
        assert child.returncode == 0
        sibling = subprocess.Popen(["sleep", "30"])  # alive, but no ancestor of the stranger
        try:
            stranger_env = {**os.environ, LOCK_ENV: f"{lock.path}:{sibling.pid}"}
            stranger = subprocess.run(
                [sys.executable, "-c", take], env=stranger_env, capture_output=True, check=False
            )
        finally:
            sibling.kill()
            sibling.wait()
        assert stranger.returncode != 0 and b"TargetBusy" in stranger.stderr


HOLD_LAB = """
import sys, time
from drdrill.config import load_config
from drdrill.targets import target_lock
target_lock(load_config(sys.argv[1]), "lab", command="drdrill lab up").acquire()
print("held", flush=True)
time.sleep(60)
"""

TAKE_LAB = (
    "import sys; from drdrill.config import load_config; from drdrill.targets import "
    "target_lock; target_lock(load_config(sys.argv[1]), 'lab', command='drdrill run').acquire()"
)


def _lab_config(directory: Path, name: str, base_port: int, state_dir: Path | str) -> Path:
    file = directory / f"{name}.yaml"
    file.write_text(f"lab: {{base_port: {base_port}, state_dir: {state_dir}}}\n")
    return file


def _lab_holder(config: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LAB, str(config)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_labs_lock_is_its_state_dirs_whatever_the_port_or_the_spelling(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "lab")
    base = port_block()  # a config's ports only: the lock is the directory's
    first = _lab_config(tmp_path, "first", base, tmp_path / "lab")
    holder = _lab_holder(first)
    try:
        for name, port, state_dir in [
            ("other-port", base + 100, tmp_path / "lab"),
            ("symlinked", base + 200, tmp_path / "link"),
            ("relative", base, "lab"),  # relative to the config file's directory
        ]:
            config = load_config(_lab_config(tmp_path, name, port, state_dir))
            with pytest.raises(TargetBusy, match=rf"drdrill lab up \(pid {holder.pid}, since "):
                target_lock(config, "lab", command="drdrill lab down").acquire()
        elsewhere = load_config(_lab_config(tmp_path, "elsewhere", 28000, tmp_path / "other"))
        target_lock(elsewhere, "lab", command="drdrill lab up").acquire().release()
    finally:
        holder.kill()
        holder.wait()


def test_a_process_with_another_tmpdir_is_refused_the_same_lab(tmp_path: Path) -> None:
    config = _lab_config(tmp_path, "drdrill", 28000, tmp_path / "lab")
    mine, theirs = tmp_path / "tmp-a", tmp_path / "tmp-b"
    mine.mkdir()
    theirs.mkdir()
    holder = _lab_holder(config, env={**os.environ, "TMPDIR": str(mine)})
    try:
        other = subprocess.run(
            [sys.executable, "-c", TAKE_LAB, str(config)],
            env={**os.environ, "TMPDIR": str(theirs)},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        holder.kill()
        holder.wait()
    assert other.returncode != 0 and "TargetBusy" in other.stderr, other.stderr
    assert f"drdrill lab up (pid {holder.pid}" in other.stderr
    assert target_lock(load_config(config), "lab", command="x").path.parent == LOCK_DIR


@pytest.mark.parametrize("how", ["a file", "under a file"])
def test_an_unusable_lock_directory_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x\n")
    unusable = blocker if how == "a file" else blocker / "drdrill-locks"
    monkeypatch.setattr(lock_module, "LOCK_DIR", unusable)
    config = _lab_config(tmp_path, "drdrill", 28000, tmp_path / "lab")

    code = main(["--drill-config", str(config), "lab", "down"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("drdrill: error: cannot use the lock ")
    assert str(unusable) in err
    with pytest.raises(LockUnusable):
        TargetLock("anything", "drdrill abort").holder()


def test_within_one_process_the_lock_is_reentrant_and_the_outer_holder_stays_named() -> None:
    target = f"test-{uuid.uuid4().hex[:8]}"
    take = f"from drdrill.support.lock import TargetLock; TargetLock({target!r}, 'other').acquire()"
    with TargetLock(target, "drdrill run", drill_id="D-2") as outer:
        inner = TargetLock(target, "chaos run").acquire()
        inner.release()
        found = outer.holder()
        assert found is not None and found.drill_id == "D-2" and found.pid == os.getpid()
        stranger = subprocess.run([sys.executable, "-c", take], capture_output=True, check=False)
        assert stranger.returncode != 0 and b"TargetBusy" in stranger.stderr
    assert TargetLock(target, "lab status").holder() is None

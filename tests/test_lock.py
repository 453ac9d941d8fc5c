"""One drill or lab command per target: refused at once naming the holder, taken over
when the holder died, shared with the holder's own children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from drdrill.lock import LOCK_ENV, TargetBusy, TargetLock

HOLD = """
import sys, time
from drdrill.lock import TargetLock
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
        take = f"from drdrill.lock import TargetLock; TargetLock({target!r}, 'pytest').acquire()"
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

"""Locust never outlives the drill that started it: killed with ``kill -9``, the drill
leaves no load running (it used to run on for up to 300 s and write into the next lab)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from .conftest import Shop

pytestmark = pytest.mark.slow

DRILL = """
import sys, time
from pathlib import Path
from drdrill.config import LoadSettings
from drdrill.observation.load import LoadRun
settings = LoadSettings(users=4, spawn_rate=4, workers=int(sys.argv[3]),
                        master_port=int(sys.argv[4]))
run = LoadRun(sys.argv[1], settings, Path(sys.argv[2]), max_seconds=300).start()
print(run.pid, *run.worker_pids, flush=True)
time.sleep(300)
"""


def _alive(pgid: int) -> bool:
    """A live (not zombie: pid 1 here may not reap orphans) process in group ``pgid``."""
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "master-and-2-workers"])
def test_locust_quits_when_its_drill_is_killed(
    shop: Shop, master_port: int, tmp_path: Path, workers: int
) -> None:
    drill = subprocess.Popen(
        [sys.executable, "-c", DRILL, shop.url, str(tmp_path), str(workers), str(master_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert drill.stdout is not None
    locust, *worker_pids = (int(pid) for pid in drill.stdout.readline().split())
    assert len(worker_pids) == (workers if workers > 1 else 0)
    assert all(os.getpgid(pid) == locust for pid in worker_pids)
    requests = tmp_path / "locust-requests.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (requests.exists() and requests.stat().st_size):
        time.sleep(0.1)
    assert _alive(locust) and requests.stat().st_size > 0, "Locust never sent a request"

    os.kill(drill.pid, signal.SIGKILL)
    drill.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(locust):
        time.sleep(0.1)
    try:
        assert not _alive(locust), "Locust runs on after its drill was killed"
    finally:
        if _alive(locust):
            os.killpg(locust, signal.SIGKILL)

"""A stalled stream on the real lab: ``drdrill check`` fails naming it, ``lab status`` agrees.

The WAL sender (on the primary) and then the WAL receiver (on the standby) are frozen with
SIGSTOP: the standby still says ``streaming`` and, with nothing written, the data is caught
up, so only the silence between the two tells the stall (``drdrill.lab.replication``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drdrill.lab import Lab
from drdrill.lab.replication import STALL_BOUND_S

pytestmark = [pytest.mark.lab, pytest.mark.slow]

WALSENDER_SQL = (
    "SELECT r.pid FROM pg_stat_replication AS r "
    "JOIN pg_replication_slots AS s ON s.active_pid = r.pid WHERE s.slot_name = 'dr'"
)
WALRECEIVER_SQL = "SELECT pid FROM pg_stat_wal_receiver"


def _drdrill(file: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "drdrill", "--drill-config", str(file), *args, "--json"],
        capture_output=True,
        text=True,
        cwd=file.parent,
        check=False,
        timeout=120,
    )
    return done.returncode, json.loads(done.stdout)


def _pid(dsn: str, sql: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None, f"no process found by {sql!r}"
    return int(row[0])


def _wait_flowing(lab: Lab, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lab.status()["replication"]["stalled"] is None:
            return
        time.sleep(0.5)
    raise AssertionError(f"replication did not flow again: {lab.status()['replication']}")


def _assert_stalled_everywhere(file: Path) -> None:
    code, report = _drdrill(file, "check")
    replication = report["checks"]["replication"]
    assert code == 1 and report["ready"] is False
    assert replication["status"] == "fail"
    assert "replication stalled" in replication["detail"]

    _, status = _drdrill(file, "lab", "status")
    rep = status["replication"]
    assert rep["stalled"] is not None
    assert rep["state"] != "streaming"
    assert rep["lag_s"] > 0  # nothing was written, yet a stalled stream never reads 0
    # the same judgement: the same state and reason (its seconds move on between the two)
    assert f"replication stalled ({rep['state']}): " in replication["detail"]
    assert rep["stalled"].split(" for ")[0] in replication["detail"]


@pytest.mark.parametrize(
    ("role", "sql"),
    [("primary", WALSENDER_SQL), ("dr", WALRECEIVER_SQL)],
    ids=["walsender", "walreceiver"],
)
def test_a_frozen_replication_process_fails_check_and_lab_status_agrees(
    lab_file: tuple[Lab, Path], role: str, sql: str
) -> None:
    lab, file = lab_file
    _wait_flowing(lab)
    _, report = _drdrill(file, "check")
    assert report["checks"]["replication"]["status"] == "ok", report["checks"]["replication"]

    pid = _pid(lab.db_dsn(role), sql)
    os.kill(pid, signal.SIGSTOP)
    try:
        # past the stall bound (5 s), well before the 10 s by which check must fail
        time.sleep(STALL_BOUND_S + 1)
        _assert_stalled_everywhere(file)
    finally:
        os.kill(pid, signal.SIGCONT)
    _wait_flowing(lab)

"""Two Locust workers through the lab's edge: every checkout Locust sent is in the drill's
one ledger exactly once and in the lab's database exactly once."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from drdrill.config import LabSettings, LoadSettings
from drdrill.lab import Lab
from drdrill.observation.load import LoadRun
from tests.ports import port_block

pytestmark = [pytest.mark.lab, pytest.mark.slow]
# the lab's ports: keep them below the kernel's ephemeral range (config.LabSettings)
BASE_PORT = port_block()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    state = Path(tempfile.mkdtemp(prefix="drdrill-load-", dir="/tmp"))
    os.chmod(state, 0o755)
    lab = Lab(LabSettings(base_port=BASE_PORT, state_dir=state / "lab"))
    lab.up()
    try:
        yield lab
    finally:
        lab.down()
        shutil.rmtree(state, ignore_errors=True)


def test_two_workers_lose_and_duplicate_no_checkout(
    lab: Lab, master_port: int, tmp_path: Path
) -> None:
    settings = LoadSettings(
        users=12, spawn_rate=12, workers=2, master_port=master_port, browse_weight=0
    )
    run = LoadRun(lab.edge_url, settings, tmp_path, max_seconds=300).start()
    run.wait_sending(90)
    time.sleep(4)
    run.stop()

    ledger = run.ledger_entries()
    ids = [w.id for w in ledger]
    stats = json.loads(run.stats_path.read_text())
    sent = sum(int(e["num_requests"]) for e in stats if e["name"] == "/orders")
    with psycopg.connect(lab.db_dsn("primary")) as conn:
        rows = [
            str(row[0])
            for row in conn.execute(
                "SELECT id FROM orders WHERE client = 'locust' AND id = ANY(%s)", (ids,)
            )
        ]
        stored = conn.execute("SELECT count(*) FROM orders WHERE client = 'locust'").fetchone()

    assert sent > 0
    assert len(ids) == len(set(ids)) == sent  # each checkout Locust counted, ledgered once
    assert all(w.ack_ns is not None for w in ledger)  # a healthy lab acknowledged them all
    assert sorted(rows) == sorted(ids)  # and each is one row in the lab's database
    assert stored == (sent,)  # with no row the ledger does not know
    # buyers only (browse_weight 0): Locust gives each worker some, and each one wrote
    assert {int(i.split("-")[2]) for i in ids} == set(run.worker_pids)

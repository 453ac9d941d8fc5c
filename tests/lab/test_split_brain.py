"""Split brain on the real lab: clients inside a partitioned region keep writing to the old
primary while DR is promoted; the heal fences it and counts exactly what diverged."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from drdrill.config import DrillConfig
from drdrill.lab import Lab
from drdrill.lab.processes import alive, recorded
from drdrill.lab.split_brain import in_region_acks, in_region_ledger
from drdrill.support.wait import poll
from tests.ports import port_block

pytestmark = pytest.mark.lab
MakeConfig = Callable[[int], tuple[DrillConfig, Path]]
BASE = port_block()
"""This module uses BASE .. BASE+79 (one lab)."""


@pytest.fixture(scope="module")
def lab(make_lab_config: MakeConfig) -> Iterator[Lab]:
    config, _ = make_lab_config(BASE)
    lab = Lab.from_config(config)
    lab.up()
    yield lab
    lab.down()


def activate(lab: Lab) -> None:
    """The DR activation's actions (as dr-activation.json), the primary region cut off."""
    lab.fail_over_dns("dr")
    lab.scale_region("dr", lab.settings.dr_scaled_workers)
    lab.promote_database("dr")
    lab.repoint_applications("dr", "dr")


def ids_diverged_by_direct_query(lab: Lab, promoted_ns: int) -> set[str]:
    """Orders the old primary committed after the promotion that the new primary lacks,
    read straight from both databases (no lab code in between)."""
    committed_us = "(extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint"
    with psycopg.connect(lab.db_dsn("primary")) as old:
        after = {
            r[0]
            for r in old.execute(
                f"SELECT id FROM orders WHERE {committed_us} * 1000 > %s", (promoted_ns,)
            )
        }
    with psycopg.connect(lab.db_dsn("dr")) as new:
        on_new = {
            r[0] for r in new.execute("SELECT id FROM orders WHERE id = ANY(%s)", (list(after),))
        }
    return after - on_new


def refuses_writes(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("INSERT INTO orders (id, product_id) VALUES ('must-not-commit', 1)")
    except psycopg.Error:
        return True
    return False


def test_a_partitioned_region_keeps_writing_through_its_own_workers_until_its_bounds(
    lab: Lab,
) -> None:
    bounded = Lab(lab.settings.model_copy(update={"in_region_max_seconds": 1.5}))
    started = time.monotonic()
    bounded.fail_region("primary", "partition")
    pid = recorded(lab.pid_dir)["clients-primary"]
    assert poll(lambda: (not alive(pid)) or None, 20.0, interval_s=0.1), "never stopped"
    ran_s = time.monotonic() - started
    acks = in_region_acks(lab.topology, "primary")
    bounded.restore_region("primary")

    # they stop by themselves at their 1.5 s bound: seen at 1.6-2.2 s; 10 s is head-room
    # for a saturated machine and still far below the unbounded clients' lifetime
    assert 1.5 <= ran_s < 10.0
    assert len(acks) > 5 and len({a.id for a in acks}) == len(acks)
    assert all(a.sent_ns < a.ack_ns for a in acks)
    with psycopg.connect(lab.db_dsn("primary")) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM orders WHERE client = 'in-region' AND id = ANY(%s)",
            ([a.id for a in acks],),
        ).fetchone()
    assert rows is not None and rows[0] == len(acks)
    divergence = lab.divergence("primary")
    assert divergence is not None and divergence.promoted_ns is None
    assert divergence.count == 0 and divergence.acknowledged == len(acks)


def test_the_divergent_writes_counted_at_the_heal_are_what_both_databases_show(lab: Lab) -> None:
    lab.fail_region("primary", "partition")
    activate(lab)
    time.sleep(1.0)  # split brain: both databases take writes
    state = lab.require_up()
    assert state.promoted_ns is not None
    lab.restore_region("primary")

    # fenced, not rewound yet: the old primary still holds what it wrote, and refuses writes
    assert "clients-primary" not in recorded(lab.pid_dir)
    assert refuses_writes(lab.db_dsn("primary"))
    direct = ids_diverged_by_direct_query(lab, state.promoted_ns)
    divergence = lab.divergence("primary")
    assert divergence is not None and divergence.promoted_ns == state.promoted_ns
    assert len(direct) > 0
    assert divergence.count == len(direct)
    assert {w.id for w in divergence.writes} == direct
    assert all(w.committed_ns > state.promoted_ns for w in divergence.writes)

    assert lab.fail_back().startswith("dr had been promoted")  # the rewind discards them
    with psycopg.connect(lab.db_dsn("primary")) as conn:
        kept = conn.execute("SELECT id FROM orders WHERE id = ANY(%s)", (list(direct),)).fetchall()
    assert kept == []
    assert lab.steady_problems() == []


def test_the_in_region_clients_end_with_the_lab_after_the_cli_was_killed(lab: Lab) -> None:
    script = (
        "import os, signal, sys\n"
        "from drdrill.lab import Lab, LabSettings\n"
        "from pathlib import Path\n"
        f"lab = Lab(LabSettings(base_port={BASE}, state_dir=Path({str(lab.dir)!r})))\n"
        "lab.fail_region('primary', 'partition')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert killed.returncode == -9
    pid = recorded(lab.pid_dir)["clients-primary"]
    assert alive(pid)
    ledger = in_region_ledger(lab.topology, "primary")
    assert poll(lambda: ledger.exists() or None, 10.0, interval_s=0.1), "nothing written"

    lab.down()
    assert not alive(pid)
    lab.up()

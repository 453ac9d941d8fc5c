"""A failback whose rebuilt database does not agree with the serving one stops before any
traffic moves, with one clear error, and leaves the activated platform as it was (on the
real lab).

The disagreement is real: the rebuilt primary database's WAL replay is paused (what a
stuck or broken replica looks like), so what dr serves is not all on it when the
consistency check compares them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drdrill.errors import DrillError
from drdrill.lab import Lab
from drdrill.orchestration.drill import Drill
from drdrill.records.timeline import PHASE_START
from tests.lab.conftest import lab_config

pytestmark = [pytest.mark.lab, pytest.mark.slow]


class ReplayPauser(threading.Thread):
    """Pauses WAL replay on ``dsn``'s server as soon as it runs as a standby."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.paused = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.01):
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=1) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if row and row[0]:
                        conn.execute("SELECT pg_wal_replay_pause()")
                        self.paused.set()
                        return
            except psycopg.Error:
                continue  # down while it is rebuilt

    def resume(self) -> None:
        self._done.set()
        if self.is_alive():
            self.join(5)
        if self.paused.is_set():
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_resume()")


def records(lab: Lab) -> list[tuple[str, str]]:
    from drdrill.support.http import call

    reply = call("GET", f"{lab.edge_url}/_edge/records", timeout=2.0)
    body: list[dict[str, Any]] = reply.body
    return sorted((r["role"], r["region"]) for r in body)


def test_a_failback_with_disagreeing_databases_moves_no_traffic(tmp_path: Path) -> None:
    config, _ = lab_config(27950)
    config = config.model_copy(update={"reports_dir": tmp_path / "reports"})
    drill = Drill(config, kind="full")
    lab = Lab(config.lab)
    pauser = ReplayPauser(lab.db_dsn("primary"))
    try:
        drill.prepare()
        drill.observe(with_load=False)
        drill.inject("primary", "power-off")
        drill.activate()
        drill.restore_region("primary")
        activated = records(lab)
        assert ("PRIMARY", "dr") in activated
        pauser.start()

        with pytest.raises(
            DrillError,
            match=r"^failback: phase verify_primary failed, nothing after it ran: "
            r"no traffic moved, the databases could not be compared: pg-primary had "
            r"replayed WAL up to [0-9A-F]+, not [0-9A-F]+, after 10.0s$",
        ):
            drill.fail_back_planned()

        assert pauser.paused.is_set()
        started = [e.name for e in drill.timeline.events(PHASE_START)]
        assert started[-2:] == ["prepare_primary", "verify_primary"]
        assert records(lab) == activated  # no traffic moved
        assert lab.serving_region() == "dr"
    finally:
        try:
            pauser.resume()
            drill.close()
        finally:
            lab.down()

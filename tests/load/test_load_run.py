"""LoadRun: Locust as its own process group, bounded in time, read back afterwards."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drdrill.config import LoadSettings
from drdrill.errors import LoadError
from drdrill.observation.load import LoadRun
from drdrill.observation.write_ledger import Ledger

from .conftest import Shop

pytestmark = pytest.mark.slow

SETTINGS = LoadSettings(users=6, spawn_rate=6)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_load_run_ends_by_itself_after_its_time(shop: Shop, tmp_path: Path) -> None:
    run = LoadRun(shop.url, SETTINGS, tmp_path, max_seconds=3).start()
    began = time.monotonic()

    code = run.wait(timeout_s=45)

    assert code == 0, (tmp_path / "locust.log").read_text()[-2000:]
    assert 3 <= time.monotonic() - began < 45
    run.stop()
    assert run.pid is not None and not group_alive(run.pid)
    stats = run.stats()
    requests = run.requests()
    assert stats.requests == len(requests) > 0
    assert stats.failures == 0
    assert {e.name for e in stats.endpoints} == {
        "/products",
        "/products/[id]",
        "/orders",
        "/orders/[id]",
    }
    assert sum(e.requests for e in stats.endpoints) == stats.requests
    # the run's requests span at most its -t of 3 s (Locust's start-up eats into it on a
    # busy machine); 8 s leaves a saturated machine room and still catches a run that
    # ignored -t (this test's 45 s wait)
    assert 0 < stats.duration_s < 8
    assert stats.rps == pytest.approx(stats.requests / stats.duration_s)
    assert [r.t_ns for r in requests] == sorted(r.t_ns for r in requests)
    entries = run.ledger_entries()
    assert {w.id for w in entries} == set(shop.orders)
    assert all(w.client == "locust" and w.ack_ns is not None for w in entries)
    ledger = Ledger()
    assert run.add_writes_to(ledger) == len(entries) == len(ledger.writes())
    assert stats.to_json()["requests"] == stats.requests
    assert stats.to_json()["workers"] == 1


def test_stop_ends_the_whole_group_promptly_and_keeps_the_records(
    shop: Shop, tmp_path: Path
) -> None:
    run = LoadRun(shop.url, SETTINGS, tmp_path, max_seconds=300).start()
    run.wait_sending(60)  # Locust's start-up alone can take seconds on a busy machine
    time.sleep(1)
    assert run.is_running()
    pgid = run.pid
    assert pgid is not None

    began = time.monotonic()
    run.stop(grace_s=5)

    assert time.monotonic() - began < 10
    assert not run.is_running() and not group_alive(pgid)
    assert run.stats().requests > 0
    assert {w.id for w in run.ledger_entries()} <= set(shop.orders)
    assert run.stop() == run.stop()  # idempotent


def test_a_run_cannot_start_twice_or_without_its_locustfile(shop: Shop, tmp_path: Path) -> None:
    missing = LoadRun(shop.url, SETTINGS, tmp_path, locustfile=tmp_path / "nope.py")
    with pytest.raises(LoadError, match="locustfile not found"):
        missing.start()
    assert missing.stop() is None

    run = LoadRun(shop.url, SETTINGS, tmp_path / "twice", max_seconds=5)
    with run, pytest.raises(LoadError, match="already started"):
        run.start()
    assert not run.is_running()


def test_what_locust_wrote_is_read_past_torn_and_foreign_lines(tmp_path: Path) -> None:
    run = LoadRun("http://127.0.0.1:9", SETTINGS, tmp_path)
    run.requests_path.write_bytes(
        b'{"t_ns": 30, "ok": true}\n{"t_ns": 10, "ok": false}\n'
        b'{"t_ns": 20, "o\n'  # torn by a killed Locust process
        b'[]\n\xff\n{"name": "/orders"}\n'  # not a record; not UTF-8; no t_ns
    )
    run.ledger_path.write_bytes(
        b'{"id": "a", "seq": 1, "send_ns": 5, "ack_ns": 9}\n{"id": "b", "send_ns": 1}\n{"id": "c'
    )

    assert [(r.t_ns, r.ok) for r in run.requests()] == [(10, False), (30, True)]
    assert [(w.id, w.ack_ns) for w in run.ledger_entries()] == [("b", None), ("a", 9)]
    assert run.stats().requests == 2

"""The locustfile under the real ``locust`` against a real (small) order-service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drdrill.observation.load import LOCUSTFILE
from drdrill.support import jsonl

from .conftest import Shop

pytestmark = pytest.mark.slow


def run_locust(
    shop: Shop, cwd: Path, seconds: int = 3, users: int = 6, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DRDRILL_", "LOCUST_"))}
    environ.update(env)
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    argv += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", shop.url]
    argv += ["--stop-timeout", "1", "--json-file", str(cwd / "stats")]
    return subprocess.run(
        argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_plain_locust_run_loads_the_service_and_writes_no_records(
    shop: Shop, tmp_path: Path
) -> None:
    done = run_locust(shop, tmp_path)

    assert done.returncode == 0, done.stderr[-2000:]
    assert len(shop.orders) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]


def test_every_request_and_every_checkout_is_recorded(shop: Shop, tmp_path: Path) -> None:
    requests_path, ledger_path = tmp_path / "requests.jsonl", tmp_path / "ledger.jsonl"
    started = time.time_ns()

    done = run_locust(
        shop,
        tmp_path,
        DRDRILL_REQUESTS_JSONL=str(requests_path),
        DRDRILL_LEDGER_JSONL=str(ledger_path),
    )

    assert done.returncode == 0, done.stderr[-2000:]
    requests = lines(requests_path)
    ledger = lines(ledger_path)
    stats = {e["name"]: e for e in json.loads((tmp_path / "stats.json").read_text())}
    # exact totals: one line per request Locust counted, per name= group
    assert set(stats) == {"/products", "/products/[id]", "/orders", "/orders/[id]"}
    for name, entry in stats.items():
        assert sum(r["name"] == name for r in requests) == entry["num_requests"]
    assert {tuple(sorted(r)) for r in requests} == {("latency_s", "name", "ok", "status", "t_ns")}
    assert all(r["ok"] is True and r["status"] in (200, 201) for r in requests)
    assert all(started <= int(str(r["t_ns"])) <= time.time_ns() for r in requests)
    # the ledger holds exactly the orders the service stored, acknowledged after sending
    assert {e["id"] for e in ledger} == set(shop.orders)
    assert len(ledger) == stats["/orders"]["num_requests"]
    for entry in ledger:
        assert entry["client"] == "locust" and entry["status"] == 201
        assert int(str(entry["send_ns"])) < int(str(entry["ack_ns"]))
        assert shop.orders[str(entry["id"])]["seq"] == entry["seq"]


def test_refused_checkouts_are_failures_and_ledgered_unacknowledged(
    shop: Shop, tmp_path: Path
) -> None:
    shop.read_only = True
    requests_path, ledger_path = tmp_path / "requests.jsonl", tmp_path / "ledger.jsonl"

    run_locust(
        shop,
        tmp_path,
        seconds=2,
        DRDRILL_REQUESTS_JSONL=str(requests_path),
        DRDRILL_LEDGER_JSONL=str(ledger_path),
        DRDRILL_BROWSE_WEIGHT="0",
    )

    requests = lines(requests_path)
    ledger = lines(ledger_path)
    assert shop.orders == {}
    assert ledger and all(e["ack_ns"] is None and e["status"] == 503 for e in ledger)
    assert requests and all(r["name"] == "/orders" and r["ok"] is False for r in requests)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert [e["num_failures"] for e in stats] == [len(ledger)]


def test_records_start_on_a_fresh_line_after_a_torn_one(shop: Shop, tmp_path: Path) -> None:
    requests_path, ledger_path = tmp_path / "requests.jsonl", tmp_path / "ledger.jsonl"
    requests_path.write_text('{"t_ns": 1, "na')  # a Locust process killed mid-write
    ledger_path.write_text('{"id": "torn", "se')

    done = run_locust(
        shop,
        tmp_path,
        seconds=2,
        DRDRILL_REQUESTS_JSONL=str(requests_path),
        DRDRILL_LEDGER_JSONL=str(ledger_path),
    )

    assert done.returncode == 0, done.stderr[-2000:]
    requests, ledger = jsonl.read(requests_path), jsonl.read(ledger_path)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert (requests.skipped, ledger.skipped) == (1, 1)
    assert len(requests.records) == sum(e["num_requests"] for e in stats)
    assert {e["id"] for e in ledger.records} == set(shop.orders)

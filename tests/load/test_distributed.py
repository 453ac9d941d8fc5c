"""Locust's distributed mode: a master, local workers drdrill starts and ends, a worker
from elsewhere attaching, and every worker's lines merged into the drill's one ledger."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from drdrill.config import LoadSettings
from drdrill.errors import LoadError
from drdrill.observation.load import LOCUSTFILE, LoadRun

from .conftest import Shop

pytestmark = pytest.mark.slow


def settings(master_port: int, **overrides: object) -> LoadSettings:
    values: dict[str, object] = {
        "users": 8,
        "spawn_rate": 8,
        "workers": 2,
        "master_port": master_port,
        "workers_wait": 40,
        # buyers only: every worker gets some, so every worker writes to the ledger
        "browse_weight": 0,
    }
    values.update(overrides)
    return LoadSettings.model_validate(values)


def live(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def writer_pids(ids: set[str]) -> set[int]:
    """The Locust processes that placed the orders (``locust-RUN-PID-SEQ``)."""
    return {int(order_id.split("-")[2]) for order_id in ids}


def locust_orders(stats_path: Path) -> int:
    """Locust's own count of checkouts sent (the master's totals over every worker)."""
    entries = json.loads(stats_path.read_text())
    return sum(int(e["num_requests"]) for e in entries if e["name"] == "/orders")


def test_two_workers_write_one_ledger_with_every_checkout_once(
    shop: Shop, master_port: int, tmp_path: Path
) -> None:
    run = LoadRun(shop.url, settings(master_port), tmp_path, max_seconds=4).start()
    run.wait_sending(60)
    master, workers = run.pid, run.worker_pids
    assert master is not None and len(workers) == 2
    assert {os.getpgid(pid) for pid in workers} == {master}  # one group, the master's

    assert run.wait(timeout_s=60) == 0, (tmp_path / "locust.log").read_text()[-2000:]
    run.stop()

    assert not any(live(pid) for pid in [master, *workers])
    entries = run.ledger_entries()
    ids = [w.id for w in entries]
    assert len(ids) == len(set(ids)) > 0  # none twice
    assert set(ids) == set(shop.orders)  # none lost: every order the service stored
    assert len(ids) == locust_orders(run.stats_path)  # and every checkout Locust counted
    assert writer_pids(set(ids)) == set(workers)  # both workers wrote, the master did not
    requests = run.requests()
    assert len(requests) == sum(e.requests for e in run.stats().endpoints) > len(ids)
    assert {r.ok for r in requests} == {True}
    assert run.stats().to_json()["workers"] == 2
    # only the master writes the files; workers never got their paths
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "locust-ledger.jsonl",
        "locust-requests.jsonl",
        "locust-stats.json",
        "locust.log",
    ]


def test_stopping_mid_run_keeps_every_workers_last_checkouts(
    shop: Shop, master_port: int, tmp_path: Path
) -> None:
    run = LoadRun(shop.url, settings(master_port, workers=3), tmp_path, max_seconds=300)
    run.start().wait_sending(60)
    time.sleep(2)
    pids = [run.pid, *run.worker_pids]

    began = time.monotonic()
    run.stop(grace_s=5)

    assert time.monotonic() - began < 15
    assert not any(live(pid) for pid in pids if pid is not None)
    ids = [w.id for w in run.ledger_entries()]
    assert len(ids) == len(set(ids)) > 0
    # the lines each worker held when the drill stopped it reached the master
    assert set(ids) == set(shop.orders)
    assert len(ids) == locust_orders(run.stats_path)  # and so did Locust's own totals
    assert writer_pids(set(ids)) == set(run.worker_pids)


def test_a_worker_started_elsewhere_joins_the_drills_master(
    shop: Shop, master_port: int, tmp_path: Path
) -> None:
    """What a worker on another machine (or a Kubernetes Job) does, on the loopback: the
    locustfile alone in a directory of its own, no drdrill environment, only the master's
    address. Its checkouts reach the drill's ledger and it quits when the master does."""
    remote_dir = tmp_path / "elsewhere"
    remote_dir.mkdir()
    shutil.copy(LOCUSTFILE, remote_dir / "locustfile.py")
    run = LoadRun(
        shop.url,
        settings(master_port, workers=1, remote_workers=1, master_host="0.0.0.0"),
        tmp_path / "drill",
        max_seconds=300,
    ).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRDRILL_", "LOCUST_"))}
    argv = run.remote_worker_argv("127.0.0.1")
    assert argv[:4] == ["locust", "-f", "locustfile.py", "--worker"]
    remote = subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=remote_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run.wait_sending(60)
        time.sleep(2)
        run.stop()
        assert remote.wait(timeout=20) == 0  # the master told it to quit
    finally:
        if remote.poll() is None:
            remote.kill()
            remote.wait()

    ids = {w.id for w in run.ledger_entries()}
    assert ids == set(shop.orders)
    assert writer_pids(ids) == {remote.pid, *run.worker_pids}
    assert sorted(p.name for p in remote_dir.iterdir()) == ["locustfile.py"]  # wrote nothing


def test_a_taken_master_port_is_named_before_anything_starts(
    shop: Shop, master_port: int, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", master_port))
        taken.listen()
        run = LoadRun(shop.url, settings(master_port), tmp_path)
        with pytest.raises(LoadError, match=f"load.master_port {master_port}"):
            run.start()
    assert run.pid is None


def test_a_master_whose_workers_never_come_fails_the_wait(
    shop: Shop, master_port: int, tmp_path: Path
) -> None:
    run = LoadRun(
        shop.url,
        settings(master_port, workers=1, remote_workers=1, workers_wait=2),
        tmp_path,
        max_seconds=60,
    ).start()
    try:
        with pytest.raises(LoadError, match=r"Locust ended \(waiting for 2 workers\)"):
            run.wait_sending(60)
    finally:
        run.stop()
    assert shop.orders == {}


def test_the_master_waits_for_local_and_remote_workers_and_locals_reach_it_on_loopback(
    tmp_path: Path,
) -> None:
    run = LoadRun(
        "http://127.0.0.1:9",
        LoadSettings(workers=2, remote_workers=3, master_host="0.0.0.0", master_port=22999),
        tmp_path,
        max_seconds=30,
    )
    master, worker = run.argv(), run.worker_argv()

    def after(argv: list[str], flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert "--master" in master and "--headless" in master
    assert after(master, "--expect-workers") == "5"
    assert after(master, "--master-bind-host") == "0.0.0.0"
    assert after(master, "--master-bind-port") == "22999"
    assert "--worker" in worker and "--headless" not in worker
    assert after(worker, "--master-host") == "127.0.0.1"
    assert after(worker, "--master-port") == "22999"
    assert "--master" not in run.remote_worker_argv("10.0.0.5")
    assert after(run.remote_worker_argv("10.0.0.5"), "--master-host") == "10.0.0.5"
    single = LoadRun("http://127.0.0.1:9", LoadSettings(), tmp_path).argv()
    assert "--master" not in single and "--processes" not in single

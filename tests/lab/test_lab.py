"""The lab on real PostgreSQL, processes and sockets: each failure mode does what it says."""

from __future__ import annotations

import json
import pwd
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from drdrill.config import DrillConfig
from drdrill.errors import LabError, UnknownRegionError
from drdrill.lab import Lab
from drdrill.lab.processes import alive, recorded
from drdrill.observation.verify import verify_http
from drdrill.support.http import call
from tests.ports import port_block

pytestmark = pytest.mark.lab
MakeConfig = Callable[[int], tuple[DrillConfig, Path]]
BASE = port_block()
"""This module uses BASE .. BASE+479 (four labs); set the variable to run beside another run."""


@pytest.fixture(scope="module")
def lab_with_config(make_lab_config: MakeConfig) -> Iterator[tuple[Lab, Path]]:
    config, config_file = make_lab_config(BASE)
    lab = Lab.from_config(config)
    lab.up()
    yield lab, config_file
    lab.down()


@pytest.fixture(scope="module")
def lab(lab_with_config: tuple[Lab, Path]) -> Lab:
    return lab_with_config[0]


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def drdrill(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drdrill", "--drill-config", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_reports_both_regions_and_streaming_replication(lab: Lab) -> None:
    status = lab.status()

    assert status["running"] is True
    assert status["edge"] == f"http://127.0.0.1:{BASE}"
    assert status["regions"]["primary"]["db"]["role"] == "primary"
    assert status["regions"]["dr"]["db"]["role"] == "standby"
    assert len(status["regions"]["primary"]["app_urls"]) == 2
    assert status["replication"]["state"] == "streaming"
    assert json.loads(status.to_json()) == status
    assert (
        "@" in status["regions"]["dr"]["db"]["dsn"]
        and ":" not in status["regions"]["dr"]["db"]["dsn"].split("//")[1].split("@")[0]
    )


def test_a_row_written_on_the_primary_is_read_on_the_standby(lab: Lab) -> None:
    reply = call("POST", f"{lab.edge_url}/orders", {"id": "replicated-1", "product_id": 3})
    assert reply.status == 201
    assert reply.headers["x-drdrill-region"] == "primary"

    def on_standby() -> bool:
        with psycopg.connect(lab.db_dsn("dr")) as conn:
            return (
                conn.execute("SELECT 1 FROM orders WHERE id = 'replicated-1'").fetchone()
                is not None
            )

    assert wait_for(on_standby, 5)


def test_order_service_is_idempotent_and_rejects_bad_input(lab: Lab) -> None:
    first = call("POST", f"{lab.edge_url}/orders", {"id": "idem-1", "product_id": 1})
    again = call("POST", f"{lab.edge_url}/orders", {"id": "idem-1", "product_id": 1})
    bad = call("POST", f"{lab.edge_url}/orders", {"product_id": 1})

    assert (first.status, again.status, bad.status) == (201, 200, 400)
    assert again.body["created"] is False
    assert call("GET", f"{lab.edge_url}/products/2").body["id"] == 2
    assert call("GET", f"{lab.edge_url}/orders/nope").status == 404


def test_power_off_refuses_connections_and_restore_brings_it_back(lab: Lab) -> None:
    worker = lab.status()["regions"]["primary"]["app_urls"][0]
    lab.fail_region("primary", "power-off")
    try:
        assert call("GET", f"{worker}/health", timeout=1).error.startswith("ConnectionRefused")
        with pytest.raises(psycopg.OperationalError, match="refused"):
            psycopg.connect(lab.db_dsn("primary"), connect_timeout=2)
        assert lab.status()["regions"]["primary"]["failure"] == "power-off"
    finally:
        lab.restore_region("primary")
    assert call("GET", f"{worker}/health").ok
    assert wait_for(lambda: lab.status()["replication"]["state"] == "streaming")


def test_blackhole_makes_requests_hang_until_timeout(lab: Lab) -> None:
    worker = lab.status()["regions"]["primary"]["app_urls"][0]
    lab.fail_region("primary", "blackhole")
    try:
        reply = call("GET", f"{worker}/health", timeout=0.5)
        assert reply.status == 0 and "timed out" in reply.error
        assert reply.latency_s >= 0.5
    finally:
        lab.restore_region("primary")
    assert call("GET", f"{worker}/health").ok


def test_partition_stops_replication_while_both_sides_live(lab: Lab) -> None:
    worker = lab.status()["regions"]["primary"]["app_urls"][0]
    lab.fail_region("primary", "partition")
    try:
        assert wait_for(lambda: call("GET", f"{lab.edge_url}/health").status == 503, 5)
        # primary still runs and takes writes locally; the standby no longer sees them
        assert call("POST", f"{worker}/orders", {"id": "partitioned-1"}).status == 201
        time.sleep(1.0)
        with psycopg.connect(lab.db_dsn("dr")) as conn:
            row = conn.execute("SELECT 1 FROM orders WHERE id = 'partitioned-1'").fetchone()
        assert row is None
        assert lab.status()["regions"]["dr"]["db"]["role"] == "standby"
    finally:
        lab.restore_region("primary")

    def replicated() -> bool:
        with psycopg.connect(lab.db_dsn("dr")) as conn:
            return (
                conn.execute("SELECT 1 FROM orders WHERE id = 'partitioned-1'").fetchone()
                is not None
            )

    assert wait_for(replicated, 15)


def test_a_partitioned_primary_that_keeps_writing_shows_growing_replication_lag(lab: Lab) -> None:
    worker = lab.status()["regions"]["primary"]["app_urls"][0]
    assert wait_for(lambda: lab.status()["replication"]["lag_s"] == 0.0, 15)
    lab.fail_region("primary", "partition")
    lags = []
    try:
        for i in range(40):  # ~4 s of orders placed in the cut-off primary region
            assert call("POST", f"{worker}/orders", {"id": f"lagging-{i}"}).status == 201
            lags.append(lab.status()["replication"]["lag_s"])
            if lags[-1] > 1.0:
                break
            time.sleep(0.1)
    finally:
        lab.restore_region("primary")
    assert lags[-1] > 1.0, f"the lag did not grow past 1 s while the stream was cut: {lags}"
    assert wait_for(lambda: lab.status()["replication"]["lag_s"] == 0.0, 15)


def test_partitioning_dr_cuts_its_replication_and_reach_while_both_sides_live(lab: Lab) -> None:
    dr_worker = lab.status()["regions"]["dr"]["app_urls"][0]
    dr_gateway = f"http://127.0.0.1:{lab.ports.gateway_worker('dr', 0)}"
    # steady state: the edge answers from primary again (after the previous test's restore)
    assert wait_for(
        lambda: call("GET", f"{lab.edge_url}/_edge/resolve").body["region"] == "primary", 10
    )
    lab.fail_region("dr", "partition")
    try:
        # customers still order in primary; the edge no longer reaches dr
        assert call("POST", f"{lab.edge_url}/orders", {"id": "dr-partitioned-1"}).status == 201
        assert "timed out" in call("GET", f"{dr_gateway}/health", timeout=0.5).error
        # dr lives, but its workers no longer reach the primary's database across regions
        health = call("GET", f"{dr_worker}/health", timeout=5)
        assert health.status == 200 and health.body["db"]["reachable"] is False
        time.sleep(1.0)
        with psycopg.connect(lab.db_dsn("dr")) as conn:  # in-region: the standby runs
            row = conn.execute("SELECT 1 FROM orders WHERE id = 'dr-partitioned-1'").fetchone()
        assert row is None
        assert lab.status().role("dr") == "standby"
        assert lab.status().failure("dr") == "partition"
    finally:
        lab.restore_region("dr")

    def replicated() -> bool:
        with psycopg.connect(lab.db_dsn("dr")) as conn:
            return (
                conn.execute("SELECT 1 FROM orders WHERE id = 'dr-partitioned-1'").fetchone()
                is not None
            )

    assert wait_for(replicated, 15)
    assert call("GET", f"{dr_gateway}/health", timeout=2).status == 200
    assert lab.status().failure("dr") is None


def test_bad_region_and_mode_are_clear_errors_and_change_nothing(lab: Lab) -> None:
    with pytest.raises(UnknownRegionError, match="eu-west"):
        lab.fail_region("eu-west", "power-off")
    with pytest.raises(LabError, match="meteor"):
        lab.fail_region("primary", "meteor")
    with pytest.raises(LabError, match="already running"):
        lab.up()
    assert lab.status()["regions"]["primary"]["failure"] is None


def test_cli_refuses_a_second_up_and_a_bad_mode_and_changes_nothing(
    lab_with_config: tuple[Lab, Path],
) -> None:
    lab, config_file = lab_with_config
    before = recorded(lab.pid_dir)

    again = drdrill(config_file, "lab", "up")
    meteor = drdrill(config_file, "lab", "fail", "primary", "--mode", "meteor")
    mars = drdrill(config_file, "lab", "restore", "mars")
    status = drdrill(config_file, "lab", "status", "--json")

    assert again.returncode == 2 and "already running" in again.stderr
    assert meteor.returncode == 2 and "meteor" in meteor.stderr
    assert mars.returncode == 2 and "mars" in mars.stderr
    assert recorded(lab.pid_dir) == before
    reported = json.loads(status.stdout)
    assert reported["running"] is True
    assert [reported["regions"][r]["failure"] for r in ("primary", "dr")] == [None, None]


def test_dr_activation_makes_dr_serve_orders_through_the_edge(lab: Lab) -> None:
    lab.fail_region("primary", "power-off")
    lab.fail_over_dns("dr")
    lab.scale_region("dr", 2)
    started = time.monotonic()
    lab.promote_database("dr")
    promoted_in = time.monotonic() - started
    lab.repoint_applications("dr", "dr")

    assert promoted_in < 1.0
    assert wait_for(lambda: verify_http(lab.edge_url).ok, 10)
    reply = call("POST", f"{lab.edge_url}/orders", {"id": "after-failover", "product_id": 1})
    assert reply.status == 201
    assert reply.headers["x-drdrill-region"] == "dr"
    status = lab.status()
    assert status["regions"]["dr"]["db"]["role"] == "primary"
    assert len(status["regions"]["dr"]["app_urls"]) == 2


def test_restoring_the_old_primary_after_promotion_keeps_its_database_down(lab: Lab) -> None:
    # follows the DR activation above: dr's database is the primary now
    lab.restore_region("primary")

    status = lab.status()
    assert status.failure("primary") is None
    assert (status.role("primary"), status.role("dr")) == ("down", "primary")  # no split brain
    with pytest.raises(psycopg.OperationalError, match="refused"):
        psycopg.connect(lab.db_dsn("primary"), connect_timeout=2)
    primary_worker = status["regions"]["primary"]["app_urls"][0]
    assert call("GET", f"{primary_worker}/health").body["db"]["role"] == "down"
    reply = call("POST", f"{lab.edge_url}/orders", {"id": "after-restore", "product_id": 1})
    assert reply.status == 201 and reply.headers["x-drdrill-region"] == "dr"


def test_cli_errors_are_one_line_and_non_zero(make_lab_config: MakeConfig) -> None:
    _, config_file = make_lab_config(BASE + 200)
    unknown = drdrill(config_file, "lab", "fail", "mars", "--mode", "power-off")
    down = drdrill(config_file, "lab", "fail", "primary", "--mode", "power-off")
    status = drdrill(config_file, "lab", "status", "--json")

    assert unknown.returncode == 2 and "mars" in unknown.stderr
    assert down.returncode == 2 and "not up" in down.stderr
    assert json.loads(status.stdout)["running"] is False


def test_a_taken_port_is_named_and_nothing_is_started(make_lab_config: MakeConfig) -> None:
    config, config_file = make_lab_config(BASE + 300)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", BASE + 331))
        squatter.listen()
        result = drdrill(config_file, "lab", "up")
    assert result.returncode == 2
    assert str(BASE + 331) in result.stderr
    assert not config.lab.state_dir.exists() or not recorded(config.lab.state_dir / "pids")


def listening(ports: range) -> list[int]:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    return [p for p in ports if f"127.0.0.1:{p} " in out]


def test_lab_down_after_kill_9_mid_up_leaves_nothing(make_lab_config: MakeConfig) -> None:
    config, config_file = make_lab_config(BASE + 400)
    up = subprocess.Popen(
        [sys.executable, "-m", "drdrill", "--drill-config", str(config_file), "lab", "up"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids = config.lab.state_dir / "pids"
    assert wait_for(lambda: len(recorded(pids)) >= 3, 20)  # PostgreSQL and gateways started
    up.kill()
    up.wait()
    left = dict(recorded(pids))

    assert drdrill(config_file, "lab", "down").returncode == 0

    assert left, "the interrupted up had started processes"
    assert not any(alive(pid) for pid in left.values())  # gone (a zombie awaits init)
    assert listening(range(BASE + 400, BASE + 480)) == []
    assert not config.lab.state_dir.exists()
    # no orphaned (nothing attached) shared-memory segment this lab's PostgreSQL made
    # remains (columns: key shmid perms size cpid lpid nattch uid ...; other labs on the
    # machine are not this test's business)
    pg_uid = pwd.getpwnam("postgres").pw_uid
    rows = [r.split() for r in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    ours = set(left.values())
    assert not [r for r in rows if int(r[7]) == pg_uid and r[6] == "0" and int(r[4]) in ours]

"""Bringing the lab up and down, and reading what runs (``lab up|down|status``).

``down()`` ends every recorded process group and every process carrying the
lab's marker, then removes the state dir, so it also cleans up after a
``kill -9`` of the CLI in the middle of ``up()``, and after a corrupted
``lab.json`` (it reads only the lab's id from it). It, and every action on a running
lab (``require_up``), first checks that the directory is this lab's
(``drdrill.lab.state_dir``): anything else is refused with nothing touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from typing import Any

from drdrill.errors import ConfigError, LabError
from drdrill.lab.backups import LabBackups
from drdrill.lab.databases import LabDatabases
from drdrill.lab.launch import (
    backends,
    spawn_edge,
    spawn_gateway,
    spawn_worker,
    wait_answering,
    wait_listening,
)
from drdrill.lab.pg_cleanup import cleanup_stale
from drdrill.lab.pg_install import PgInstall, run_as_for
from drdrill.lab.processes import RunAs, kill_marked, kill_recorded, recorded
from drdrill.lab.replication import ReplicationState, replication_state
from drdrill.lab.schema import SCHEMA, seed_sql
from drdrill.lab.settings import LabSettings
from drdrill.lab.state import LabState, load_state, save_state
from drdrill.lab.state_dir import claim, is_empty, is_ours, refuse_unless_ours
from drdrill.lab.status import LabStatus
from drdrill.lab.topology import OTHER, REGIONS, Topology, port_in_use
from drdrill.support.http import call
from drdrill.support.wait import wait_until

__all__ = ["down", "is_running", "require_up", "status", "up"]


def is_running(topology: Topology) -> bool:
    """True when the lab was brought up in a directory that is its own
    (``drdrill.lab.state_dir``) and its edge process lives.

    ``LabError`` when ``lab.json`` is corrupted (see ``drdrill.lab.state``).
    """
    state = load_state(topology.state_file)
    return (
        state is not None
        and state.phase == "up"
        and "edge" in recorded(topology.pid_dir)
        and is_ours(topology.dir)
    )


def require_up(topology: Topology) -> LabState:
    """The running lab's state; ``LabError`` when the lab is not up, or its directory is
    not a lab's (``drdrill.lab.state_dir``)."""
    state = load_state(topology.state_file)
    if state is None or state.phase != "up" or "edge" not in recorded(topology.pid_dir):
        raise LabError(f"the lab is not up (state dir {topology.dir}); run `drdrill lab up` first")
    refuse_unless_ours(topology.dir)
    return state


def up(settings: LabSettings, topology: Topology) -> LabStatus:
    """Bring the whole lab up; returns its status. Refuses if it already runs."""
    if is_running(topology):
        raise LabError(f"the lab is already running (state dir {topology.dir}); nothing changed")
    for port, purpose in topology.ports.fixed().items():
        if port_in_use(port):
            raise LabError(
                f"port {port} ({purpose}) is already in use by another program; "
                f"free it or set lab.base_port (now {topology.ports.base})"
            )
    if not is_empty(topology.dir):
        refuse_unless_ours(topology.dir)
    _check_reachable(settings, topology)
    install = PgInstall.find(settings.postgres_bin_dir)
    run_as = run_as_for(settings.postgres_user)
    down(topology)
    started = time.monotonic()
    state = LabState(
        phase="starting",
        lab_id=claim(topology.dir),
        base_port=topology.ports.base,
        pg_bin=str(install.bin_dir),
        pg_version=install.version,
        pg_user=run_as.user,
        workers={"primary": settings.primary_workers, "dr": settings.dr_workers},
        database_of={"primary": "primary", "dr": "primary"},
        failures=dict.fromkeys(REGIONS),
    )
    try:
        save_state(topology.state_file, state)  # at once: marker and state make it a lab
        return _up(settings, topology, install, run_as, state, started)
    except BaseException:
        down(topology)
        raise


def _check_reachable(settings: LabSettings, topology: Topology) -> None:
    if os.geteuid() != 0:
        return
    for parent in [topology.dir, *topology.dir.parents]:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise ConfigError(
                f"{parent} is not traversable by other users, so PostgreSQL (run as "
                f"{settings.postgres_user!r}, never root) cannot reach its data; "
                "expected a state dir under a world-traversable path (or leave "
                "lab.state_dir unset: the default then lives under the temporary directory)",
                key="lab.state_dir",
            )


def _up(
    settings: LabSettings,
    topology: Topology,
    install: PgInstall,
    run_as: RunAs,
    state: LabState,
    started: float,
) -> LabStatus:
    for path in (topology.pid_dir, topology.log_dir, topology.dir / "pg", topology.archive):
        path.mkdir(parents=True, exist_ok=True)
    topology.backups.mkdir(parents=True, exist_ok=True)
    for path in (topology.dir, topology.dir / "pg", topology.log_dir):
        path.chmod(0o755)
    databases = LabDatabases(topology, install, run_as)
    primary = databases.region("primary")
    primary.init_primary(topology.archive, settings.synchronous_commit)
    primary.start()
    primary.execute("CREATE DATABASE drdrill", dbname="postgres")
    primary.execute(SCHEMA + ";" + seed_sql(settings.products))
    for region in REGIONS:
        spawn_gateway(topology, region)
    for i in range(settings.primary_workers):
        spawn_worker(topology, "primary", i, topology.app_dsn("primary", "primary"))
    wait_listening(topology.ports.gateway_database("primary"))
    primary.create_standby(
        databases.region("dr"), slot="dr", upstream_port=topology.ports.gateway_database("primary")
    )
    for i in range(settings.dr_workers):
        spawn_worker(topology, "dr", i, topology.app_dsn("dr", "primary"))
    spawn_edge(
        topology,
        {
            "records": [
                {"name": "shop", "role": "PRIMARY", "region": "primary"},
                {"name": "shop", "role": "SECONDARY", "region": "dr"},
            ],
            "backends": {
                region: backends(topology, region, state.workers[region]) for region in REGIONS
            },
            "interval": settings.health_check_interval,
            "threshold": settings.health_check_failure_threshold,
            "ttl": settings.record_ttl,
        },
    )
    workers = [
        f"{topology.worker_url(r, i)}/health" for r in REGIONS for i in range(state.workers[r])
    ]
    wait_answering([*workers, f"{topology.edge_url}/_edge/resolve"])
    wait_until(
        lambda: call("GET", f"{topology.edge_url}/health").ok, 10, "edge healthy", error=LabError
    )
    state = state.replace(phase="up")
    save_state(topology.state_file, state)
    # the base backup point-in-time recovery starts from
    LabBackups(topology, databases).snapshot("lab-up")
    state = state.replace(up_seconds=round(time.monotonic() - started, 3))
    save_state(topology.state_file, state)
    return status(topology)


def down(topology: Topology) -> None:
    """End every lab process and remove the state dir. Idempotent; works after a crash.
    Refuses (``LabError``, nothing touched) a directory that is not a lab's; leaves an
    empty one as it is."""
    if is_empty(topology.dir):
        return
    refuse_unless_ours(topology.dir)
    for name, pid in recorded(topology.pid_dir).items():
        if not name.startswith(("pg-", "restored-")):  # a frozen region's processes
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)
    kill_recorded(topology.pid_dir)
    kill_marked(str(topology.dir))
    for root in (topology.dir / "pg", topology.restored):
        for data_dir in root.iterdir() if root.is_dir() else []:
            cleanup_stale(data_dir)
    shutil.rmtree(topology.dir, ignore_errors=True)


def status(topology: Topology) -> LabStatus:
    """What ``drdrill lab status --json`` prints."""
    state = load_state(topology.state_file)
    running = is_running(topology)
    live = recorded(topology.pid_dir)
    databases = LabDatabases.of(topology, state) if state is not None else None
    regions: dict[str, Any] = {}
    for region in REGIONS:
        failure = state.failures[region] if state else None
        workers = state.workers[region] if state else 0
        app_alive = any(f"app-{region}-{i}" in live for i in range(workers))
        reachable = running and failure not in ("power-off", "blackhole")
        role = (
            databases.region(region).role()
            if databases and reachable and f"pg-{region}" in live
            else "down"
        )
        regions[region] = {
            "up": running and app_alive and failure is None,
            "app_urls": [topology.worker_url(region, i) for i in range(workers)] if running else [],
            "db": {"role": role, "dsn": topology.db_dsn(region)},
            "database_of_apps": state.database_of[region] if state else None,
            "failure": failure,
        }
    result: dict[str, Any] = {
        "running": running,
        "edge": topology.edge_url,
        "state_dir": str(topology.dir),
        "regions": regions,
    }
    # dr's standby in the steady state; primary's while a failback rebuilt it from dr
    standby = next((r for r in ("dr", "primary") if regions[r]["db"]["role"] == "standby"), None)
    if running and standby is not None:
        upstream = OTHER[standby]
        rep = _replication(
            topology, standby, upstream, upstream_answers=regions[upstream]["db"]["role"] != "down"
        )
        result["replication"] = {
            "state": rep.state,
            # a standby gone between the role read and this one: its lag is unknown
            "lag_s": None if rep.state == "down" else round(rep.lag_s, 3),
            "standby": standby,
            "stalled": rep.stalled,
        }
    else:
        result["replication"] = {
            "state": "none",
            "lag_s": None,
            "standby": None,
            "stalled": "no database answers as a standby",
        }
    if running and state is not None:
        records = call("GET", f"{topology.edge_url}/_edge/records", timeout=1.0)
        result["edge_records"] = records.body if records.ok else []
        result["up_seconds"] = state.up_seconds
    return LabStatus(result)


def _replication(
    topology: Topology, standby: str, upstream: str, *, upstream_answers: bool
) -> ReplicationState:
    """The standby's replication, its upstream asked directly (past any gateway cut)."""
    primary = topology.db_dsn(upstream) if upstream_answers else None
    return replication_state(topology.db_dsn(standby), primary, find_primary=upstream_answers)

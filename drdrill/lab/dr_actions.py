"""The DR plan's recovery actions on the lab: fail over DNS, scale, promote, repoint.

Each is what the runbook does on AWS (Route 53 UPSERT, scaling the DR deployment,
promoting the read replica, a rollout with a new ``DATABASE_URL``), done to the
lab's edge, order-service workers and standby database.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.launch import backends, spawn_worker, wait_listening
from drdrill.lab.lifecycle import require_up
from drdrill.lab.processes import kill_recorded
from drdrill.lab.state import save_state
from drdrill.lab.topology import MAX_WORKERS, OTHER, Topology, check_region
from drdrill.support.http import call

__all__ = [
    "change_records",
    "fail_over_dns",
    "promote_database",
    "repoint_applications",
    "scale_region",
]


def change_records(topology: Topology, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lab's ``change-resource-record-sets``; the records after the change."""
    reply = call("POST", f"{topology.edge_url}/_edge/records", {"changes": changes}, timeout=2.0)
    if not reply.ok:
        raise LabError(
            f"edge refused the record change: {reply.status} {reply.body or reply.error}"
        )
    records: list[dict[str, Any]] = reply.body
    return records


def fail_over_dns(topology: Topology, to_region: str) -> None:
    """UPSERT the failover records so ``to_region`` is PRIMARY."""
    check_region(to_region)
    require_up(topology)
    change_records(
        topology,
        [
            {
                "action": "UPSERT",
                "record": {"name": "shop", "role": "PRIMARY", "region": to_region},
            },
            {
                "action": "UPSERT",
                "record": {"name": "shop", "role": "SECONDARY", "region": OTHER[to_region]},
            },
        ],
    )


def scale_region(topology: Topology, region: str, workers: int) -> None:
    """Run ``workers`` order-service workers in ``region``; returns when they answer."""
    check_region(region)
    if not 1 <= workers <= MAX_WORKERS:
        raise LabError(f"workers must be 1..{MAX_WORKERS}, not {workers}")
    state = require_up(topology)
    current = state.workers[region]
    dsn = topology.app_dsn(region, state.database_of[region])
    for i in range(current, workers):
        spawn_worker(topology, region, i, dsn)
    if workers < current:
        kill_recorded(topology.pid_dir, [f"app-{region}-{i}" for i in range(workers, current)])
    for i in range(workers):  # ready = listening; its database may still be unreachable
        wait_listening(topology.ports.worker(region, i), timeout=20.0)
    reply = call(
        "POST",
        f"{topology.edge_url}/_edge/backends",
        {"region": region, "urls": backends(topology, region, workers)},
    )
    if not reply.ok:
        raise LabError(f"edge refused new backends for {region}: {reply.error or reply.status}")
    save_state(topology.state_file, state.with_workers(region, workers))


def promote_database(topology: Topology, region: str) -> float:
    """Promote the region's standby; returns seconds until it took writes."""
    check_region(region)
    state = require_up(topology)
    pg = LabDatabases.of(topology, state).region(region)
    role = pg.role()
    if role != "standby":
        raise LabError(f"the {region} database is not a standby (role {role})")
    seconds = pg.promote()
    save_state(topology.state_file, state.with_promoted(region, time.time_ns()))
    return seconds


def repoint_applications(topology: Topology, region: str, database_region: str) -> None:
    """Point ``region``'s workers at ``database_region``'s database (set env + rollout)."""
    check_region(region)
    state = require_up(topology)
    dsn = topology.app_dsn(region, database_region)
    urls = [
        f"{topology.worker_url(region, i)}/_admin/database" for i in range(state.workers[region])
    ]
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        replies = list(pool.map(lambda u: call("POST", u, {"dsn": dsn}, timeout=2.0), urls))
    failed = [u for u, r in zip(urls, replies, strict=True) if not r.ok]
    if failed:
        raise LabError(f"workers did not take the new database: {', '.join(failed)}")
    save_state(topology.state_file, state.with_database(region, database_region))

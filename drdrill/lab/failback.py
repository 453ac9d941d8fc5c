"""Failback on the lab: the planned return home after a DR activation.

The return trip is played from three modules, one idea each:

- ``drdrill.lab.standby_rebuild`` — the **serving region** (the region whose database is
  the writable primary the applications use) and the **rebuild** of the other region's
  database as its streaming standby (``pg_rewind``, else ``pg_basebackup``), validated by
  ``validate_standby``;
- ``drdrill.lab.switchover`` — the **fence** (the serving database refuses writes) and the
  planned **switchover** with no acknowledged write lost, in one call or step by step;
- this module — the **traffic shift**: WEIGHTED records on the edge move a share of
  requests to the returning region; at 100 % the normal PRIMARY/SECONDARY failover records
  are back; and ``steady_problems``, how the lab differs from the steady state ``lab up``
  leaves.

Every action checks everything it needs before it changes anything, and does
nothing when its work is already done (idempotent).
"""

from __future__ import annotations

from typing import Any

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.dr_actions import change_records
from drdrill.lab.lifecycle import require_up
from drdrill.lab.standby_rebuild import refuse_while_down, streams_from
from drdrill.lab.topology import OTHER, REGIONS, Topology, check_region
from drdrill.support.http import call

__all__ = ["edge_records", "set_traffic_weight", "steady_problems"]


def _healthy_at_edge(topology: Topology) -> dict[str, bool]:
    reply = call("GET", f"{topology.edge_url}/_edge/resolve", timeout=2.0)
    if not reply.ok:
        raise LabError(f"the edge does not answer: {reply.error or reply.status}")
    return {str(k): bool(v) for k, v in reply.body["healthy"].items()}


def set_traffic_weight(topology: Topology, to_region: str, percent: int) -> list[dict[str, Any]]:
    """Send ``percent`` % of the global endpoint's requests to ``to_region`` and the rest
    to the other region with WEIGHTED records; at 100 % the WEIGHTED records go and the
    failover records name ``to_region`` PRIMARY again. Refuses (nothing changed) while
    ``to_region``'s applications fail the edge's health check: the share would silently
    go elsewhere. The records after the change."""
    check_region(to_region)
    if not 0 <= percent <= 100:
        raise LabError(f"a traffic weight is a percentage 0..100, not {percent}")
    state = require_up(topology)
    refuse_while_down(state, f"shift traffic to {to_region}")
    if percent > 0 and not _healthy_at_edge(topology).get(to_region, False):
        raise LabError(
            f"cannot shift {percent} % of traffic to {to_region}: its applications fail the "
            "edge's health check (expected them writable); nothing changed"
        )
    other = OTHER[to_region]
    failover = [
        {"name": "shop", "role": "PRIMARY", "region": to_region},
        {"name": "shop", "role": "SECONDARY", "region": other},
    ]
    weighted = [
        {"name": "shop", "role": "WEIGHTED", "region": to_region, "weight": percent},
        {"name": "shop", "role": "WEIGHTED", "region": other, "weight": 100 - percent},
    ]
    if percent < 100:
        return change_records(topology, [{"action": "UPSERT", "record": r} for r in weighted])
    return change_records(
        topology,
        [
            *({"action": "UPSERT", "record": r} for r in failover),
            *({"action": "DELETE", "record": r} for r in weighted),
        ],
    )


def edge_records(topology: Topology) -> list[dict[str, Any]]:
    """The edge's records of the global name."""
    reply = call("GET", f"{topology.edge_url}/_edge/records", timeout=2.0)
    if not reply.ok:
        raise LabError(f"the edge does not list its records: {reply.error or reply.status}")
    return [r for r in reply.body if r["name"] == "shop"]


def steady_problems(topology: Topology, workers: dict[str, int]) -> list[str]:
    """How the lab differs from the steady state ``lab up`` leaves (empty: it is in it):
    no region failed, the primary database serving every application, the dr database its
    streaming standby, the failover records naming primary PRIMARY and no WEIGHTED record,
    ``workers`` order-service workers per region."""
    state = require_up(topology)
    problems = [f"the {r} region is down ({m})" for r, m in state.failures.items() if m]
    if state.promoted:
        problems.append(f"promoted standbys: {list(state.promoted)}")
    if state.database_of != dict.fromkeys(REGIONS, "primary"):
        problems.append(f"applications use {state.database_of}, expected the primary database")
    if state.workers != workers:
        problems.append(f"workers {state.workers}, expected {workers}")
    records = sorted((r["role"], r["region"]) for r in edge_records(topology))
    if records != [("PRIMARY", "primary"), ("SECONDARY", "dr")]:
        problems.append(f"edge records {records}, expected PRIMARY primary, SECONDARY dr")
    if problems:  # a failed or moved region: its databases are not worth asking
        return problems
    databases = LabDatabases.of(topology, state)
    if databases.region("primary").role() != "primary":
        problems.append(f"the primary database is {databases.region('primary').role()}")
    if not streams_from(topology, databases.region("dr"), "primary"):
        problems.append("the dr database does not stream from the primary")
    return problems

"""The planned switchover of the writable database to the other region.

**switchover** — planned, with no acknowledged write lost: fence the serving database
(it refuses writes: ``default_transaction_read_only`` and every client session ended),
wait until the standby has replayed everything it wrote, promote the standby, point
every application at it, then rebuild the former serving database as its standby
(``drdrill.lab.standby_rebuild``). Its customer-visible cost is the time from the fence
until the applications use the writable new primary (``Switchover.fenced_s``).
``switchover`` runs it in one call; its steps are also primitives of their own
(``fence_database``, ``catch_up``, ``promote_standby``, ``repoint_applications``,
``rebuild_region_database``; ``unfence_database`` gives up) for a caller that plays
them one by one as a control plane orders them (the AWS twin). Part of the planned
failback (``drdrill.lab.failback``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.fencing import fence_writes, unfence_writes
from drdrill.lab.lifecycle import require_up
from drdrill.lab.postgres import PgServer
from drdrill.lab.standby_rebuild import (
    Rebuild,
    point_applications,
    rebuild_region_database,
    refuse_while_down,
    serving_region,
    streams_from,
)
from drdrill.lab.state import LabState, load_state, save_state
from drdrill.lab.topology import OTHER, REGIONS, Topology, check_region
from drdrill.support.wait import poll

__all__ = [
    "Switchover",
    "catch_up",
    "fence_database",
    "promote_standby",
    "switchover",
    "unfence_database",
]


@dataclass(frozen=True)
class Switchover:
    """A planned switchover of the writable database from ``from_region`` to ``to_region``."""

    to_region: str
    from_region: str
    fenced_s: float
    """Fence → the applications use the writable new primary: the customer-visible outage
    of writes (0 when nothing had to move)."""
    catch_up_s: float
    """Fence → the new primary had replayed every WAL record the old one wrote."""
    promote_s: float
    """The promotion: the signal → the first write it took."""
    reattach: Rebuild | None
    """The former serving database becoming the new primary's standby (None: nothing moved)."""


def _lsn(text: str | None) -> int:
    if not text:
        return -1
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _wal_position(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    return _lsn(row[0] if row else None)


def _wait_replayed(standby: PgServer, lsn: int, timeout: float) -> float:
    """Seconds until ``standby`` has replayed up to ``lsn``; ``LabError`` after ``timeout``."""
    started = time.monotonic()
    replayed = -1
    with standby.connect("postgres") as conn:

        def caught_up() -> bool:
            nonlocal replayed
            row = conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()
            replayed = _lsn(row[0] if row else None)
            return replayed >= lsn

        if poll(lambda: caught_up() or None, timeout, interval_s=0.005) is None:
            raise LabError(
                f"{standby.name} had replayed WAL up to {replayed:X}, not {lsn:X}, after {timeout}s"
            )
    return time.monotonic() - started


def catch_up(topology: Topology, standby_region: str, timeout: float = 10.0) -> float:
    """Wait until ``standby_region``'s database has replayed everything the serving
    database has written so far; seconds waited. What a consistency check between the
    two must wait for (a census of a lagging standby differs by design)."""
    check_region(standby_region)
    state = require_up(topology)
    databases = LabDatabases.of(topology, state)
    serving = databases.region(OTHER[standby_region])
    with serving.connect("postgres") as conn:
        lsn = _wal_position(conn)
    return _wait_replayed(databases.region(standby_region), lsn, timeout)


def switchover(topology: Topology, to_region: str, catch_up_timeout: float = 10.0) -> Switchover:
    """Planned switchover of the writable database to ``to_region`` (module docstring).

    Expects ``to_region``'s database streaming from the serving one
    (``rebuild_region_database`` first) and both regions up; refuses otherwise,
    changing nothing. When the standby cannot catch up in time the fence is lifted
    and nothing else has changed. Already serving from ``to_region``: the former
    serving database is only made its standby if it is not already."""
    state, new, old = _new_and_old(topology, to_region, f"switch over to {to_region}")
    from_region = OTHER[to_region]
    if serving_region(state) == to_region and new.role() == "primary":
        point_applications(topology, dict.fromkeys(REGIONS, to_region))
        attached = rebuild_region_database(topology, from_region)
        return Switchover(to_region, from_region, 0.0, 0.0, 0.0, attached)
    if old.role() != "primary" or not streams_from(topology, new, from_region):
        raise LabError(
            f"cannot switch over to {to_region}: expected the {from_region} database "
            f"serving (it is {old.role()}) and the {to_region} database streaming from it "
            f"(rebuild_region_database({to_region!r}) first); nothing changed"
        )
    fence = old.connect("postgres")
    fenced_at = time.monotonic()  # from here on writes fail: the outage starts
    try:
        fence_writes(fence)
        catch_up_s = _wait_replayed(new, _wal_position(fence), catch_up_timeout)
    except BaseException:
        unfence_writes(fence)
        fence.close()
        raise
    fence.close()
    promote_s = _promote_serving(topology, new, to_region)
    point_applications(topology, dict.fromkeys(REGIONS, to_region))
    fenced_s = time.monotonic() - fenced_at
    attached = rebuild_region_database(topology, from_region)
    return Switchover(
        to_region,
        from_region,
        round(fenced_s, 4),
        round(catch_up_s, 4),
        round(promote_s, 4),
        attached,
    )


def _new_and_old(
    topology: Topology, region: str, action: str
) -> tuple[LabState, PgServer, PgServer]:
    """The lab's state, ``region``'s database (the new serving one) and the other region's
    (the one serving now); refuses, changing nothing, while a region is down."""
    check_region(region)
    state = require_up(topology)
    refuse_while_down(state, action)
    databases = LabDatabases.of(topology, state)
    return state, databases.region(region), databases.region(OTHER[region])


def _promote_serving(topology: Topology, new: PgServer, region: str) -> float:
    """Promote ``region``'s standby ``new`` as the serving database (the lab state says so:
    no promoted standby when it is the primary region's); seconds the promotion took."""
    promote_s = new.promote()
    promoted = () if region == "primary" else (region,)
    save_state(
        topology.state_file,
        _current(topology).replace(
            promoted=promoted, promoted_ns=time.time_ns() if promoted else None
        ),
    )
    return promote_s


def _serving_database(topology: Topology, region: str, action: str) -> PgServer:
    """``region``'s database, refusing (nothing changed) unless it is the serving one and
    both regions are up."""
    check_region(region)
    state = require_up(topology)
    refuse_while_down(state, action)
    if serving_region(state) != region:
        raise LabError(
            f"cannot {action}: the {region} database does not serve (the "
            f"{serving_region(state)} one does); nothing changed"
        )
    return LabDatabases.of(topology, state).region(region)


def fence_database(topology: Topology, region: str) -> None:
    """The switchover's first step on its own: the serving ``region``'s database refuses
    writes from now on (``fence_writes``); idempotent. Refuses unless it serves."""
    with _serving_database(topology, region, f"fence the {region} database").connect(
        "postgres"
    ) as conn:
        fence_writes(conn)


def unfence_database(topology: Topology, region: str) -> None:
    """Lift ``fence_database`` (a switchover given up: the serving database takes writes
    again); idempotent."""
    with _serving_database(topology, region, f"unfence the {region} database").connect(
        "postgres"
    ) as conn:
        unfence_writes(conn)


def promote_standby(topology: Topology, region: str) -> float:
    """The switchover's promotion on its own: ``region``'s database, a standby streaming
    from the serving one, promoted as the serving database; seconds the promotion took
    (0: it serves already). Refuses, changing nothing, unless the serving database is
    fenced (``fence_database``) — else both would take writes — and the standby has
    replayed all it wrote (waited for up to 10 s), else writes are lost."""
    state, new, old = _new_and_old(topology, region, f"promote the {region} database")
    from_region = OTHER[region]
    if serving_region(state) == region and new.role() == "primary":
        return 0.0
    try:  # one look at the serving database: writable, fenced, where its WAL ends
        [(in_recovery, read_only, lsn)] = old.query(
            "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'), "
            "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END",
            dbname="postgres",
        )
    except LabError:
        in_recovery, read_only, lsn = None, None, None
    if in_recovery is not False or not streams_from(topology, new, from_region):
        raise LabError(
            f"cannot promote the {region} database: expected the {from_region} database "
            f"serving (it is {old.role()}) and the {region} database streaming from it; "
            "nothing changed"
        )
    if read_only != "on":
        raise LabError(
            f"cannot promote the {region} database while the {from_region} database still "
            f"takes writes: fence it first (fence_database({from_region!r})); nothing changed"
        )
    _wait_replayed(new, _lsn(lsn), 10.0)
    return _promote_serving(topology, new, region)


def _current(topology: Topology) -> LabState:
    state = load_state(topology.state_file)
    if state is None:
        raise LabError(f"the lab state file {topology.state_file} is gone")
    return state

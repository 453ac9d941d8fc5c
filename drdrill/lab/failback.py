"""Failback on the lab: the planned return home after a DR activation.

Definitions used here:

- **serving region** — the region whose database is the writable primary the
  applications use: ``dr`` after an activation promoted it, ``primary`` otherwise.
- **rebuild** — making the other region's database a streaming standby of the
  serving one again: ``pg_rewind`` of its old data dir when its timeline allows
  (the old primary's WAL is wound back to where the promoted standby forked),
  else a fresh ``pg_basebackup``. The old data dir is never started as a primary
  again: it only starts once it is a standby (``standby.signal`` written).
- **fence** — the serving database refuses writes (``default_transaction_read_only``
  and every client session ended), so nothing commits there any more.
- **switchover** — planned, with no acknowledged write lost: fence the serving
  database, wait until the standby has replayed everything it wrote, promote the
  standby, point every application at it, then rebuild the former serving database
  as its standby. Its customer-visible cost is the time from the fence until the
  applications use the writable new primary (``Switchover.fenced_s``). ``switchover``
  runs it in one call; its steps are also primitives of their own (``fence_database``,
  ``catch_up``, ``promote_standby``, ``repoint_applications``,
  ``rebuild_region_database``; ``unfence_database`` gives up) for a caller that plays
  them one by one as a control plane orders them (the AWS twin).
- **traffic shift** — WEIGHTED records on the edge move a share of requests to the
  returning region; at 100 % the normal PRIMARY/SECONDARY failover records are back.

Every action checks everything it needs before it changes anything, and does
nothing when its work is already done (idempotent).
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.dr_actions import change_records
from drdrill.lab.fencing import fence_writes, unfence_writes
from drdrill.lab.lifecycle import require_up
from drdrill.lab.postgres import PgServer
from drdrill.lab.replication import ReplicationState, replication_state
from drdrill.lab.state import LabState, load_state, save_state
from drdrill.lab.topology import OTHER, REGIONS, Topology, check_region
from drdrill.support.http import call
from drdrill.support.wait import poll

__all__ = [
    "Rebuild",
    "Switchover",
    "catch_up",
    "fence_database",
    "promote_standby",
    "rebuild_region_database",
    "serving_region",
    "set_traffic_weight",
    "steady_problems",
    "switchover",
    "unfence_database",
    "validate_standby",
]

RebuildMethod = Literal["rewind", "basebackup", "already"]


@dataclass(frozen=True)
class Rebuild:
    """How a region's database became a standby of the serving region's again."""

    region: str
    source: str
    """The serving region it now streams from."""
    method: RebuildMethod
    """``rewind`` (pg_rewind of the old data dir), ``basebackup`` (a fresh copy, when the
    rewind was impossible) or ``already`` (it already was a standby of ``source``)."""
    seconds: float
    why_not_rewind: str = ""
    """pg_rewind's error when a base backup had to be taken instead."""
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds of each step: stop, rewind (or basebackup), start, streaming."""


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


def serving_region(state: LabState) -> str:
    """The region whose database the platform writes to (see the module docstring)."""
    return "dr" if "dr" in state.promoted else "primary"


def _refuse_failed(state: LabState, action: str) -> None:
    failed = {r: m for r, m in state.failures.items() if m}
    if failed:
        region, mode = next(iter(failed.items()))
        raise LabError(
            f"cannot {action}: the {region} region is still down ({mode}); expected both "
            f"regions restored (restore_region({region!r}) first); nothing changed"
        )


def _stream_source_port(pg: PgServer) -> int | None:
    """The port a standby's WAL receiver streams from, None when it does not stream."""
    try:
        rows = pg.query(
            "SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'",
            dbname="postgres",
        )
    except LabError:
        return None
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def _follows(topology: Topology, pg: PgServer, source: str) -> bool:
    """True when ``pg`` is a standby streaming from ``source``'s database (its gateway)."""
    return pg.role() == "standby" and _stream_source_port(pg) == topology.ports.gateway_database(
        source
    )


def _fresh_slot(server: PgServer, slot: str) -> None:
    """Replication slot ``slot`` on ``server``, reserving WAL from now. Inactive slots left
    over from an earlier topology are dropped: in a two-region lab the one standby the
    serving database keeps WAL for is the one being rebuilt (stopped now)."""
    server.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        "WHERE NOT active AND slot_type = 'physical'",
        dbname="postgres",
    )
    server.execute(
        "SELECT pg_create_physical_replication_slot(%s, true) "
        "WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
        (slot, slot),
        dbname="postgres",
    )


def _rewind(pg: PgServer, source: PgServer) -> None:
    """``pg_rewind`` the stopped ``pg`` to ``source`` (crash recovery first when the old
    server was killed: pg_rewind runs it in single-user mode, never as a serving primary).
    A just-promoted source writes its new timeline into its control file only at its next
    checkpoint, which pg_rewind reads: one is forced first."""
    source.execute("CHECKPOINT", dbname="postgres")
    pg.run_tool(
        pg.install.binary("pg_rewind"),
        *("--target-pgdata", str(pg.data_dir), "--no-sync"),
        "--source-server",
        f"host=127.0.0.1 port={source.port} user=postgres dbname=postgres connect_timeout=5",
        timeout=120.0,
    )


def _fresh_copy(pg: PgServer, source: PgServer) -> None:
    """Replace ``pg``'s data dir by a base backup of ``source``."""
    shutil.rmtree(pg.data_dir, ignore_errors=True)
    if pg.data_dir.exists():
        raise LabError(f"{pg.name}: cannot remove the old data dir {pg.data_dir}")
    source.base_backup(pg.data_dir)


def rebuild_region_database(topology: Topology, region: str, timeout: float = 30.0) -> Rebuild:
    """Rebuild ``region``'s database as a streaming standby of the serving region's.

    The region's applications are pointed at the serving database (as dr's are before
    an activation), its old database is stopped, then rewound (or copied afresh when
    the rewind is impossible), made a standby through the serving region's gateway
    and started. Refuses, changing nothing, while either region is down or when
    ``region`` is the one serving."""
    check_region(region)
    state = require_up(topology)
    _refuse_failed(state, f"rebuild the {region} database")
    source = serving_region(state)
    if region == source:
        raise LabError(
            f"the {region} database is the one serving; expected the other region's "
            f"({OTHER[region]}) to be rebuilt from it; nothing changed"
        )
    databases = LabDatabases.of(topology, state)
    pg, src = databases.region(region), databases.region(source)
    if src.role() != "primary":
        raise LabError(
            f"cannot rebuild {region} from {source}: the {source} database is not a writable "
            f"primary (role {src.role()}); nothing changed"
        )
    started = time.monotonic()
    if _follows(topology, pg, source):
        _point_applications(topology, {region: source})
        return Rebuild(region, source, "already", round(time.monotonic() - started, 3))
    steps: dict[str, float] = {}
    mark = time.monotonic()

    def step(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        steps[name] = round(now - mark, 3)
        mark = now

    # fenced first: no write reaches it from now on. Immediate: its data is rewound anyway,
    # and a clean shutdown waits ~3 s for its archiver to retry WAL segments the other
    # server (same archive) already archived
    pg.stop("immediate")
    step("stop")
    _point_applications(topology, {region: source})
    _fresh_slot(src, region)
    method: RebuildMethod = "rewind"
    why_not_rewind = ""
    try:
        _rewind(pg, src)
    except LabError as exc:
        method, why_not_rewind = "basebackup", str(exc)
        _fresh_copy(pg, src)
    step(method)
    pg.follow(topology.ports.gateway_database(source), slot=region)
    pg.start(timeout)  # (a standby answers once consistent: replay first, on a busy machine)
    step("start")
    if poll(lambda: _follows(topology, pg, source) or None, timeout, interval_s=0.05) is None:
        raise LabError(
            f"the rebuilt {region} database does not stream from {source} after {timeout}s "
            f"({method}); see {pg.log_path}"
        )
    step("streaming")
    seconds = round(time.monotonic() - started, 3)
    return Rebuild(region, source, method, seconds, why_not_rewind, steps)


def _point_applications(topology: Topology, database_of: dict[str, str]) -> None:
    """Point each region's workers at the database of the region named (all at once)."""
    state = require_up(topology)
    calls = [
        (f"{topology.worker_url(region, i)}/_admin/database", topology.app_dsn(region, db))
        for region, db in database_of.items()
        for i in range(state.workers[region])
    ]
    if calls:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            replies = list(
                pool.map(lambda c: call("POST", c[0], {"dsn": c[1]}, timeout=2.0), calls)
            )
        failed = [url for (url, _), r in zip(calls, replies, strict=True) if not r.ok]
        if failed:
            raise LabError(f"workers did not take the new database: {', '.join(failed)}")
    for region, db in database_of.items():
        state = state.with_database(region, db)
    save_state(topology.state_file, state)


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
        _point_applications(topology, dict.fromkeys(REGIONS, to_region))
        attached = rebuild_region_database(topology, from_region)
        return Switchover(to_region, from_region, 0.0, 0.0, 0.0, attached)
    if old.role() != "primary" or not _follows(topology, new, from_region):
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
    _point_applications(topology, dict.fromkeys(REGIONS, to_region))
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
    _refuse_failed(state, action)
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
    _refuse_failed(state, action)
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
    if in_recovery is not False or not _follows(topology, new, from_region):
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
    _refuse_failed(state, f"shift traffic to {to_region}")
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


def validate_standby(
    topology: Topology, region: str, max_lag_s: float, timeout: float = 10.0
) -> ReplicationState:
    """``region``'s database streams from the serving one with a lag under ``max_lag_s``
    (waiting up to ``timeout`` for it); its replication state, else ``LabError`` saying
    what was found."""
    check_region(region)
    state = require_up(topology)
    source = serving_region(state)
    if region == source:
        raise LabError(f"the {region} database serves; expected a standby in {region}")
    databases = LabDatabases.of(topology, state)
    pg, src = databases.region(region), databases.region(source)
    found = ReplicationState("down", 0.0)

    def ready() -> bool:
        nonlocal found
        found = replication_state(pg.dsn("postgres"), src.dsn("postgres"))
        return (
            found.state == "streaming"
            and found.lag_s < max_lag_s
            and _follows(topology, pg, source)
        )

    if poll(lambda: ready() or None, timeout, interval_s=0.1) is None:
        raise LabError(
            f"the {region} database is not a streaming standby of {source} with a lag under "
            f"{max_lag_s}s: role {pg.role()}, replication {found.state}, lag {found.lag_s:.3f}s"
        )
    return found


def _records(topology: Topology) -> list[dict[str, Any]]:
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
    records = sorted((r["role"], r["region"]) for r in _records(topology))
    if records != [("PRIMARY", "primary"), ("SECONDARY", "dr")]:
        problems.append(f"edge records {records}, expected PRIMARY primary, SECONDARY dr")
    if problems:  # a failed or moved region: its databases are not worth asking
        return problems
    databases = LabDatabases.of(topology, state)
    if databases.region("primary").role() != "primary":
        problems.append(f"the primary database is {databases.region('primary').role()}")
    if not _follows(topology, databases.region("dr"), "primary"):
        problems.append("the dr database does not stream from the primary")
    return problems

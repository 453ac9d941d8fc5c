"""Rebuilding a region's database as a streaming standby of the serving region's.

- **serving region** — the region whose database is the writable primary the
  applications use: ``dr`` after an activation promoted it, ``primary`` otherwise.
- **rebuild** — making the other region's database a streaming standby of the
  serving one again: ``pg_rewind`` of its old data dir when its timeline allows
  (the old primary's WAL is wound back to where the promoted standby forked),
  else a fresh ``pg_basebackup``. The old data dir is never started as a primary
  again: it only starts once it is a standby (``standby.signal`` written).

``validate_standby`` checks the result: streaming from the serving database with a lag
under a bound. ``point_applications`` moves each region's workers to a region's database
(the rebuild, the switchover and the rollback use it). Part of the planned failback
(``drdrill.lab.failback``).
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.lifecycle import require_up
from drdrill.lab.postgres import PgServer
from drdrill.lab.replication import ReplicationState, replication_state
from drdrill.lab.state import LabState, save_state
from drdrill.lab.topology import OTHER, Topology, check_region
from drdrill.support.http import call
from drdrill.support.wait import poll

__all__ = [
    "Rebuild",
    "RebuildMethod",
    "point_applications",
    "rebuild_region_database",
    "refuse_while_down",
    "serving_region",
    "streams_from",
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


def serving_region(state: LabState) -> str:
    """The region whose database the platform writes to (see the module docstring)."""
    return "dr" if "dr" in state.promoted else "primary"


def refuse_while_down(state: LabState, action: str) -> None:
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


def streams_from(topology: Topology, pg: PgServer, source: str) -> bool:
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
    refuse_while_down(state, f"rebuild the {region} database")
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
    if streams_from(topology, pg, source):
        point_applications(topology, {region: source})
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
    point_applications(topology, {region: source})
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
    if poll(lambda: streams_from(topology, pg, source) or None, timeout, interval_s=0.05) is None:
        raise LabError(
            f"the rebuilt {region} database does not stream from {source} after {timeout}s "
            f"({method}); see {pg.log_path}"
        )
    step("streaming")
    seconds = round(time.monotonic() - started, 3)
    return Rebuild(region, source, method, seconds, why_not_rewind, steps)


def point_applications(topology: Topology, database_of: dict[str, str]) -> None:
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
            and streams_from(topology, pg, source)
        )

    if poll(lambda: ready() or None, timeout, interval_s=0.1) is None:
        raise LabError(
            f"the {region} database is not a streaming standby of {source} with a lag under "
            f"{max_lag_s}s: role {pg.role()}, replication {found.state}, lag {found.lag_s:.3f}s"
        )
    return found

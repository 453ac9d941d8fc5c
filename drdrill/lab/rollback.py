"""Rolling the lab back to its steady state from wherever a drill stopped, in place.

A drill can stop (Ctrl-C, SIGTERM, ``drdrill abort``, a failed step) in any state: a
region failed and DR not promoted, any activation phase done or half-done, a failback
phase half-done. ``roll_back`` brings the lab from any of them to the steady state ``lab
up`` leaves (primary serving, dr its streaming warm standby) without losing a write the
platform acknowledged, and never re-creates the lab or a database (docs/rollback.md).

Definitions used here:

- **newest history** — the database holding every write acknowledged since it last
  took writes: the one writable database; when both are, not the fenced one, else the
  later timeline when the other's region failed (an activation), else the one every
  application uses (a promotion beside the serving primary), else the later timeline
  (``_split_brain_winner``). It is read from the databases themselves
  (``pg_is_in_recovery()``, the WAL's timeline, the fence, ``standby.signal`` in the data
  dir of one that does not answer), never from ``lab.json``'s ``promoted`` note: a step
  interrupted between its action and its note leaves the note behind.
- **primary holds it** — dr was never promoted (or the failback's switchover already
  promoted the primary): the failed region is restored in place, every application and
  the DNS records point at the primary again, dr re-attached as its standby.
- **dr holds it** — dr was promoted: its history wins, exactly as in a planned failback
  (``drdrill.lab.failback``): the failed region restored with its old database
  superseded (never writing again), the primary database rebuilt from dr (pg_rewind,
  else a base backup), DNS home, a switchover back, dr scaled down and validated.
- **a restored database holds it** — the applications use a database restored from a
  backup (a data disaster's repair: corruption, ransomware): it is fenced and becomes
  the primary's data (a base backup of it; the data dir it replaces kept beside it),
  dr rebuilt from it.

What cannot be rolled back without risking a loss — no database shown to hold the newest
history, a data dir gone, a promotion that does not finish — is a ``RollbackError``
saying why; nothing is removed, the platform keeps serving whatever serves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import LabError
from drdrill.lab.backups import LabBackups
from drdrill.lab.databases import LabDatabases
from drdrill.lab.dr_actions import change_records, scale_region
from drdrill.lab.failback import edge_records, steady_problems
from drdrill.lab.faults import restore_region
from drdrill.lab.fencing import fence_writes, unfence_writes
from drdrill.lab.lifecycle import require_up
from drdrill.lab.postgres import PgServer
from drdrill.lab.processes import kill_recorded
from drdrill.lab.standby_rebuild import (
    point_applications,
    rebuild_region_database,
    streams_from,
    validate_standby,
)
from drdrill.lab.state import LabState, load_state, save_state
from drdrill.lab.switchover import switchover
from drdrill.lab.topology import MAX_WORKERS, REGIONS, Topology
from drdrill.support.wait import poll

__all__ = ["Rollback", "RollbackError", "newest_history", "roll_back"]

PROMOTION_S = 10.0
"""How long a requested promotion may take to finish (~0.05–0.15 s here)."""

REATTACH_S = 10.0
"""How long dr, a standby of the primary all along, gets to stream again after the primary
region came back (it retries every 100 ms), before it is rebuilt instead."""


class RollbackError(LabError):
    """The lab cannot be rolled back without risking acknowledged writes; nothing was
    removed, and the message says what a human must look at."""


@dataclass(frozen=True)
class Rollback:
    """What a rollback did."""

    newest: str
    """The region whose database held the newest history (and serves at the end)."""
    how: str
    """In words, for the audit trail and the drill's summary."""


@dataclass(frozen=True)
class _Seen:
    """One database as the rollback found it."""

    region: str
    writable: bool
    timeline: int
    fenced: bool = False
    """Writable but refusing writes (a switchover's fence, a superseded primary's)."""


def _timeline_on_disk(data_dir: Path) -> int:
    """The latest timeline a data dir knows (its highest ``pg_wal/*.history``; 1 if none)."""
    timelines = [1]
    for history in (data_dir / "pg_wal").glob("*.history"):
        try:
            timelines.append(int(history.stem, 16))
        except ValueError:
            continue
    return max(timelines)


def _finish_promotion(pg: PgServer) -> None:
    """A running standby whose promotion was requested (its ``promote`` file written) but
    not taken up — its caller stopped between the request and the signal — is promoted:
    the request is a promotion whose caller was interrupted (the postmaster would take it
    up at its next signal from any backend anyway, at a moment nobody chose)."""
    if not (pg.data_dir / "promote").exists() or pg.role() != "standby":
        return
    pid = pg.pid()
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGUSR1)
    if poll(lambda: pg.role() == "primary" or None, PROMOTION_S, interval_s=0.02) is None:
        raise RollbackError(
            f"a promotion of {pg.name} was requested and did not finish in {PROMOTION_S} s: "
            "which database holds the newest acknowledged writes is undecided"
        )


def _see(topology: Topology, state: LabState, region: str) -> _Seen | None:
    """The region's database: writable or not, and its timeline; None when its data dir
    is gone. A database of a powered-off or frozen region is read from its data dir
    (asking a frozen one hangs; and it must not be thawed before it is known)."""
    pg = LabDatabases.of(topology, state).region(region)
    if not (pg.data_dir / "PG_VERSION").exists():
        return None
    if state.failures[region] not in ("power-off", "blackhole") and pg.is_running():
        _finish_promotion(pg)
        try:
            [(in_recovery, walfile, read_only)] = pg.query(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN NULL "
                "ELSE pg_walfile_name(pg_current_wal_lsn()) END, "
                "current_setting('default_transaction_read_only')",
                dbname="postgres",
            )
        except LabError:
            pass
        else:
            if in_recovery:
                return _Seen(region, False, _timeline_on_disk(pg.data_dir))
            return _Seen(region, True, int(str(walfile)[:8], 16), read_only == "on")
    # not answering: the role it last ran in is in its data dir (a standby keeps
    # standby.signal until its promotion ends; a postmaster starting drops a request
    # for a promotion it never took up)
    writable = not (pg.data_dir / "standby.signal").exists()
    return _Seen(region, writable, _timeline_on_disk(pg.data_dir))


def newest_history(topology: Topology, state: LabState) -> str:
    """The region whose database holds the newest history (module docstring);
    ``RollbackError`` when no database can be shown to hold it."""
    seen = {region: _see(topology, state, region) for region in REGIONS}
    missing = [region for region, s in seen.items() if s is None]
    if missing:
        raise RollbackError(
            f"the data dir of {' and '.join(missing)} gone or incomplete: which database "
            "holds the newest acknowledged writes cannot be told"
        )
    writable = [s for s in seen.values() if s is not None and s.writable]
    if not writable:
        raise RollbackError(
            "no database can be shown to hold the newest acknowledged writes: neither is "
            "writable nor was last running as a primary"
        )
    if len(writable) == 1:
        return writable[0].region
    return _split_brain_winner(state, writable).region


def _split_brain_winner(state: LabState, both: list[_Seen]) -> _Seen:
    """Of two writable databases, the one that kept the acknowledged writes: not the
    fenced one (a switchover fences the old side before it promotes the new); else the
    later timeline when the earlier one's region failed (an activation: what the old
    primary took after the fault is the disaster's loss, or divergent writes counted at
    the heal); else — both regions healthy, a promotion on a serving platform (the
    partial drill's) — the one every application uses; else the later timeline."""
    unfenced = [s for s in both if not s.fenced]
    if len(unfenced) == 1:
        return unfenced[0]
    older, newer = sorted(both, key=lambda s: s.timeline)
    if older.timeline == newer.timeline:
        raise RollbackError(
            f"both databases are writable on timeline {newer.timeline}: which one holds "
            "the newest acknowledged writes cannot be told"
        )
    if state.failures[older.region]:
        return newer
    used = set(state.database_of.values())
    return next((s for s in both if used == {s.region}), newer)


def _serving_restored(state: LabState) -> str | None:
    """The restored database the applications use (a data disaster's repair), if any."""
    restored = sorted({db for db in state.database_of.values() if db not in REGIONS})
    if len(restored) > 1:
        raise RollbackError(
            f"applications use several restored databases ({', '.join(restored)}): which "
            "one holds the newest acknowledged writes cannot be told"
        )
    return restored[0] if restored else None


RESTORE_SETTINGS = (
    "archive_mode",
    "restore_command",
    "recovery_target_time",
    "recovery_target_action",
    "recovery_target_inclusive",
    "default_transaction_read_only",
)
"""What a restored database's ``postgresql.auto.conf`` sets for the restore (and its
fence) that the primary's own settings must win over once it is the primary's data."""


def _restored_home(topology: Topology, state: LabState, instance: str) -> str:
    """The applications use a database restored from a backup (module docstring): it is
    fenced, copied into the primary's place (the data dir it replaces kept beside it,
    never deleted), the primary started from the copy, every application pointed at it,
    dr rebuilt as its standby and a fresh base backup taken for later restores."""
    databases = LabDatabases.of(topology, state)
    try:
        port = int(topology.restored_port_file(instance).read_text())
    except (OSError, ValueError) as exc:
        raise RollbackError(f"the restored database {instance} has no port on record") from exc
    restored = databases.restored(instance, port)
    if restored.role() != "primary":
        raise RollbackError(
            f"applications use the restored database {instance}, which does not answer as a "
            "writable database"
        )
    with restored.connect("postgres") as conn:
        fence_writes(conn)  # from here its data is final
    primary = databases.region("primary")
    primary.stop("fast")
    aside = primary.data_dir.with_name(f"primary.replaced-{time.time_ns()}")
    if primary.data_dir.exists():
        primary.data_dir.rename(aside)
    restored.base_backup(primary.data_dir)
    primary.reconfigure(dict.fromkeys(RESTORE_SETTINGS))
    primary.prepare_dir(topology.archive, 0o755)  # (a ransomware took it)
    if state.failures["primary"]:
        restore_region(topology, "primary")  # starts the primary database from the copy
    else:
        primary.start()
    point_applications(topology, dict.fromkeys(REGIONS, "primary"))
    _records_home(topology)
    restored.stop("fast")  # its data dir stays
    databases.region("dr").stop("immediate")  # a standby of the replaced data: rebuilt
    rebuilt = rebuild_region_database(topology, "dr")
    LabBackups(topology, databases).snapshot(f"rolled-back-{time.time_ns()}")
    kept = f"; the replaced primary data dir kept as {aside.name}" if aside.exists() else ""
    return (
        f"applications used the restored database {instance}: it became the primary's data "
        f"(base backup), dr rebuilt from it ({rebuilt.method}){kept}"
    )


def _note_promotion(topology: Topology, state: LabState, newest: str) -> LabState:
    """``lab.json`` told what the databases say: dr promoted when it holds the newest
    history (the time of its promotion from its timeline's history file, for the
    split-brain count), none when the primary does."""
    if newest == "primary":
        state = state.replace(promoted=(), promoted_ns=None)
    elif "dr" not in state.promoted:
        pg = LabDatabases.of(topology, state).region("dr")
        histories = sorted((pg.data_dir / "pg_wal").glob("*.history"))
        at_ns = histories[-1].stat().st_mtime_ns if histories else time.time_ns()
        state = state.with_promoted("dr", at_ns)
    save_state(topology.state_file, state)
    return state


def _unfence(topology: Topology, state: LabState, region: str) -> None:
    """The serving database takes writes (a fence a switchover left is lifted)."""
    with LabDatabases.of(topology, state).region(region).connect("postgres") as conn:
        unfence_writes(conn)


def _records_home(topology: Topology) -> None:
    """The failover records name primary PRIMARY again; no WEIGHTED record is left."""
    failover = {"primary": "PRIMARY", "dr": "SECONDARY"}
    change_records(
        topology,
        [
            *(
                {"action": "UPSERT", "record": {"name": "shop", "role": role, "region": r}}
                for r, role in failover.items()
            ),
            *(
                {"action": "DELETE", "record": r}
                for r in edge_records(topology)
                if r["role"] == "WEIGHTED"
            ),
        ],
    )


def _workers_back(topology: Topology, workers: dict[str, int]) -> None:
    """Each region at its ``lab up`` size, also when a scaling was stopped half-way (its
    extra workers run, unrecorded in ``lab.json``)."""
    state = require_up(topology)
    for region in REGIONS:
        extra = range(max(state.workers[region], workers[region]), MAX_WORKERS)
        kill_recorded(topology.pid_dir, [f"app-{region}-{i}" for i in extra])
        scale_region(topology, region, workers[region])


def _restore_regions(topology: Topology) -> None:
    for region, mode in require_up(topology).failures.items():
        if mode:
            restore_region(topology, region)


def _running(topology: Topology, state: LabState, region: str) -> None:
    """The region's database runs (started as its data dir has it, when it does not)."""
    pg = LabDatabases.of(topology, state).region(region)
    if not pg.is_running():
        pg.start()


def _primary_in_place(topology: Topology, state: LabState) -> str:
    """dr was never promoted (or the primary already was, again): module docstring."""
    _restore_regions(topology)
    state = require_up(topology)
    _running(topology, state, "primary")
    _unfence(topology, state, "primary")
    point_applications(topology, dict.fromkeys(REGIONS, "primary"))
    _records_home(topology)
    dr = LabDatabases.of(topology, state).region("dr")
    how = "restored primary in place; dr re-attached as standby"
    # a dr that was promoted never streams again: fenced by a switchover stopped half-way
    # (it took nothing since), or promoted beside the serving primary (a partial drill)
    writable = dr.role() == "primary"
    taking_writes = writable and dr.query(
        "SELECT current_setting('default_transaction_read_only') = 'off'", dbname="postgres"
    ) == [(True,)]
    if (
        writable
        or poll(lambda: streams_from(topology, dr, "primary") or None, REATTACH_S, interval_s=0.1)
        is None
    ):
        rebuilt = rebuild_region_database(topology, "dr")
        how = f"restored primary in place; dr rebuilt from primary ({rebuilt.method}) as standby"
        if taking_writes:
            how += (
                "; dr had been promoted beside the serving primary, the applications "
                "writing to the primary: what dr took since its promotion was discarded"
            )
    return how


def _home_from_dr(topology: Topology, state: LabState) -> str:
    """dr was promoted: its history comes home as in the planned failback."""
    _restore_regions(topology)  # the superseded old primary never writes again
    state = require_up(topology)
    _running(topology, state, "dr")
    _unfence(topology, state, "dr")
    point_applications(topology, {"dr": "dr"})  # customers routed to dr write to dr
    rebuilt = rebuild_region_database(topology, "primary")
    _records_home(topology)
    switchover(topology, "primary")
    return f"dr had been promoted: primary rebuilt from dr ({rebuilt.method}), switched over back"


def roll_back(topology: Topology, workers: dict[str, int], max_lag_s: float) -> Rollback:
    """Back to the steady state in place from any drill state (module docstring), with
    ``workers`` per region at the end; what was done. ``RollbackError`` when that is not
    possible without risking acknowledged writes (nothing removed); ``LabError`` when a
    step failed on the way (the lab left as that step left it, every database intact)."""
    if load_state(topology.state_file) is None:  # written first by ``up``, gone after ``down``
        return Rollback("primary", "no lab was up: nothing to roll back")
    if not steady_problems(topology, workers):
        return Rollback("primary", "steady already: nothing to roll back")
    state = require_up(topology)
    instance = _serving_restored(state)
    if instance is not None:
        newest, how = "primary", _restored_home(topology, state, instance)
    else:
        newest = newest_history(topology, state)
        state = _note_promotion(topology, state, newest)
        how = (_primary_in_place if newest == "primary" else _home_from_dr)(topology, state)
    _workers_back(topology, workers)
    validate_standby(topology, "dr", max_lag_s)
    left = steady_problems(topology, workers)
    if left:
        raise LabError(f"after the rollback ({how}) the lab is not steady: {'; '.join(left)}")
    return Rollback(newest, how)

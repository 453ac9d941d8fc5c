"""Replication lag, the one definition: how far the standby's data is behind the primary's.

Lag is the primary's latest commit time minus the standby's last replayed commit
time (``pg_last_xact_replay_timestamp``), or 0 when the standby has replayed all
the WAL the primary has written. It is the data the DR region would be missing
if the primary failed now (the plan's replica-lag alarm and RPO), so a stalled
stream (partitioned, primary frozen, no WAL receiver) shows *growing* lag while
the primary keeps committing, never 0.

When the primary cannot be asked (powered off, frozen, unreachable, or not
given and not found through the standby's WAL receiver), the lag is counted
from the standby's last replayed commit to now: all the standby can vouch for.
This is the only replication-lag query in drdrill: ``lab status``, the lab
target and the drill's replication-lag probe all call ``replication_state``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

__all__ = ["ReplicationState", "replication_state"]


@dataclass(frozen=True)
class ReplicationState:
    """How a standby follows its primary."""

    state: str
    """``streaming``, ``catchup``... (the WAL receiver's), ``stopped`` (none) or ``down``."""
    lag_s: float
    """The primary's latest commit minus the standby's last replayed one; 0 when caught up."""


_STANDBY_SQL = (
    "SELECT r.status, r.sender_host, r.sender_port, pg_last_wal_replay_lsn()::text, "
    "pg_last_xact_replay_timestamp(), pg_postmaster_start_time(), now() "
    "FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"
)
_PRIMARY_SQL = (
    "SELECT pg_current_wal_lsn()::text, (pg_last_committed_xact()).timestamp "
    "WHERE NOT pg_is_in_recovery()"
)


def _lsn(text: str | None) -> int:
    """A WAL position (``16/B374D848``) as a number; -1 for none."""
    if not text:
        return -1
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _connect(dsn: str, timeout_s: float) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, connect_timeout=max(2, math.ceil(timeout_s)), autocommit=True)
    conn.execute(f"SET statement_timeout = {max(1, int(timeout_s * 1000))}")
    return conn


def _primary_position(dsn: str, timeout_s: float) -> tuple[int, datetime | None] | None:
    """The primary's WAL position and latest commit time; None if it cannot say."""
    try:
        with _connect(dsn, timeout_s) as conn:
            row = conn.execute(_PRIMARY_SQL).fetchone()
    except psycopg.Error:
        return None
    return (_lsn(row[0]), row[1]) if row else None


def replication_state(
    standby_dsn: str,
    primary_dsn: str | None = None,
    *,
    find_primary: bool = True,
    timeout_s: float = 2.0,
) -> ReplicationState:
    """The standby's WAL receiver state and replication lag (see the module docstring).

    ``primary_dsn`` None: the primary is asked where the standby's WAL receiver
    streams from (its sender host and port, with the standby DSN's credentials),
    unless ``find_primary`` is False (the caller knows it cannot answer).
    ``down`` (lag 0) when the standby does not answer.
    """
    try:
        with _connect(standby_dsn, timeout_s) as conn:
            row = conn.execute(_STANDBY_SQL).fetchone()
    except psycopg.Error:
        return ReplicationState("down", 0.0)
    assert row is not None  # one row by construction
    status, host, port, replay_lsn, replayed_at, started_at, now = row
    state = str(status) if status else "stopped"
    if primary_dsn is None and find_primary and host and port:
        primary_dsn = make_conninfo(standby_dsn, host=host, port=port)
    primary = _primary_position(primary_dsn, timeout_s) if primary_dsn else None
    # nothing replayed since the standby started: its data is at best as of its start
    last_replayed: datetime = replayed_at or started_at
    if primary is None:
        return ReplicationState(state, max(0.0, (now - last_replayed).total_seconds()))
    primary_lsn, committed_at = primary
    if _lsn(replay_lsn) >= primary_lsn or committed_at is None:
        return ReplicationState(state, 0.0)
    return ReplicationState(state, max(0.0, (committed_at - last_replayed).total_seconds()))

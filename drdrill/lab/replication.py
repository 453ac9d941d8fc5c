"""Replication health, the one definition: does the stream flow, and how far behind is the data?

``judge`` decides from one ``ReplicationReading`` (what the standby and its primary
said, read by ``read_replication``); it is pure, so it is tested with hand-made
readings. ``replication_state`` reads and judges: ``lab status``, ``drdrill check``
(through the lab target, which reads ``lab status``), the failback's standby
validation and the drill's replication-lag probe all call it, so they cannot disagree.

**Stalled.** The stream does not flow when any of these holds (first one named):

- the standby has no WAL receiver, or it is not ``streaming``;
- the primary cannot be asked (powered off, frozen, unreachable, not found);
- the primary has no WAL sender for the standby's replication slot;
- no status reply of the standby's WAL receiver reached its WAL sender for longer
  than the bound: ``STALL_BOUND_S`` (5 s), or 3 status intervals if the standby's
  ``wal_receiver_status_interval`` is longer (the lab sets it to 1 s). The receiver
  replies at least once per interval even when nothing is written, and the sender
  records the reply in ``pg_stat_replication.reply_time``; so a frozen WAL sender
  (the time stops), a frozen WAL receiver (no reply) and a cut in either direction
  (no reply arrives) all age it. A partitioned standby still says ``streaming`` in
  ``pg_stat_wal_receiver`` until ``wal_receiver_timeout`` (60 s): its status alone
  is never trusted.

**Lag** is the primary's latest commit time minus the standby's last replayed
commit time (``pg_last_xact_replay_timestamp``), or 0 when the standby has
replayed all the WAL the primary has flushed. It is the data the DR region would
be missing if the primary failed now (the plan's replica-lag alarm and RPO).
While stalled it is at least the time since the standby's last exchange with the
primary: the standby cannot vouch for anything committed since, so a stalled
stream never reads lag 0, even when nothing is written. When the primary cannot
be asked, the lag is counted from the standby's last replayed commit to now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

__all__ = [
    "STALL_BOUND_S",
    "PrimaryReading",
    "ReplicationReading",
    "ReplicationState",
    "StandbyReading",
    "judge",
    "read_replication",
    "replication_state",
]

STALL_BOUND_S = 5.0
"""The longest silence between WAL receiver and sender of a flowing stream: 5 status
intervals of the lab's 1 s, and early enough for ``drdrill check`` to fail within 10 s."""


@dataclass(frozen=True)
class ReplicationState:
    """How a standby follows its primary: the judgement of one reading."""

    state: str
    """The WAL receiver's status (``streaming``, ``waiting``...), ``stalled`` when it says
    ``streaming`` but the stream does not flow, ``stopped`` (no receiver) or ``down``."""
    lag_s: float
    """The primary's latest commit minus the standby's last replayed one; 0 when caught up
    and flowing; at least the silence since the last exchange when stalled; 0 for
    ``down``, where nothing could be read (``lab status`` shows null)."""
    stalled: str | None = None
    """Why the stream does not flow (the module docstring's rules); None while it flows."""

    @property
    def flowing(self) -> bool:
        """True while the standby streams and receives what the primary writes."""
        return self.stalled is None


@dataclass(frozen=True)
class StandbyReading:
    """What the standby said, at its own ``now``."""

    receiver: str | None
    """``pg_stat_wal_receiver.status``; None when no WAL receiver runs."""
    slot: str | None
    replayed_lsn: int
    """``pg_last_wal_replay_lsn()`` as a number (-1: none)."""
    replayed_at: datetime | None
    """``pg_last_xact_replay_timestamp()``: the last replayed commit's time."""
    started_at: datetime
    now: datetime
    status_interval_s: float = 1.0
    """``wal_receiver_status_interval`` (0: the receiver sends no status replies)."""
    last_message_at: datetime | None = None
    """``pg_stat_wal_receiver.last_msg_receipt_time``: the last message from the sender."""


@dataclass(frozen=True)
class PrimaryReading:
    """What the primary said, at its own ``now``."""

    flushed_lsn: int
    """``pg_current_wal_flush_lsn()``: the WAL there is to send."""
    committed_at: datetime | None
    """``pg_last_committed_xact()``'s time: the primary's latest commit."""
    now: datetime
    sender: bool = True
    """A WAL sender serves the standby's slot (``pg_stat_replication``)."""
    reply_at: datetime | None = None
    """Its last status reply from the standby (``reply_time``, or the sender's start
    before the first reply)."""


@dataclass(frozen=True)
class ReplicationReading:
    """One reading of a standby and its primary; None where one did not answer."""

    standby: StandbyReading | None
    primary: PrimaryReading | None


def _stall(standby: StandbyReading, primary: PrimaryReading | None, bound_s: float) -> str | None:
    if standby.receiver is None:
        return "no WAL receiver runs on the standby"
    if standby.receiver != "streaming":
        return f"the standby's WAL receiver is {standby.receiver}"
    if primary is None:
        return "the primary does not answer"
    if not primary.sender:
        return "the primary has no WAL sender for the standby"
    if primary.reply_at is None or standby.status_interval_s <= 0:
        return None  # the receiver sends no replies: silence says nothing
    bound = max(bound_s, 3 * standby.status_interval_s)
    silent = (primary.now - primary.reply_at).total_seconds()
    if silent > bound:
        return (
            f"no reply from the standby's WAL receiver reached the primary's WAL sender "
            f"for {silent:.1f} s (bound {bound:g} s)"
        )
    return None


def _last_exchange(standby: StandbyReading, primary: PrimaryReading | None) -> float | None:
    """Seconds since the standby and the primary last heard of each other (None: unknown)."""
    ages = []
    if primary is not None and primary.reply_at is not None:
        ages.append((primary.now - primary.reply_at).total_seconds())
    if standby.last_message_at is not None:
        ages.append((standby.now - standby.last_message_at).total_seconds())
    return max(0.0, min(ages)) if ages else None


def judge(reading: ReplicationReading, bound_s: float = STALL_BOUND_S) -> ReplicationState:
    """Stalled or flowing, and the lag, of one reading (see the module docstring)."""
    standby, primary = reading.standby, reading.primary
    if standby is None:
        return ReplicationState("down", 0.0, "the standby does not answer")
    stalled = _stall(standby, primary, bound_s)
    # nothing replayed since the standby started: its data is at best as of its start
    last_replayed = standby.replayed_at or standby.started_at
    if primary is None:
        lag = (standby.now - last_replayed).total_seconds()
    elif standby.replayed_lsn >= primary.flushed_lsn or primary.committed_at is None:
        lag = 0.0
    else:
        lag = (primary.committed_at - last_replayed).total_seconds()
    if stalled is not None:
        silence = _last_exchange(standby, primary)
        if silence is None:  # no exchange known: all the standby vouches for is its replay
            silence = (standby.now - last_replayed).total_seconds()
        lag = max(lag, silence)
    state = standby.receiver or "stopped"
    if stalled is not None and state == "streaming":
        state = "stalled"
    return ReplicationState(state, max(0.0, lag), stalled)


# -- reading (the only SQL) -------------------------------------------------------------

_STANDBY_SQL = (
    "SELECT r.status, r.sender_host, r.sender_port, r.slot_name, "
    "pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(), "
    "pg_postmaster_start_time(), now(), r.last_msg_receipt_time, "
    "current_setting('wal_receiver_status_interval') "
    "FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"
)
_PRIMARY_SQL = (
    "SELECT pg_current_wal_flush_lsn()::text, (pg_last_committed_xact()).timestamp, now(), "
    "w.pid IS NOT NULL, coalesce(w.reply_time, w.backend_start) "
    "FROM (SELECT 1) AS one LEFT JOIN ("
    "  SELECT r.pid, r.reply_time, r.backend_start FROM pg_stat_replication AS r "
    "  JOIN pg_replication_slots AS s ON s.active_pid = r.pid "
    "  WHERE s.slot_name::text = %(slot)s::text "
    "  UNION ALL "
    "  SELECT r.pid, r.reply_time, r.backend_start FROM pg_stat_replication AS r "
    "  WHERE %(slot)s::text IS NULL AND r.state <> 'backup'"
    ") AS w ON true "
    "WHERE NOT pg_is_in_recovery() LIMIT 1"
)


def _lsn(text: str | None) -> int:
    """A WAL position (``16/B374D848``) as a number; -1 for none."""
    if not text:
        return -1
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _interval_s(setting: str | None) -> float:
    """A PostgreSQL time setting (``1s``, ``10s``, ``500ms``, ``0``) in seconds."""
    text = (setting or "").strip()
    units = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
    for unit, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text) if text else 10.0  # no unit: seconds; PostgreSQL's default is 10 s


def _connect(dsn: str, timeout_s: float) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, connect_timeout=max(2, math.ceil(timeout_s)), autocommit=True)
    conn.execute(f"SET statement_timeout = {max(1, int(timeout_s * 1000))}")
    return conn


def _read_primary(dsn: str, slot: str | None, timeout_s: float) -> PrimaryReading | None:
    try:
        with _connect(dsn, timeout_s) as conn:
            row = conn.execute(_PRIMARY_SQL, {"slot": slot}).fetchone()
    except psycopg.Error:
        return None
    if row is None:  # in recovery: not a primary
        return None
    flushed, committed_at, now, sender, reply_at = row
    return PrimaryReading(_lsn(flushed), committed_at, now, bool(sender), reply_at)


def read_replication(
    standby_dsn: str,
    primary_dsn: str | None = None,
    *,
    find_primary: bool = True,
    timeout_s: float = 2.0,
) -> ReplicationReading:
    """Read the standby, then its primary (the SQL side of ``replication_state``)."""
    try:
        with _connect(standby_dsn, timeout_s) as conn:
            row = conn.execute(_STANDBY_SQL).fetchone()
    except psycopg.Error:
        return ReplicationReading(None, None)
    assert row is not None  # one row by construction
    status, host, port, slot, replay_lsn, replayed_at, started_at, now, message_at, interval = row
    standby = StandbyReading(
        receiver=str(status) if status else None,
        slot=slot,
        replayed_lsn=_lsn(replay_lsn),
        replayed_at=replayed_at,
        started_at=started_at,
        now=now,
        status_interval_s=_interval_s(interval),
        last_message_at=message_at,
    )
    if primary_dsn is None and find_primary and host and port:
        primary_dsn = make_conninfo(standby_dsn, host=host, port=port)
    primary = _read_primary(primary_dsn, slot, timeout_s) if primary_dsn else None
    return ReplicationReading(standby, primary)


def replication_state(
    standby_dsn: str,
    primary_dsn: str | None = None,
    *,
    find_primary: bool = True,
    timeout_s: float = 2.0,
) -> ReplicationState:
    """The standby's replication, read and judged (see the module docstring).

    ``primary_dsn`` None: the primary is asked where the standby's WAL receiver
    streams from (its sender host and port, with the standby DSN's credentials),
    unless ``find_primary`` is False (the caller knows it cannot answer).
    ``down`` (stalled; lag 0, meaning unknown: nothing was read) when the standby
    does not answer.
    """
    reading = read_replication(
        standby_dsn, primary_dsn, find_primary=find_primary, timeout_s=timeout_s
    )
    return judge(reading)

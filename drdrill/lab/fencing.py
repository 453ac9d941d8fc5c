"""Fencing a database: it refuses writes from now on, while it keeps running and answering.

A fenced database is read-only for every new transaction (``default_transaction_read_only``
set with ``ALTER SYSTEM`` and reloaded) and every client session that began before the
fence has ended, so no write that was in flight can still commit. It still answers
reads: what it holds can be counted before it is rewound (split brain), and a planned
switchover can read its last WAL position. Unfencing resets the setting.
"""

from __future__ import annotations

from typing import Any

import psycopg

from drdrill.errors import LabError
from drdrill.support.wait import poll

__all__ = ["fence_writes", "unfence_writes"]


def fence_writes(conn: psycopg.Connection[Any], timeout: float = 5.0) -> None:
    """Make the server of ``conn`` refuse writes: read-only by default for every new
    transaction, and every client session that began before ended (waited for: one still
    ending could commit). ``pg_terminate_backend(pid, timeout)`` checks every 100 ms, so
    the sessions are ended together and watched here."""
    conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
    conn.execute("SELECT pg_reload_conf()")
    rows = conn.execute(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    ).fetchall()
    ended = [row[0] for row in rows]

    def gone() -> bool:
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (ended,)
        ).fetchone()
        return left is not None and left[0] == 0

    if ended and poll(lambda: gone() or None, timeout, interval_s=0.002) is None:
        raise LabError(f"client sessions {ended} still run {timeout}s after the fence")


def unfence_writes(conn: psycopg.Connection[Any]) -> None:
    """Lift ``fence_writes``: new transactions may write again."""
    conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
    conn.execute("SELECT pg_reload_conf()")

"""Data integrity: what the orders table held at a moment, and whether a restore matches it.

The harness records a census (count + checksum of the ids of orders committed up
to a time, by commit timestamp — ``track_commit_timestamp`` is on) before a
disaster; after a restore it takes the same census on the restored database. A
restore is verified by data, never by status. The plan's integrity query
(``SELECT COUNT(*) FROM orders WHERE created_at > ...``) is the count part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from drdrill.errors import RestoreError

__all__ = ["Census", "accepts_writes", "census", "compare"]


@dataclass(frozen=True)
class Census:
    """The orders committed up to ``as_of``: how many, and an md5 of their sorted ids."""

    as_of: datetime | None
    count: int
    checksum: str


def census(dsn: str, as_of: datetime | None = None) -> Census:
    """Count and checksum the orders committed at or before ``as_of`` (None: all)."""
    where = "" if as_of is None else "WHERE pg_xact_commit_timestamp(xmin) <= %(as_of)s"
    sql = f"SELECT count(*), md5(coalesce(string_agg(id, ',' ORDER BY id), '')) FROM orders {where}"
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute(sql, {"as_of": as_of}).fetchone()
    except psycopg.Error as exc:
        raise RestoreError(f"cannot take the order census of {dsn}: {exc}") from exc
    assert row is not None
    return Census(as_of, int(row[0]), str(row[1]))


def compare(expected: Census, actual: Census) -> list[str]:
    """Differences between two censuses (empty: the data matches)."""
    problems = []
    if expected.count != actual.count:
        problems.append(f"order count {actual.count}, expected {expected.count}")
    if expected.checksum != actual.checksum:
        problems.append(f"order id checksum {actual.checksum}, expected {expected.checksum}")
    return problems


def accepts_writes(dsn: str) -> str | None:
    """None when the database takes an order write, else why not. The write is rolled
    back: checking that a promoted database is writable changes no data."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn, conn.transaction(force_rollback=True):
            conn.execute(
                "INSERT INTO orders (id, client, product_id) VALUES ('drdrill-write-check', "
                "'drill', (SELECT min(id) FROM products))"
            )
    except psycopg.Error as exc:
        return str(exc).strip()
    return None

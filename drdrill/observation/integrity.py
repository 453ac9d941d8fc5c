"""Data integrity: what the orders table held at a moment, and whether a restore matches it.

The harness records a census (count + checksum of the ids of orders committed up
to a time, by commit timestamp — ``track_commit_timestamp`` is on) before a
disaster; after a restore it takes the same census on the restored database. A
restore is verified by data, never by status. The plan's integrity query
(``SELECT COUNT(*) FROM orders WHERE created_at > ...``) is the count part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from drdrill.errors import RestoreError

__all__ = [
    "Census",
    "Consistency",
    "accepts_writes",
    "census",
    "committed_ids",
    "compare",
    "compare_databases",
]


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


def committed_ids(dsn: str, as_of: datetime) -> tuple[frozenset[str], frozenset[str]]:
    """The ids of the orders at ``dsn``: those committed at or before ``as_of`` (the census's
    rows), and every id present."""
    sql = "SELECT id, pg_xact_commit_timestamp(xmin) <= %(as_of)s FROM orders"
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            rows = conn.execute(sql, {"as_of": as_of}).fetchall()
    except psycopg.Error as exc:
        raise RestoreError(f"cannot read the order ids of {dsn}: {exc}") from exc
    # as census counts them: a row without a commit timestamp is not "at or before"
    before = frozenset(str(i) for i, at_or_before in rows if at_or_before is True)
    return before, frozenset(str(i) for i, _ in rows)


@dataclass(frozen=True)
class Consistency:
    """Two databases (by name: a region) compared at one moment.

    Consistent when both censuses of the orders committed up to ``as_of`` match and no
    acknowledged write is on one and not the other. ``only_in[name]`` are the ids
    committed up to ``as_of`` that only ``name`` holds (the rows that differ);
    ``missing[name]`` the acknowledged writes ``name`` lacks while the other holds them;
    ``lost_before`` the acknowledged writes neither holds: lost earlier (to the disaster,
    the RPO's business), which no comparison of the two can bring back."""

    as_of: datetime
    censuses: Mapping[str, Census]
    only_in: Mapping[str, tuple[str, ...]]
    missing: Mapping[str, tuple[str, ...]]
    lost_before: tuple[str, ...]
    acknowledged: int
    """How many acknowledged writes were looked for."""

    @property
    def consistent(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        """What differs, naming the rows (at most 10 ids each), empty when consistent."""
        (a, first), (b, second) = list(self.censuses.items())[:2]
        found = [f"{b} vs {a}: {p}" for p in compare(first, second)]
        for name, ids in self.only_in.items():
            if ids:
                found.append(f"only {name} holds {len(ids)} order(s): {_few(ids)}")
        for name, ids in self.missing.items():
            if ids:
                found.append(f"{name} lacks {len(ids)} acknowledged write(s): {_few(ids)}")
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "consistent": self.consistent,
            "censuses": {
                n: {"count": c.count, "checksum": c.checksum} for n, c in self.censuses.items()
            },
            "only_in": {n: list(ids) for n, ids in self.only_in.items()},
            "missing": {n: list(ids) for n, ids in self.missing.items()},
            "lost_before": list(self.lost_before),
            "acknowledged": self.acknowledged,
        }


def _few(ids: tuple[str, ...], shown: int = 10) -> str:
    more = f" (+{len(ids) - shown} more)" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _checksum(ids: Collection[str]) -> str:
    """The census checksum of ``ids`` (md5 of the sorted ids joined by commas)."""
    return hashlib.md5(",".join(sorted(ids)).encode()).hexdigest()


def compare_databases(
    as_of: datetime,
    committed: Mapping[str, Collection[str]],
    present: Mapping[str, Collection[str]],
    acknowledged: Collection[str],
) -> Consistency:
    """Compare two databases from their ids: ``committed[name]`` the ids committed up to
    ``as_of``, ``present[name]`` every id there, ``acknowledged`` the writes clients were
    told succeeded (before ``as_of``). Pure: the census is computed from the ids exactly
    as ``census`` computes it in SQL."""
    if len(committed) != 2 or set(committed) != set(present):
        raise ValueError(f"expected two databases, got {sorted(committed)} / {sorted(present)}")
    names = list(committed)
    sets = {n: frozenset(committed[n]) for n in names}
    censuses = {n: Census(as_of, len(sets[n]), _checksum(sets[n])) for n in names}
    a, b = names
    only_in = {a: tuple(sorted(sets[a] - sets[b])), b: tuple(sorted(sets[b] - sets[a]))}
    wanted = frozenset(acknowledged)
    held = {n: frozenset(present[n]) & wanted for n in names}
    missing = {a: tuple(sorted(held[b] - held[a])), b: tuple(sorted(held[a] - held[b]))}
    lost_before = tuple(sorted(wanted - held[a] - held[b]))
    return Consistency(as_of, censuses, only_in, missing, lost_before, len(wanted))

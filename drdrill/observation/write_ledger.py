"""The write ledger being kept: the thread-safe record clients write into, its JSONL
file read back, and the surviving database asked which writes it holds (the
definitions and the pure reconciliation: ``drdrill.measurement.ledger``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import psycopg

from drdrill.errors import MeasurementError
from drdrill.measurement.ledger import Reconciliation, Write
from drdrill.support import jsonl

__all__ = [
    "Ledger",
    "present_ids",
    "read_writes",
    "reconcile",
]


def read_writes(path: Path) -> tuple[list[Write], int]:
    """The writes logged as JSON lines in ``path`` (none if it does not exist), and how
    many lines were skipped: torn by a killed load process, or not a write."""
    lines = jsonl.read(path)
    writes, skipped = [], lines.skipped
    for raw in lines.records:
        try:
            writes.append(Write.from_json(raw))
        except (KeyError, TypeError, ValueError):
            skipped += 1
    return writes, skipped


class Ledger:
    """Thread-safe, append-only record of writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: dict[str, Write] = {}

    def record(self, write: Write) -> None:
        with self._lock:
            self._writes[write.id] = write

    def writes(self) -> list[Write]:
        with self._lock:
            return sorted(self._writes.values(), key=lambda w: w.send_ns)


def present_ids(dsn: str, ids: Iterable[str], batch: int = 5000) -> frozenset[str]:
    """The ids among ``ids`` that exist in the ``orders`` table at ``dsn``."""
    wanted = list(ids)
    found: set[str] = set()
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            for i in range(0, len(wanted), batch):
                rows = conn.execute(
                    "SELECT id FROM orders WHERE id = ANY(%s)", (wanted[i : i + batch],)
                ).fetchall()
                found.update(str(r[0]) for r in rows)
    except psycopg.Error as exc:
        raise MeasurementError(f"cannot check the ledger against {dsn}: {exc}") from exc
    return frozenset(found)


def reconcile(
    writes: Iterable[Write], dsn: str, t_fault_ns: int | None, restored_ns: int | None = None
) -> Reconciliation:
    """Check every write against the database at ``dsn`` (``restored_ns``: when a database
    restored from a backup was declared serving, see the module docstring)."""
    all_writes = tuple(writes)
    return Reconciliation(
        all_writes, present_ids(dsn, (w.id for w in all_writes)), t_fault_ns, restored_ns
    )

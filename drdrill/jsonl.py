"""JSON lines: the one reader and writer of every ``*.jsonl`` drdrill keeps.

Timelines, audit trails, ledgers, Locust's per-request records and
``history.jsonl`` are append-only files other processes may kill mid-write, so:

- ``append`` starts every record on a fresh line (a torn last line left by a
  killed writer never swallows the next record) and flushes it at once;
- ``read`` returns the JSON objects and skips (and counts) anything else: a torn
  or non-UTF-8 line, or valid JSON that is not an object. A bad line is never fatal.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["JsonLines", "append", "read"]

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path.resolve(), threading.Lock())


@dataclass(frozen=True)
class JsonLines:
    """What ``read`` found: the records, and how many lines it had to skip."""

    records: tuple[dict[str, Any], ...]
    skipped: int


def append(path: Path, record: dict[str, Any], *, default: Any = str) -> None:
    """Append one record as a line; thread-safe within a process, O_APPEND across them."""
    line = json.dumps(record, default=default, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_for(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if os.fstat(fd).st_size > 0:
                with open(path, "rb") as existing:
                    existing.seek(-1, os.SEEK_END)
                    if existing.read(1) != b"\n":
                        line = "\n" + line
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


def read(path: Path) -> JsonLines:
    """Every JSON object of ``path`` in order (nothing when it does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JsonLines((), 0)
    records: list[dict[str, Any]] = []
    skipped = 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            skipped += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            skipped += 1
    return JsonLines(tuple(records), skipped)

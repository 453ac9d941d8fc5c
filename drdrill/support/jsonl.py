"""JSON lines: the one reader and writer of every ``*.jsonl`` drdrill keeps.

Timelines, audit trails, ledgers, Locust's per-request records and
``history.jsonl`` are append-only files other processes may kill mid-write, so:

- ``append`` starts every record on a fresh line (a torn last line left by a
  killed writer never swallows the next record) and flushes it at once;
- ``read`` returns the JSON objects and skips (and counts) anything else: a torn
  or non-UTF-8 line, or valid JSON that is not an object. A bad line is never fatal.

``append_chained`` appends to a hash-chained file (the audit trail): each record also
carries ``seq`` (1, 2, ... — its place in the chain) and ``prev``, the sha256 of the
previous line exactly as stored (without its newline), ``GENESIS`` for the first, so a
line edited, inserted, deleted or moved later is detected (``drdrill.report.archive``).
Writers serialise on the file (``flock``), also across processes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["GENESIS", "JsonLines", "append", "append_chained", "line_hash", "read"]

GENESIS = "0" * 64
"""The ``prev`` of the first record of a hash-chained file."""

_TAIL = 1 << 16

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


def line_hash(line: bytes) -> str:
    """The sha256 a chained record's successor carries as ``prev``: of the line as stored,
    without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _chain_tip(fd: int) -> tuple[str, int, bool]:
    """Of the chained file open at ``fd``: the ``prev`` and ``seq`` of the next record, and
    whether the file's last line is unterminated (torn by a killed writer)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return GENESIS, 1, False
    tail = os.pread(fd, min(size, _TAIL), size - min(size, _TAIL))
    torn = not tail.endswith(b"\n")
    lines = [line for line in tail.split(b"\n") if line.strip()]
    if not lines or (len(lines) == 1 and size > _TAIL):
        lines = [line for line in os.pread(fd, size, 0).split(b"\n") if line.strip()]
    if not lines:
        return GENESIS, 1, torn
    last = lines[-1]
    try:
        seq = json.loads(last.decode("utf-8"))["seq"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        seq = None
    if not isinstance(seq, int) or isinstance(seq, bool):
        # A torn or foreign last line: it keeps its place in the chain (and is reported).
        seq = sum(1 for line in os.pread(fd, size, 0).split(b"\n") if line.strip())
    return line_hash(last), seq + 1, torn


def append_chained(path: Path, record: dict[str, Any], *, default: Any = str) -> dict[str, Any]:
    """Append ``record`` to the hash-chained file ``path`` with its ``seq`` and ``prev``;
    returns the record as stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_for(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            prev, seq, torn = _chain_tip(fd)
            stored = {**record, "seq": seq, "prev": prev}
            line = json.dumps(stored, default=default, ensure_ascii=False) + "\n"
            os.write(fd, (("\n" if torn else "") + line).encode("utf-8"))
        finally:
            os.close(fd)
    return stored


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

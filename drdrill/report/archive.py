"""The tamper-evident archive of one drill: ``manifest.json`` and the chained audit trail.

When a drill has ended (``Drill.close``, after its last artifact: the final summary, the
audit trail's last record, the notifications log) its report directory is sealed:
``manifest.json`` lists every file in it with its sha256 and size, and the head of the
hash-chained audit trail (how many records, the sha256 of the last line).

``verify`` (``drdrill report --verify``) checks both: every listed file present and
unchanged, no file added after the seal, and the audit trail's chain intact line by line
(``jsonl.append_chained``). A problem names the file, and for the audit trail the line:

- an edited line: ``audit.jsonl line 4: changed after it was written``;
- a deleted line: ``audit.jsonl line 4: record 4 is missing before it``;
- an inserted or moved line: the line whose ``seq`` is out of place;
- the last line deleted or edited: against the manifest's chain head.

A sealed trail ends with the drill's ``drill_finished`` record: a trail cut short before
it (a drill that died, a tail deleted before the seal) does not verify.

The chain holds against edits of the trail alone; someone who rewrites the trail *and*
the manifest consistently is caught by the copy of the manifest's sha256 that ``seal``
appends to the reports directory's own chained ``seals.jsonl`` (one record per sealed
drill) — and by any copy kept elsewhere (``verify`` prints it, so a CI log keeps it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drdrill.records.timeline import iso, now_ns
from drdrill.support.jsonl import GENESIS, append_chained, line_hash

__all__ = [
    "AUDIT",
    "MANIFEST",
    "SEALS",
    "Problem",
    "Verification",
    "file_sha256",
    "seal",
    "verify",
    "verify_chain",
]

MANIFEST = "manifest.json"
AUDIT = "audit.jsonl"
SEALS = "seals.jsonl"
"""In the reports directory: each sealed drill's manifest sha256, hash-chained."""
FINISHED = "drill_finished"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One way the archive differs from what was sealed."""

    path: str
    what: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path} line {self.line}"
        return f"{where}: {self.what}"


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: the problems in file order (the first is the first bad
    file/line), how many files and audit records were checked, the manifest's sha256."""

    report_dir: Path
    problems: tuple[Problem, ...] = ()
    files: int = 0
    records: int = 0
    manifest_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _artifacts(report_dir: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``report_dir`` but the manifest, by relative POSIX path."""
    found = {path.relative_to(report_dir).as_posix(): path for path in report_dir.rglob("*")}
    for relative, path in sorted(found.items()):
        if path.is_file() and not path.is_symlink() and relative != MANIFEST:
            yield relative, path


def _stored_lines(path: Path) -> list[bytes]:
    """The non-empty lines of a file, as stored (the chain skips nothing else)."""
    return [line for line in path.read_bytes().split(b"\n") if line.strip()]


def seal(report_dir: Path, drill_id: str) -> Path:
    """Write ``manifest.json`` into the drill's ``report_dir``: every artifact with its
    sha256 and size, and the audit trail's chain head. Returns its path."""
    files = [
        {"path": name, "sha256": file_sha256(path), "size": path.stat().st_size}
        for name, path in _artifacts(report_dir)
    ]
    manifest: dict[str, Any] = {
        "drill_id": drill_id,
        "sealed": iso(now_ns()),
        "algorithm": "sha256",
        "files": files,
    }
    audit = report_dir / AUDIT
    if audit.is_file():
        lines = _stored_lines(audit)
        manifest["audit_chain"] = {
            "path": AUDIT,
            "records": len(lines),
            "head": line_hash(lines[-1]) if lines else GENESIS,
        }
    path = report_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    append_chained(
        report_dir.parent / SEALS,
        {"drill_id": drill_id, "dir": report_dir.name, "manifest_sha256": sha256},
    )
    return path


def _record_of(line: bytes) -> tuple[int, str] | None:
    """``(seq, prev)`` of a chained record; None when the line is none."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    seq, prev = record.get("seq"), record.get("prev")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(prev, str):
        return None
    return seq, prev


def verify_chain(
    path: Path, *, records: int | None = None, head: str | None = None, name: str = AUDIT
) -> tuple[list[Problem], int]:
    """The problems of the hash-chained file ``path`` (line numbers as in an editor) and
    how many records its chain holds; ``records``/``head``: the manifest's chain head to
    check its end against. After a problem the walk resynchronises on the line found, so
    one edit, deletion or insertion is one problem."""
    return _ChainWalk(name, path).run(records, head)


@dataclass
class _ChainWalk:
    """The forward walk of ``verify_chain``."""

    name: str
    path: Path
    problems: list[Problem] = field(default_factory=list)
    flagged: set[int] = field(default_factory=set)

    def run(self, records: int | None, head: str | None) -> tuple[list[Problem], int]:
        lines = [
            (number, line)
            for number, line in enumerate(self.path.read_bytes().split(b"\n"), 1)
            if line.strip()
        ]
        expected_prev, expected_seq = GENESIS, 1
        previous: int | None = None  # the line number of the last line kept in the chain
        before_previous: tuple[int, str] | None = None  # what was expected of that line
        seqs: list[tuple[int, int]] = []
        for index, (number, line) in enumerate(lines):
            found = _record_of(line)
            if found is not None and previous is not None and found == before_previous:
                # This line follows the one before the previous: that one does not belong.
                self._flag(
                    previous, f"inserted or moved here (line {number} follows the one before)"
                )
                expected_seq, expected_prev = found[0] + 1, line_hash(line)
                seqs.append((found[0], number))
                previous = number
                continue
            following = _record_of(lines[index + 1][1]) if index + 1 < len(lines) else None
            if found != (expected_seq, expected_prev) and following == (
                expected_seq,
                expected_prev,
            ):
                # The next line follows the one before this: this one does not belong.
                self._flag(number, "inserted or moved here (the next line follows the one before)")
                continue
            before_previous = (expected_seq, expected_prev)
            if found is None:
                self._flag(number, "not a chained audit record (edited or torn)")
                expected_seq += 1
            else:
                seq, prev = found
                if seq > expected_seq:
                    missing = (
                        f"record {expected_seq} is"
                        if seq == expected_seq + 1
                        else f"records {expected_seq}..{seq - 1} are"
                    )
                    self._flag(number, f"{missing} missing before it (deleted or moved)")
                elif seq < expected_seq:
                    self._flag(
                        number,
                        f"holds record {seq} where record {expected_seq} belongs (moved)",
                    )
                elif prev != expected_prev and previous is None:
                    self._flag(number, "changed after it was written (not the chain's start)")
                elif prev != expected_prev and previous is not None:
                    self._changed(previous, number)
                expected_seq = seq + 1
                seqs.append((seq, number))
            expected_prev = line_hash(line)
            previous = number
        chained = expected_seq - 1
        last = previous or 0
        if records is not None and chained < records:
            first = chained + 1
            missing = (
                f"record {first} is" if first == records else f"records {first}..{records} are"
            )
            self._flag(last + 1, f"{missing} missing at the end (deleted)")
        elif records is not None and chained > records:
            extra = min(number for seq, number in seqs if seq > records) if seqs else last
            self._flag(extra, "added after the drill was sealed")
        elif head is not None and expected_prev != head and last not in self.flagged:
            self._flag(last, "changed after it was written (not the manifest's chain head)")
        return sorted(self.problems, key=lambda p: p.line or 0), chained

    def _changed(self, number: int, successor: int) -> None:
        if number not in self.flagged:
            what = f"line {successor} names another line before it"
            self._flag(number, f"changed after it was written ({what})")

    def _flag(self, number: int, what: str) -> None:
        self.problems.append(Problem(self.name, what, number))
        self.flagged.add(number)


def verify(report_dir: Path) -> Verification:
    """Check a drill's report directory against its ``manifest.json``."""
    manifest_path = report_dir / MANIFEST
    if not manifest_path.is_file():
        return Verification(
            report_dir,
            (Problem(MANIFEST, "missing: the drill was never sealed (it did not end?)"),),
        )
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8"))
        listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in manifest["files"]}
        chain = manifest.get("audit_chain")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return Verification(
            report_dir, (Problem(MANIFEST, f"unreadable ({type(exc).__name__}: {exc})"),)
        )
    problems: list[Problem] = []
    records = 0
    present = dict(_artifacts(report_dir))
    for name in sorted(set(listed) | set(present)):
        path = present.get(name)
        if name not in listed:
            problems.append(Problem(name, "not in the manifest (added after the seal)"))
            continue
        if path is None:
            problems.append(Problem(name, "missing (deleted after the seal)"))
            continue
        sha256, size = listed[name]
        if isinstance(chain, dict) and name == chain.get("path"):
            chain_problems, records = verify_chain(
                path, records=chain.get("records"), head=chain.get("head"), name=name
            )
            problems += chain_problems
            if chain_problems:
                continue
            problems += _finished(path)
        actual_size = path.stat().st_size
        if actual_size != size:
            problems.append(
                Problem(name, f"changed after the seal ({size} bytes sealed, {actual_size} now)")
            )
        elif file_sha256(path) != sha256:
            problems.append(Problem(name, "changed after the seal (its sha256 differs)"))
    sha256 = hashlib.sha256(raw).hexdigest()
    problems += _kept_seal(report_dir, sha256)
    return Verification(
        report_dir,
        tuple(problems),
        files=len(listed),
        records=records,
        manifest_sha256=sha256,
    )


def _finished(audit: Path) -> list[Problem]:
    """A problem unless the sealed trail's last record is the drill's ``drill_finished``."""
    lines = _stored_lines(audit)
    last = _object(lines[-1]) if lines else {}
    if last.get("action") == FINISHED:
        return []
    return [
        Problem(
            AUDIT,
            f"does not end with the drill's {FINISHED} record (cut short before the seal)",
            len(lines),
        )
    ]


def _object(line: bytes) -> dict[str, Any]:
    """A stored line's JSON object, or an empty one (the chain check names a bad line)."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _kept_seal(report_dir: Path, sha256: str) -> list[Problem]:
    """The manifest against the sha256 the reports directory's ``seals.jsonl`` kept for
    this drill (a reports directory from before ``seals.jsonl`` has nothing to compare)."""
    seals = report_dir.parent / SEALS
    if not seals.is_file():
        return []
    problems, _ = verify_chain(seals, name=SEALS)
    records = [_object(line) for line in _stored_lines(seals)]
    kept = [r.get("manifest_sha256") for r in records if r.get("dir") == report_dir.name]
    if not kept:
        problems.append(Problem(MANIFEST, f"never sealed here: {SEALS} has no record of it"))
    elif kept[-1] != sha256:
        problems.append(
            Problem(MANIFEST, f"rewritten after the seal (its sha256 is not the one {SEALS} kept)")
        )
    return problems

"""The write ledger's JSON lines and its ``ledger.json`` form (no database needed)."""

from __future__ import annotations

import json
from pathlib import Path

from drdrill.measurement.ledger import Reconciliation, Write
from drdrill.observation.write_ledger import read_writes


def checkout(i: int, ack: int | None) -> dict[str, object]:
    return {"id": f"o-{i}", "client": "locust", "seq": i, "send_ns": i * 10, "ack_ns": ack}


def test_writes_after_a_torn_or_foreign_line_are_all_read(tmp_path: Path) -> None:
    path = tmp_path / "locust-ledger.jsonl"
    path.write_bytes(
        (json.dumps(checkout(1, 15)) + "\n").encode()
        + b'{"id": "o-2", "send'  # a Locust process killed mid-write, no newline
        + b"\n[1, 2]\n\xff\xfe\n"
        + (json.dumps({"id": "o-3"}) + "\n").encode()  # an object, but no write
    )
    with path.open("a") as out:
        out.write(json.dumps(checkout(4, None)) + "\n")

    writes, skipped = read_writes(path)

    assert [(w.id, w.ack_ns) for w in writes] == [("o-1", 15), ("o-4", None)]
    assert skipped == 4
    assert read_writes(tmp_path / "missing.jsonl") == ([], 0)


def test_ledger_json_has_the_counts_and_no_password() -> None:
    writes = (
        Write("a", "canary", 1, 10, 20),
        Write("b", "canary", 2, 30, 40),
        Write("c", "canary", 3, 50, None),
    )
    reconciliation = Reconciliation(writes, frozenset({"a", "c"}), t_fault_ns=100)

    data = reconciliation.to_json("postgresql://app:s3cret@db.example.com:5432/shop")

    assert data == {
        "acked": 2,
        "lost": 1,
        "in_doubt": 1,
        "never_acked": 0,
        "lost_after_fault": 0,
        "lost_ids": ["b"],
        "in_doubt_ids": ["c"],
        "lost_after_fault_ids": [],
        "discarded_by_restore": 0,
        "discarded_by_restore_ids": [],
        "checked_against": "postgresql://app:***@db.example.com:5432/shop",
    }
    assert json.loads(json.dumps(data)) == data

"""The audit trail: who did what, and never a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drdrill.records.audit import AuditTrail
from drdrill.support import jsonl
from drdrill.support.redaction import REDACTED, redact


def test_records_are_appended_as_json_lines_with_actor_and_outcome(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit.jsonl", who="ops@host")
    trail.record("promote_database", target="lab", outcome="started", parameters={"region": "dr"})
    trail.record("promote_database", target="lab", outcome="succeeded", duration_s=0.12)

    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]

    assert [x["outcome"] for x in lines] == ["started", "succeeded"]
    assert lines[0]["actor"] == "ops@host"
    assert lines[0]["parameters"] == {"region": "dr"}
    assert lines[1]["duration_s"] == 0.12
    assert lines[0]["time"].endswith("Z")


def test_secrets_are_redacted_by_key_and_inside_urls(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit.jsonl", who="ops@host")
    trail.record(
        "repoint_applications",
        target="aws-prod",
        outcome="started",
        parameters={
            "DATABASE_URL": "postgresql://admin:hunter2@db.example.com:5432/shop",
            "dsn": "host=db user=admin password=hunter2",
            "aws_secret_access_key": "AKIAxyz",
            "nested": {"SessionToken": "tok", "region": "us-west-2"},
        },
    )

    text = (tmp_path / "audit.jsonl").read_text()

    assert "hunter2" not in text
    assert "AKIAxyz" not in text
    assert '"tok"' not in text
    assert "us-west-2" in text
    assert "postgresql://admin:***@db.example.com" in text


def test_redact_leaves_plain_values_alone() -> None:
    plain = {"region": "dr", "replicas": 3, "ids": ["a", "b"], "passed": True, "author": "x"}
    assert redact(plain) == plain
    assert redact("x", key="password") == REDACTED


def test_no_secret_carrier_reaches_the_trail_and_datetimes_are_iso(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit.jsonl", who="ops@host")
    env = [
        {"name": "DATABASE_URL", "value": "postgresql://:s3cr@t@db.example.com/shop"},
        {"name": "DB_PASSWORD", "value": "pw with spaces"},
    ]
    trail.record(
        "kubernetes:patch_namespaced_deployment",
        target="aws-prod",
        outcome="failed",
        parameters={"name": "order-service", "body": {"env": env}},
        error=f"HTTP 422: {json.dumps({'env': env})} (PGPASSWORD=hunter2, Bearer abc.def1)",
        restore_time=datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
    )

    text = (tmp_path / "audit.jsonl").read_text()
    (record,) = jsonl.read(tmp_path / "audit.jsonl").records

    for secret in ("s3cr@t", "pw with spaces", "hunter2", "abc.def1"):
        assert secret not in text
    assert "db.example.com/shop" in text and "order-service" in text
    assert record["restore_time"] == "2026-11-24T10:30:00+00:00"


def test_a_record_after_a_torn_line_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"action": "fail_region", "outc')  # the writer was killed mid-line
    AuditTrail(path, who="ops@host").record("promote_database", target="lab", outcome="started")

    found = jsonl.read(path)

    assert [r["action"] for r in found.records] == ["promote_database"]
    assert found.skipped == 1


def test_a_record_that_cannot_be_written_raises_except_during_a_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, who="ops@host")
    path.mkdir()  # now no line can be appended to it: as on a full disk, an OSError

    with pytest.raises(OSError):
        trail.record("fail_region", target="lab", outcome="started")
    with trail.best_effort():
        trail.record("fail_back", target="lab", outcome="started")

    assert [r["action"] for r in trail.records()] == ["fail_back"]
    assert "audit record 'fail_back' not written to" in capsys.readouterr().err
    with pytest.raises(OSError):  # outside the rollback it raises again
        trail.record("fail_region", target="lab", outcome="started")

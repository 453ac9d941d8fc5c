"""The twin's CloudTrail reader: RDS calls out of moto's recorder lines, hand-made here
in the recorder's own shape (headers, url, body; base64 when it was bytes)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from drdrill.targets.twin.trail import RdsCall, TrailReader, rds_calls


def _line(service: str, region: str, form: dict[str, str], *, encoded: bool = True) -> bytes:
    body = urlencode(form)
    auth = (
        f"AWS4-HMAC-SHA256 Credential=drdrill-twin/20261130/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    )
    entry = {
        "headers": {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
        "method": "POST",
        "url": "http://127.0.0.1:23600/",
        "body": base64.b64encode(body.encode()).decode() if encoded else body,
        "body_encoded": encoded,
    }
    return json.dumps(entry).encode() + b"\n"


def test_rds_calls_are_read_with_their_region_and_parameters_in_order() -> None:
    when = datetime(2026, 11, 30, 11, 40, 1, 123456, tzinfo=UTC)
    lines = (
        _line("rds", "us-east-1", {"Action": "CreateDBSnapshot", "Version": "2014-10-31",
                                   "DBInstanceIdentifier": "shop-primary-db",
                                   "DBSnapshotIdentifier": "nightly"})
        + _line("route53", "us-east-1", {"Action": "ChangeResourceRecordSets"})
        + b"not json at all /rds/aws4_request\n"
        + _line("rds", "us-west-2", {"Action": "RestoreDBInstanceToPointInTime",
                                     "SourceDBInstanceIdentifier": "shop-primary-db",
                                     "TargetDBInstanceIdentifier": "pitr-restore",
                                     "RestoreTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
                encoded=False)
    )  # fmt: skip

    calls = rds_calls(lines)

    assert calls == [
        RdsCall(
            "CreateDBSnapshot",
            "us-east-1",
            {"DBInstanceIdentifier": "shop-primary-db", "DBSnapshotIdentifier": "nightly"},
        ),
        RdsCall(
            "RestoreDBInstanceToPointInTime",
            "us-west-2",
            {
                "SourceDBInstanceIdentifier": "shop-primary-db",
                "TargetDBInstanceIdentifier": "pitr-restore",
                "RestoreTime": "2026-11-30T11:40:01.123456Z",
            },
        ),
    ]
    assert datetime.fromisoformat(calls[1].parameters["RestoreTime"]) == when


def test_the_reader_skips_what_came_before_it_and_waits_for_a_complete_line(
    tmp_path: Path,
) -> None:
    trail = tmp_path / "control-plane-trail.jsonl"
    seeded = _line("rds", "us-east-1", {"Action": "CreateDBInstance"})
    trail.write_bytes(seeded)
    reader = TrailReader(trail)
    promote = _line("rds", "us-west-2", {"Action": "PromoteReadReplica",
                                         "DBInstanceIdentifier": "shop-dr-db"})  # fmt: skip

    with trail.open("ab") as file:
        file.write(promote[:40])  # moto is still writing it
    assert reader.new_calls() == []
    with trail.open("ab") as file:
        file.write(promote[40:])
    assert reader.new_calls() == [
        RdsCall("PromoteReadReplica", "us-west-2", {"DBInstanceIdentifier": "shop-dr-db"})
    ]
    assert reader.new_calls() == []  # each call is an event once


def test_no_trail_yet_is_no_calls(tmp_path: Path) -> None:
    assert TrailReader(tmp_path / "absent.jsonl").new_calls() == []

"""The twin's trail (moto's request recorder log) read as the calls it was told, from
hand-made lines in the recorder's format: what the controller follows the planned
failback by, and what tells it a service's state changed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from drdrill.targets.twin.trail import Trail, parse_calls


def _line(
    service: str,
    region: str,
    body: str = "",
    *,
    method: str = "POST",
    url: str = "http://127.0.0.1:23600/",
    encoded: bool = False,
    target: str | None = None,
) -> bytes:
    headers = {
        "Host": "127.0.0.1:23600",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=drdrill-twin/20261130/{region}/{service}/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
        ),
    }
    if target is not None:
        headers["X-Amz-Target"] = target
    text = base64.b64encode(body.encode()).decode() if encoded else body
    entry = {"headers": headers, "method": method, "url": url, "body": text}
    entry["body_encoded"] = encoded
    return json.dumps(entry).encode() + b"\n"


FENCE = (
    "Action=ModifyDBParameterGroup&Version=2014-10-31&DBParameterGroupName=shop-dr-db-params"
    "&Parameters.Parameter.1.ParameterName=default_transaction_read_only"
    "&Parameters.Parameter.1.ParameterValue=1&Parameters.Parameter.1.ApplyMethod=immediate"
)
REPLICA = (
    "Action=CreateDBInstanceReadReplica&Version=2014-10-31&DBInstanceIdentifier=shop-primary-"
    "db-new&SourceDBInstanceIdentifier=arn%3Aaws%3Ards%3Aus-west-2%3A123456789012%3Adb%3Ashop-"
    "dr-db&MultiAZ=true"
)


def test_a_query_call_is_read_with_its_service_region_action_and_parameters() -> None:
    [replica, fence] = parse_calls(
        _line("rds", "us-east-1", REPLICA) + _line("rds", "us-west-2", FENCE, encoded=True)
    )

    assert (replica.service, replica.region, replica.action) == (
        "rds",
        "us-east-1",
        "CreateDBInstanceReadReplica",
    )
    assert replica.param("DBInstanceIdentifier") == "shop-primary-db-new"
    assert replica.param("SourceDBInstanceIdentifier").endswith(":db:shop-dr-db")
    assert replica.param("Version") == ""  # (Action and Version are not parameters)
    assert fence.region == "us-west-2"
    assert fence.members("Parameters.Parameter") == [
        {
            "ParameterName": "default_transaction_read_only",
            "ParameterValue": "1",
            "ApplyMethod": "immediate",
        }
    ]
    assert replica.changes and fence.changes


def test_reads_and_writes_of_every_protocol_are_told_apart() -> None:
    calls = parse_calls(
        _line("rds", "us-east-1", "Action=DescribeDBInstances&DBInstanceIdentifier=x")
        + _line(
            "route53", "us-east-1", "", method="GET", url="http://h/2013-04-01/hostedzone/Z/rrset"
        )
        + _line("route53", "us-east-1", "<ChangeResourceRecordSetsRequest/>", url="http://h/rrset/")
        + _line("eks", "us-west-2", '{"scalingConfig": {"desiredSize": 0}}')
        + _line(
            "monitoring",
            "us-east-1",
            "{}",
            target="GraniteServiceVersion20100801.GetMetricStatistics",
        )
        + _line(
            "monitoring", "us-east-1", "{}", target="GraniteServiceVersion20100801.PutMetricData"
        )
    )

    assert [(c.service, c.action, c.changes) for c in calls] == [
        ("rds", "DescribeDBInstances", False),
        ("route53", "", False),
        ("route53", "", True),
        ("eks", "", True),
        ("monitoring", "GetMetricStatistics", False),
        ("monitoring", "PutMetricData", True),
    ]
    # a REST body that merely contains "Action=" is not taken for a form
    assert parse_calls(_line("route53", "us-east-1", "<Action>UPSERT</Action>=x"))[0].params == {}


def test_unreadable_and_unsigned_lines_are_skipped() -> None:
    unsigned = json.dumps({"headers": {}, "method": "POST", "url": "/", "body": "Action=X"})
    not_utf8 = json.dumps(
        {"headers": {}, "method": "POST", "url": "/", "body": "/w==", "body_encoded": True}
    )
    lines = [b"not json", unsigned.encode(), not_utf8.encode(), b"[1, 2]"]

    calls = parse_calls(b"\n".join(lines) + b"\n" + _line("rds", "eu-west-1", REPLICA))

    assert [(c.region, c.action) for c in calls] == [("eu-west-1", "CreateDBInstanceReadReplica")]


def test_the_trail_is_read_from_where_it_ended_and_a_half_written_line_waits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trail.jsonl"
    assert Trail(path).read() is None  # (no trail: nothing can be told from it)
    path.write_bytes(_line("rds", "us-east-1", REPLICA))
    trail = Trail(path)  # made after the seed: what is there already was not asked of it
    assert trail.read() == []

    whole = _line("rds", "us-west-2", FENCE)
    with path.open("ab") as file:
        file.write(whole[:40])
    assert trail.read() == []
    with path.open("ab") as file:
        file.write(whole[40:])
    [fence] = trail.read() or []
    assert fence.action == "ModifyDBParameterGroup"
    assert trail.read() == []

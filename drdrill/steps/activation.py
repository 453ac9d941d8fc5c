"""Steps of the DR activation checklist: all of it, or one phase at a time."""

from __future__ import annotations

import time

from pytest_bdd import when

from drdrill.drill import Drill
from drdrill.http import call
from drdrill.targets.base import ServiceCheck


@when("the DR team runs the DR activation")
def run_activation(drill: Drill) -> None:
    journal = drill.activate()
    failed = [r["activity"]["name"] for r in journal["run"] if r["status"] != "succeeded"]
    assert journal["status"] == "completed" and not failed, (
        f"DR activation failed: status {journal['status']}, failed phases {failed}"
    )


@when("the DNS records fail over to the DR region")
def dns_failover(drill: Drill) -> None:
    with drill.phase("dns_failover"):
        drill.target.fail_over_dns("dr")
        # propagation: the phase ends when clients are answered from dr (record TTL)
        deadline = time.monotonic() + 60
        while (
            call("GET", f"{drill.target.endpoint()}/health").headers.get("x-drdrill-region") != "dr"
        ):
            assert time.monotonic() < deadline, "DNS failover did not propagate within 60 s"
            time.sleep(0.05)


@when("the DR database is promoted")
def promote(drill: Drill) -> None:
    with drill.phase("database_promotion"):
        drill.target.promote_database("dr")


@when("the DR region's services are verified", target_fixture="verification")
def verify_dr(drill: Drill) -> ServiceCheck:
    with drill.phase("service_verification"):
        return drill.target.verify_services("dr")

"""Steps of the DR activation checklist: all of it, or one phase at a time."""

from __future__ import annotations

from pytest_bdd import when

from drdrill.orchestration.drill import Drill
from drdrill.support.wait import wait_until
from drdrill.targets.base import RoutingObserver, ServiceCheck


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
        # propagation: the phase ends when clients are answered from dr (record TTL);
        # a target that cannot tell which region answers ends it with the record change
        if isinstance(drill.target, RoutingObserver):
            routing = drill.target
            wait_until(lambda: routing.answering_region() == "dr", 60, "DNS failover to propagate")


@when("the DR database is promoted")
def promote(drill: Drill) -> None:
    with drill.phase("database_promotion"):
        drill.target.promote_database("dr")


@when("the DR region's services are verified", target_fixture="verification")
def verify_dr(drill: Drill) -> ServiceCheck:
    with drill.phase("service_verification"):
        return drill.target.verify_services("dr")

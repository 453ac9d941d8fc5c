"""``drdrill plan full|partial --target PROFILE``: the tabletop runbook, executed nowhere.

Every call of the DR activation, resolved against the real configuration, with
its parameters — the plan's tabletop exercise. Nothing is mutated: the target
runs in dry-run mode, which records calls instead of making them.
"""

from __future__ import annotations

import argparse
from typing import Any

from drdrill.config import load_config
from drdrill.phases import ACTIVATION_PHASES
from drdrill.targets import open_target

__all__ = ["register"]


def _plan(args: argparse.Namespace) -> int:
    config = load_config(args.drill_config)
    profile = config.target(args.target)
    print(f"DR activation runbook for target {args.target} ({profile.kind}); nothing is executed")
    if profile.kind == "lab":
        lab = config.lab
        steps = {
            "assessment": "confirm region primary is down (3 checks through its gateway)",
            "dns_failover": "edge UPSERT: PRIMARY -> dr, SECONDARY -> primary",
            "scale_dr": f"dr order-service workers {lab.dr_workers} -> {lab.dr_scaled_workers}",
            "database_promotion": "pg_promote() on the dr standby",
            "repoint_applications": "POST /_admin/database on every dr worker (dr database)",
            "service_verification": "health + place/read order + browse through the edge",
        }
        for phase in ACTIVATION_PHASES:
            print(f"{phase.number}. {phase.title}: {steps[phase.name]}")
        return 0
    from drdrill.targets.aws.target import AwsTarget

    target = open_target(config, args.target, dry_run=True)
    assert isinstance(target, AwsTarget)
    dr = target.profile.regions["dr"]
    actions = {
        "assessment": lambda: print("   read-only: Route 53 health-check status, HTTP checks"),
        "dns_failover": lambda: target.fail_over_dns("dr"),
        "scale_dr": lambda: target.scale_region("dr", dr.replicas),
        "database_promotion": lambda: target.promote_database("dr"),
        "repoint_applications": lambda: target.repoint_applications("dr", "dr"),
        "service_verification": lambda: print(f"   read-only: HTTP checks of {target.endpoint()}"),
    }
    for phase in ACTIVATION_PHASES:
        if args.kind == "partial" and phase.name not in (
            "dns_failover",
            "database_promotion",
            "service_verification",
        ):
            continue
        before = len(target.plan)
        print(f"{phase.number}. {phase.title}")
        actions[phase.name]()
        for call in target.plan[before:]:
            print(f"   {call}")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("plan", help="print the resolved DR runbook; execute nothing")
    parser.add_argument("kind", choices=["full", "partial"])
    parser.add_argument("--target", default="lab", help="target profile (default: lab)")
    parser.set_defaults(func=_plan)

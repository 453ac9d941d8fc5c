"""``drdrill check``: readiness between drills — would the next activation work?

Runs every readiness check against the target without failing anything, prints one
line per check, appends the result to ``reports/history.jsonl`` (kind ``readiness``)
so the trend shows drift between drills, and exits 1 when something would break the
next activation. Refused (exit 2) while a drill on the target is abandoned: run
``drdrill recover`` first.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def _check(args: argparse.Namespace) -> int:
    # What a check needs is imported here, once it is known to run: a lab check loads
    # neither the AWS modules (boto3, chaostoolkit-aws) nor the drill's.
    from drdrill.config import load_config
    from drdrill.orchestration.journal import refuse_if_abandoned
    from drdrill.orchestration.readiness import check_readiness
    from drdrill.report.history import append_history_line
    from drdrill.stock import experiments_for
    from drdrill.targets import open_target

    config = load_config(args.drill_config)
    refuse_if_abandoned(config, args.target)  # it would judge a platform left mid-drill
    kind = config.target(args.target).kind
    target = open_target(config, args.target, dry_run=args.target != "lab")
    report = check_readiness(target, config, experiments_for(kind))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    append_history_line(report.to_json(), config.reports_dir)
    return 0 if report.ready else 1


def register(sub: Any) -> None:
    """Add ``drdrill check`` to the command line."""
    parser = sub.add_parser("check", help="readiness between drills: would the next one work?")
    parser.add_argument("--target", default="lab", help="target profile (default: lab)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(func=_check)

"""``drdrill watch``: measure outages and lost writes on any endpoint."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from drdrill.config import load_config
from drdrill.errors import ConfigError, LabError
from drdrill.watch import watch

__all__ = ["register"]


def _watch(args: argparse.Namespace) -> int:
    config = load_config(args.drill_config)
    if args.duration <= 0 or args.duration > 86400:
        raise ConfigError(f"--duration {args.duration}: expected 0 < seconds <= 86400")
    endpoint, dsn = args.endpoint, args.dsn
    if endpoint is None:
        from drdrill.lab import Lab

        lab = Lab.from_config(config)
        if not lab.is_running():
            raise LabError("no --endpoint given and the lab is not up; run `drdrill lab up`")
        endpoint = lab.edge_url
        dsn = dsn or lab.db_dsn("primary")
    result = watch(endpoint, args.duration, config.measurement, dsn).to_json()
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("watch", help="probe + canary an endpoint for a while")
    parser.add_argument("--endpoint", help="URL (default: the running lab's edge)")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the result here")
    parser.add_argument("--dsn", help="database to check the write ledger against")
    parser.set_defaults(func=_watch)

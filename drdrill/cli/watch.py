"""``drdrill watch``: measure outages and lost writes on any endpoint."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from drdrill.errors import ConfigError, DrillError, LabError
from drdrill.support.redaction import redact

__all__ = ["register"]


def _writable(path: Path) -> Path:
    """``path`` once it is known the result can be written there (checked before the
    watch, so a typo does not throw a measurement away)."""
    folder = path.parent
    if path.is_dir():
        problem = "it is a directory"
    elif not folder.is_dir():
        problem = f"no directory {folder}"
    elif not os.access(path if path.exists() else folder, os.W_OK):
        problem = "permission denied"
    else:
        return path
    raise ConfigError(f"--json {path}: cannot write the result there ({problem})")


def _watch(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.observation.endpoint_watch import check_duration, watch

    check_duration(args.duration)
    config = load_config(args.drill_config)
    output = _writable(Path(args.json)) if args.json else None
    endpoint, dsn = args.endpoint, args.dsn
    if endpoint is None:
        from drdrill.lab import Lab

        lab = Lab.from_config(config)
        if not lab.is_running():
            raise LabError("no --endpoint given and the lab is not up; run `drdrill lab up`")
        endpoint = lab.edge_url
        dsn = dsn or lab.db_dsn("primary")
    result = watch(endpoint, args.duration, config.measurement, dsn)
    text = json.dumps(redact(result.to_json()), indent=2)
    print(text)  # what was measured is out before anything else can fail
    if output is not None:
        try:
            output.write_text(text + "\n")
        except OSError as exc:
            raise ConfigError(f"--json {output}: cannot write the result: {exc}") from exc
    if result.ledger_error is not None:
        print(f"drdrill: error: the ledger was not checked: {result.ledger_error}", file=sys.stderr)
        return 1
    return 0


def _redacted(args: argparse.Namespace) -> int:
    # a DSN or an endpoint may carry a password: no message of this command shows it
    try:
        return _watch(args)
    except DrillError as exc:
        raise type(exc)(str(redact(str(exc)))) from exc


def register(sub: Any) -> None:
    parser = sub.add_parser("watch", help="probe + canary an endpoint for a while")
    parser.add_argument("--endpoint", help="URL (default: the running lab's edge)")
    parser.add_argument(
        "--duration", type=float, required=True, help="seconds (0 < seconds <= 86400)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the result here")
    parser.add_argument("--dsn", help="database to check the write ledger against")
    parser.set_defaults(func=_redacted)

"""The ``drdrill`` command line: a thin layer over the library.

Each command group lives in its own module exposing ``register(subparsers)``;
the handler it sets (``func``) takes the parsed arguments and returns an exit
code. A ``DrillError`` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from drdrill.errors import DrillError
from drdrill.redaction import redact

__all__ = ["build_parser", "main"]

# Command modules, in the order their commands appear in --help.
_COMMANDS = ("lab", "check", "watch", "run", "abort", "recover", "plan", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drdrill",
        description="Disaster-recovery drills that measure the real RTO and RPO.",
    )
    parser.add_argument(
        "--drill-config",
        metavar="PATH",
        default=None,
        help="drill configuration (default: ./drdrill.yaml if present, else built-in defaults)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"drdrill.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"drdrill.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``drdrill`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except DrillError as exc:
        print(f"drdrill: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("drdrill: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

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
from typing import Any

from drdrill.errors import DrillError
from drdrill.support.redaction import redact

__all__ = ["build_parser", "main"]

# Command modules, in the order their commands appear in --help.
_COMMANDS = ("lab", "check", "watch", "run", "abort", "recover", "plan", "report")


_DRILL_CONFIG_HELP = (
    "drill configuration (default: ./drdrill.yaml if present, else built-in defaults)"
)


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: takes ``--drill-config`` too, so it may follow the command
    (``drdrill check --drill-config F``) as well as precede it. Unset there, it leaves
    the value given before the command alone. Nested commands (``lab status``) are of
    this class too: argparse makes a parser's sub-parsers of its own class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument(
            "--drill-config", metavar="PATH", default=argparse.SUPPRESS, help=_DRILL_CONFIG_HELP
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drdrill",
        description="Disaster-recovery drills that measure the real RTO and RPO.",
    )
    parser.add_argument("--drill-config", metavar="PATH", default=None, help=_DRILL_CONFIG_HELP)
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )
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

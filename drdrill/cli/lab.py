"""``drdrill lab up|down|status|fail|restore``: the local two-region lab.

Every command that changes the lab holds the lab's lock (``drdrill.support.lock``): a second
one, or one during a drill, is refused at once naming who holds the lab.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from drdrill.lab.topology import FAILURE_MODES

if TYPE_CHECKING:
    from drdrill.lab import Lab

__all__ = ["register"]


def _lab(args: argparse.Namespace) -> Lab:
    from drdrill.config import load_config
    from drdrill.lab import Lab

    return Lab.from_config(load_config(args.drill_config))


@contextmanager
def _locked(args: argparse.Namespace, command: str) -> Iterator[Lab]:
    """The lab, with its lock held for ``command``."""
    from drdrill.config import load_config
    from drdrill.lab import Lab
    from drdrill.targets import target_lock

    config = load_config(args.drill_config)
    with target_lock(config, "lab", command=f"drdrill lab {command}"):
        yield Lab.from_config(config)


def _locking(command: str, act: Callable[[Lab, argparse.Namespace], str]) -> Any:
    def run(args: argparse.Namespace) -> int:
        with _locked(args, command) as lab:
            print(act(lab, args))
        return 0

    return run


def _up(lab: Lab, args: argparse.Namespace) -> str:
    status = lab.up()
    return f"lab up in {status.get('up_seconds')} s: edge {status['edge']}"


def _down(lab: Lab, args: argparse.Namespace) -> str:
    lab.down()
    return "lab down: no process, port or file of the lab remains"


def _status(args: argparse.Namespace) -> int:
    status = _lab(args).status()
    if args.json:
        print(status.to_json())
    else:
        _print_status(status)
    return 0


def _print_status(status: dict[str, Any]) -> None:
    print(f"lab: {'running' if status['running'] else 'down'}  edge: {status['edge']}")
    for name, region in status["regions"].items():
        failure = f"  FAILED ({region['failure']})" if region["failure"] else ""
        print(
            f"  {name:8} up={region['up']!s:5} db={region['db']['role']:8} "
            f"workers={len(region['app_urls'])}{failure}"
        )
    rep = status.get("replication") or {}
    stalled = f"  STALLED: {rep['stalled']}" if rep.get("stalled") else ""
    print(f"  replication: {rep.get('state')} lag={rep.get('lag_s')} s{stalled}")


def _fail(lab: Lab, args: argparse.Namespace) -> str:
    lab.fail_region(args.region, args.mode)
    return f"region {args.region} failed ({args.mode})"


def _restore(lab: Lab, args: argparse.Namespace) -> str:
    lab.restore_region(args.region)
    return f"region {args.region} restored"


def register(sub: Any) -> None:
    lab = sub.add_parser("lab", help="the local two-region lab (up, down, status, fail, restore)")
    cmds = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    cmds.add_parser("up", help="bring the lab up").set_defaults(func=_locking("up", _up))
    cmds.add_parser("down", help="stop the lab and remove its state").set_defaults(
        func=_locking("down", _down)
    )
    status = cmds.add_parser("status", help="what runs, roles, replication")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(func=_status)
    fail = cmds.add_parser("fail", help="fail a region")
    fail.add_argument("region")
    fail.add_argument("--mode", default="power-off", help="|".join(FAILURE_MODES))
    fail.set_defaults(func=_locking("fail", _fail))
    restore = cmds.add_parser("restore", help="undo a region failure")
    restore.add_argument("region")
    restore.set_defaults(func=_locking("restore", _restore))

"""``drdrill abort``: the stop button from another terminal.

Sends SIGTERM to whoever holds the target's lock (a drill: the pytest session or
``drdrill run``, which passes it on), which stops injecting and activating at once and
rolls back; then waits until the lock is free, i.e. the rollback has completed.
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

from drdrill.support.wait import poll

__all__ = ["register"]


def _abort(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.orchestration.journal import abandoned_error, is_abandoned, journal_path, read
    from drdrill.targets import target_lock

    config = load_config(args.drill_config)
    lock = target_lock(config, args.target, command="drdrill abort")
    holder = lock.holder()
    if holder is None:
        print(f"drdrill: nothing to abort: no drill or lab command holds target {args.target}")
        journal = read(journal_path(config, args.target))
        if is_abandoned(journal):
            assert journal is not None
            print(f"drdrill: {abandoned_error(journal)}")
        return 0
    print(f"drdrill: aborting {holder.describe()}; it rolls back now", flush=True)
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        return 0
    released = poll(lambda: True if lock.holder() is None else None, args.wait, interval_s=0.2)
    if released is None:
        print(
            f"drdrill: {holder.describe()} still holds target {args.target} after "
            f"{args.wait:g} s (its rollback may still run); `drdrill lab status` shows the lab"
        )
        return 1
    print(f"drdrill: aborted; target {args.target} rolled back and free")
    return 0


def register(sub: Any) -> None:
    """Add ``drdrill abort`` to the command line."""
    parser = sub.add_parser("abort", help="stop the running drill on a target; it rolls back")
    parser.add_argument("--target", default="lab", help="target profile (default: lab)")
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the rollback (default 60)"
    )
    parser.set_defaults(func=_abort)

"""``drdrill recover``: put back a drill whose process died, from its journal.

A drill killed outright (``kill -9`` of ``drdrill run`` and its pytest, a crash of the
machine's OOM killer taking both) leaves its target as the drill had it: a region failed,
DR half-activated, Locust still loading the edge. Its journal says so
(``drdrill.orchestration.journal``), and every command that could change the target refuses to
start until this one has ended the drill's processes, failed the target back, recorded
the drill as ``aborted`` with the cause, and cleared the journal
(``drdrill.orchestration.recovery``). Exit 0 when it did (or there was nothing to recover), 2 when
the drill still runs or the rollback or its record failed (the journal is then kept).
"""

from __future__ import annotations

import argparse
from typing import Any

from drdrill.errors import SafetyError

__all__ = ["register"]


def _recover(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.orchestration.journal import is_abandoned, journal_path, read
    from drdrill.orchestration.recovery import recover
    from drdrill.targets import LOCAL_KINDS, target_lock

    config = load_config(args.drill_config)
    kind = config.target(args.target).kind
    if kind not in LOCAL_KINDS and not args.confirm:
        raise SafetyError(
            f"target {args.target!r} is not the lab: pass --confirm to roll its drill back. "
            "Nothing was changed"
        )
    with target_lock(config, args.target, command="drdrill recover", refuse_abandoned=False):
        journal = read(journal_path(config, args.target))
        if journal is None or journal.done:
            print(f"drdrill: nothing to recover: no unfinished drill on target {args.target}")
            return 0
        if not is_abandoned(journal):
            print(
                f"drdrill: drill {journal.drill_id} is still running (pid "
                f"{journal.holder.pid}, state {journal.state}); stop it with `drdrill abort`"
            )
            return 2
        print(
            f"drdrill: recovering drill {journal.drill_id}, abandoned in state {journal.state} "
            f"at {journal.updated}: ending its processes, rolling back {args.target}",
            flush=True,
        )
        cause = (
            f"its process (pid {journal.holder.pid}) died in state {journal.state} "
            "before rolling back; recovered by `drdrill recover`"
        )
        recovery = recover(config, journal, cause, confirm=args.confirm)
    print(f"drdrill: {recovery.line()}")
    return 0


def register(sub: Any) -> None:
    """Add ``drdrill recover`` to the command line."""
    parser = sub.add_parser(
        "recover", help="roll back and record a drill whose process died (abandoned)"
    )
    parser.add_argument("--target", default="lab", help="target profile (default: lab)")
    parser.add_argument(
        "--confirm", action="store_true", help="allow rolling back a non-lab target"
    )
    parser.set_defaults(func=_recover)

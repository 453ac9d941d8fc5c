"""Who approved a drill: recorded before the fault on every target that is not the lab.

The plan's audit trail asks for the actions taken "and by whom"; for a drill against a
real platform that includes who approved it. ``drdrill run ... --approved-by NAME`` (and
pytest's ``--approved-by``, next to ``--confirm``) names the approver; without it, a run
on a terminal asks for the name, and a run without one (CI, a pipe) is refused before
anything is touched (``SafetyError``: exit code 2). The lab needs no approval; a dry run
changes nothing and needs none either. The drill records the approver in its audit trail
(``drill_approved``, before the fault) and in its summary (``approved_by``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from drdrill.config import DrillConfig
from drdrill.errors import SafetyError
from drdrill.targets import LOCAL_KINDS

__all__ = ["MAX_LENGTH", "Terminal", "approver", "ask_approver", "needs_approval", "refusal"]

MAX_LENGTH = 200


class Terminal(Protocol):
    """What asking needs of stdin (``sys.stdin``)."""

    def isatty(self) -> bool: ...

    def readline(self) -> str: ...


def needs_approval(config: DrillConfig, target: str, *, confirm: bool, dry_run: bool) -> bool:
    """Whether a drill on ``target`` needs a named approver: a target that is not the lab,
    drilled for real (``--confirm``; without it nothing is mutated and the target's own
    interlock refuses the drill). The lab and the AWS twin live on this machine: no
    approver."""
    return config.target(target).kind not in LOCAL_KINDS and confirm and not dry_run


def approver(name: str) -> str:
    """``name`` as recorded: one line of printable text, blanks collapsed, at most
    ``MAX_LENGTH`` characters; ``SafetyError`` when nothing is left."""
    cleaned = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", name).split())[:MAX_LENGTH]
    if not cleaned:
        raise SafetyError("--approved-by needs a name: who approved this drill")
    return cleaned


def refusal(target: str) -> SafetyError:
    """The error of a drill on a non-lab target that has no approver and cannot ask."""
    return SafetyError(
        f"target {target!r} is not the lab: a drill on it records who approved it before the "
        "fault; pass --approved-by NAME, or run it from a terminal to be asked. Nothing was "
        "changed"
    )


def ask_approver(
    stdin: Terminal, *, target: str, kind: str, say: Callable[..., object] = print
) -> str:
    """The approver's name, asked on ``stdin`` when it is a terminal (``say`` prints the
    question); else — or when nothing is answered — the refusal."""
    if not stdin.isatty():
        raise refusal(target)
    say(f"The {kind} drill on target {target!r} changes a real platform (not the lab).")
    say("Who approved it? (recorded in the audit trail and the report): ", end="", flush=True)
    answer = stdin.readline()
    if not answer.strip():
        raise refusal(target)
    return approver(answer)

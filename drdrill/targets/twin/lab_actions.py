"""The lab actions the twin's controller takes: each audited, each tried once.

A lab action is a bound callable of the lab (``lab.promote_database``) or of one of its
parts (``lab.backups().snapshot``). Every one the controller takes is audited as
``twin_follow`` with the signal that called for it and the action's name
(``lab_action``), which the drill's tests and docs read. A failed action is noted (the
step's ``follow_now`` raises it) and never tried again with the same arguments: the
drill sees the failure, not a loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from drdrill.errors import TargetError
from drdrill.lab import Lab
from drdrill.lab.state import LabState, load_state
from drdrill.records.audit import AuditTrail

__all__ = ["LabActions"]


class LabActions:
    """Takes the lab actions that follow the control plane, audited (module docstring),
    and reads the lab's state between them."""

    def __init__(self, lab: Lab, audit: AuditTrail | None, target_name: str) -> None:
        self.lab = lab
        self.audit = audit
        self.target_name = target_name
        self.errors: list[str] = []
        """What went wrong, oldest first (the controller raises what is new)."""
        self._given_up: set[tuple[Any, ...]] = set()

    def do(self, signal: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """The lab action ``action`` that follows ``signal``, audited; whether it was done.
        One that failed before with the same arguments is not tried again."""
        name = action.__name__
        # by name, not by callable: a part of the lab (its backups) is a new object each time
        key = (name, args, tuple(sorted(kwargs.items())))
        if key in self._given_up:
            return False
        started = time.monotonic()
        parameters = {
            "signal": signal,
            "lab_action": name,
            "args": [a.isoformat() if isinstance(a, datetime) else a for a in args],
            **kwargs,
        }
        try:
            action(*args, **kwargs)
        except Exception as exc:
            self._given_up.add(key)
            self.note_error(f"{name}{args} after {signal}: {exc}")
            self.record(parameters, "failed", error=str(exc))
            return False
        self.record(parameters, "succeeded", duration_s=round(time.monotonic() - started, 3))
        return True

    def record(self, parameters: dict[str, Any], outcome: str, **detail: Any) -> None:
        """One ``twin_follow`` line of the audit trail (none without a trail)."""
        if self.audit is not None:
            self.audit.record(
                "twin_follow",
                target=self.target_name,
                outcome=outcome,
                parameters=parameters,
                **detail,
            )

    def note_error(self, message: str) -> None:
        self.errors.append(message)

    def state(self) -> LabState:
        """The lab's state, read from its state file (not ``Lab.require_up``, which asks
        the OS about every lab process: too slow for every pass; a lab action that finds
        the lab down says so itself)."""
        state = load_state(self.lab.topology.state_file)
        if state is None or state.phase != "up":
            raise TargetError(f"the lab is not up (state file {self.lab.topology.state_file})")
        return state

"""The lab's calls as a target makes them: each mutating one audited before and after.

``AuditedLab`` holds the lab, the drill configuration and the audit trail; ``act`` runs
one lab call and writes it to the trail (started, then succeeded or failed, with its
duration). The ``lab`` target (``drdrill.targets.lab_target``) is built on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from drdrill.config import DrillConfig
from drdrill.lab import Lab
from drdrill.lab.objects import ObjectStore
from drdrill.records.audit import AuditTrail

__all__ = ["AuditedLab"]

T = TypeVar("T")


class AuditedLab:
    """The lab, driven for a drill: every mutating call is written to the audit trail."""

    name = "lab"

    def __init__(self, lab: Lab, config: DrillConfig, audit: AuditTrail | None = None) -> None:
        self.lab = lab
        self.config = config
        self.audit = audit
        self._store: ObjectStore | None = None

    def act(self, action: str, call: Callable[[], T], **parameters: Any) -> T:
        """``call``, audited as the lab's ``action`` (started, then succeeded or failed)."""
        if self.audit is not None:
            self.audit.record(action, target=self.name, outcome="started", parameters=parameters)
        started = time.monotonic()
        try:
            result = call()
        except Exception as exc:
            if self.audit is not None:
                self.audit.record(
                    action,
                    target=self.name,
                    outcome="failed",
                    parameters=parameters,
                    error=str(exc),
                    duration_s=round(time.monotonic() - started, 3),
                )
            raise
        if self.audit is not None:
            self.audit.record(
                action,
                target=self.name,
                outcome="succeeded",
                parameters=parameters,
                duration_s=round(time.monotonic() - started, 3),
            )
        return result

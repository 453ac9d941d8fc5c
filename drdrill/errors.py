"""The one exception tree of drdrill.

::

    DrillError                      anything drdrill raises on purpose
    ├── ConfigError                 bad config / experiment / feature value (file, key, value)
    ├── LabError                    the local lab: not up, already up, port taken, process died
    ├── TargetError                 a target call failed (region, resource id)
    │   ├── SafetyError             refused: account not allow-listed, --confirm missing
    │   ├── CapabilityMissing       the target cannot do what a step needs (step skipped)
    │   └── UnknownRegionError      a region name the target does not have
    ├── RestoreError                a backup / PITR / snapshot restore was refused or failed
    ├── ReportError                 a report or the history cannot be written (path, OS error)
    ├── LoadError                   the Locust load process could not start or died
    ├── ActivationFailed            a DR activation phase failed: the activation stopped there
    ├── DrillAborted                the drill was stopped (abort, stop condition): rolled back
    ├── DrillAbandoned              a drill's process died before its rollback: `drdrill recover`
    ├── ReportSpaceError            too little free space for the reports: drill not started
    ├── RollbackIncomplete          the platform could not be put back without risking data
    └── MeasurementError            the data cannot support a figure (no fault, no samples)

Library errors are wrapped once, at the boundary, with ``raise ... from exc``.
The CLI turns a ``DrillError`` into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

from drdrill.support.redaction import redact_strictly

__all__ = [
    "ActivationFailed",
    "CapabilityMissing",
    "ConfigError",
    "DrillAbandoned",
    "DrillAborted",
    "DrillError",
    "LabError",
    "LoadError",
    "MeasurementError",
    "ReportError",
    "ReportSpaceError",
    "RestoreError",
    "RollbackIncomplete",
    "SafetyError",
    "TargetError",
    "UnknownRegionError",
]


class DrillError(Exception):
    """Base of every error drdrill raises on purpose."""


class ConfigError(DrillError):
    """A configuration, experiment or feature value is invalid.

    The message names the file, the key, the value and what was expected.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        # a message may quote the file's values: its secrets (passwords, tokens, routing
        # keys, a webhook URL's path) are masked here, once for every configuration error
        message = redact_strictly(message)
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class LabError(DrillError):
    """The local lab cannot do what was asked (not up, already up, port taken...)."""


class TargetError(DrillError):
    """A call against a target failed."""

    def __init__(
        self, message: str, *, region: str | None = None, resource: str | None = None
    ) -> None:
        self.region = region
        self.resource = resource
        context = ", ".join(
            f"{k}={v}" for k, v in (("region", region), ("resource", resource)) if v
        )
        super().__init__(f"{message} ({context})" if context else message)


class SafetyError(TargetError):
    """A mutating call was refused by a safety interlock."""


class CapabilityMissing(TargetError):
    """The target lacks an optional capability a step needs: the step is skipped with
    this message, never failed (a partial drill on AWS has no ransomware button)."""


class UnknownRegionError(TargetError):
    """The target has no region of that name."""


class RestoreError(DrillError):
    """A restore (snapshot, point in time, object version) was refused or failed."""


class ReportError(DrillError):
    """A report or the history cannot be written (a read-only or missing reports dir)."""


class LoadError(DrillError):
    """The Locust load process could not be started, or it died on its own."""


class ActivationFailed(DrillError):
    """A DR activation phase failed; the phases after it did not run. The drill fails."""


class DrillAborted(DrillError):
    """The drill was stopped on purpose (``drdrill abort``, a stop condition): it rolls back
    and is recorded as ``aborted``."""


class DrillAbandoned(DrillError):
    """A drill's process died before it rolled back (its journal is not ``done`` and its
    holder is gone): every command that could change its target is refused until
    ``drdrill recover`` has rolled it back and recorded it."""


class ReportSpaceError(DrillError):
    """The reports directory has too little free space for a drill's evidence: the drill
    is refused before its fault (a disk that fills mid-drill loses the record)."""


class RollbackIncomplete(DrillError):
    """A target's fail back (a drill's rollback) stopped short of the steady state: the
    reason, and that the data was left intact for a human (nothing re-created)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"rollback incomplete: {reason}; data left intact for a human")


class MeasurementError(DrillError):
    """The recorded data cannot support the figure asked for."""

"""The plan's DR activation and failback phases, in order, with the config key of each target.

One list that the experiments, ``drdrill plan`` (the tabletop runbook), the
metrics table and the verdicts all read, so a phase has the same name everywhere.

A phase done in steps (the failback's traffic shift: 10 %, 50 %, 100 %) is run as
one activity per step, named ``<phase>_<percent>pct``; each step is timed on its
own, and the phase lasts from its first step's start to its last step's end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ACTIVATION_PHASES",
    "ALL_PHASES",
    "FAILBACK_PHASES",
    "RESTORE_PHASES",
    "STEPPED_PHASES",
    "Phase",
    "is_timed",
    "split_step",
    "step_name",
]


@dataclass(frozen=True)
class Phase:
    """One phase of the DR activation checklist."""

    number: int
    name: str
    """Machine name; also the ``PhaseTargets`` field holding its target."""
    title: str
    """As the plan's checklist and metrics table say it."""
    action: str
    """The target-protocol call this phase performs."""


ACTIVATION_PHASES: tuple[Phase, ...] = (
    Phase(1, "assessment", "Assessment", "confirm_region_down"),
    Phase(2, "dns_failover", "DNS Failover", "fail_over_dns"),
    Phase(3, "scale_dr", "Scale DR Infrastructure", "scale_region"),
    Phase(4, "database_promotion", "Database Promotion", "promote_database"),
    Phase(5, "repoint_applications", "Update Application Configuration", "repoint_applications"),
    Phase(6, "service_verification", "Service Verification", "verify_services"),
)

RESTORE_PHASES: tuple[Phase, ...] = (
    Phase(7, "database_restore", "Database Restore", "restore_to_point_in_time"),
)
"""Phases of the data-disaster drills (corruption, ransomware) beyond the activation."""

FAILBACK_PHASES: tuple[Phase, ...] = (
    Phase(1, "prepare_primary", "Prepare Primary Region", "rebuild_database"),
    Phase(2, "verify_primary", "Verify Primary Region", "check_consistency"),
    Phase(3, "traffic_shift", "Gradual Traffic Shift", "shift_traffic"),
    Phase(4, "switchover", "Database Switchover", "switchover"),
    Phase(5, "scale_down_dr", "Scale Down DR Region", "scale_down_region"),
    Phase(6, "validate_dr", "Validate DR Readiness", "validate_standby"),
)
"""The plan's Failback Procedures (its day plan), the database switchover made explicit."""

STEPPED_PHASES: frozenset[str] = frozenset({"traffic_shift"})
"""Phases run as one activity per step (see the module docstring)."""

ALL_PHASES: tuple[Phase, ...] = ACTIVATION_PHASES + RESTORE_PHASES + FAILBACK_PHASES

_NAMES = frozenset(p.name for p in ALL_PHASES)
_STEP = re.compile(r"^(?P<phase>[a-z_]+)_(?P<percent>\d{1,3})pct$")


def step_name(phase: str, percent: int) -> str:
    """The activity name of one step of a stepped phase (``traffic_shift_10pct``)."""
    if phase not in STEPPED_PHASES:
        expected = sorted(STEPPED_PHASES)
        raise ValueError(f"{phase!r} is not done in steps; expected one of {expected}")
    return f"{phase}_{percent}pct"


def split_step(name: str) -> tuple[str, int] | None:
    """``(phase, percent)`` when ``name`` is a step of a stepped phase, else None."""
    match = _STEP.match(name)
    if match is None or match["phase"] not in STEPPED_PHASES:
        return None
    return match["phase"], int(match["percent"])


def is_timed(name: str) -> bool:
    """True for an activity whose start and end are a phase's (or a phase step's)."""
    return name in _NAMES or split_step(name) is not None

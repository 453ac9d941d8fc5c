"""The plan's DR activation phases, in order, with the config key of each target.

One list that the activation experiment, ``drdrill plan`` (the tabletop
runbook), the metrics table and the verdicts all read, so a phase has the same
name everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACTIVATION_PHASES", "ALL_PHASES", "RESTORE_PHASES", "Phase"]


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

ALL_PHASES: tuple[Phase, ...] = ACTIVATION_PHASES + RESTORE_PHASES

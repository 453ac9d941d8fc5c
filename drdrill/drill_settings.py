"""The sections of the drill configuration, each a validated, frozen model.

The recovery objectives (``Objective``, ``ScenarioObjective``, the plan's scenarios and
``ResolvedObjective``), the per-phase targets (``PhaseTargets``), the planned failback
(``FailbackSettings``), the guards that abort a drill (``StopConditions``), the
readiness alarms (``Alarms``), how the drill samples (``MeasurementSettings``), the
Locust load (``LoadSettings``) and the backup schedule (``Backups``). ``DrillConfig``
(``drdrill.config``) gathers them; ``load_config()`` is still the only door.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drdrill.support.durations import Seconds

__all__ = [
    "PLAN_SCENARIOS",
    "Alarms",
    "Backups",
    "FailbackSettings",
    "LoadSettings",
    "MeasurementSettings",
    "Objective",
    "PhaseTargets",
    "ResolvedObjective",
    "ScenarioObjective",
    "SettingsModel",
    "StopConditions",
]


class SettingsModel(BaseModel):
    """A section of the drill configuration: unknown keys refused, frozen once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Objective(SettingsModel):
    """A recovery objective: how long the service may be down, how much data may be lost."""

    rto: Seconds
    rpo: Seconds


class ScenarioObjective(SettingsModel):
    """A scenario's own targets; a target left out comes from ``objectives`` or the mode."""

    rto: Seconds | None = None
    rpo: Seconds | None = None


PLAN_SCENARIOS: dict[str, ScenarioObjective] = {
    # Region failure and data-center disaster carry the standby mode's targets (the
    # plan's 30 min / 5 min are warm standby's), so they have none of their own: a
    # hot standby or an explicit ``objectives`` judges them.
    "region_failure": ScenarioObjective(),
    "data_center_disaster": ScenarioObjective(),
    # Recoveries from backups: their own targets, whatever the standby mode.
    "ransomware": ScenarioObjective(rto=7200, rpo=3600),
    "data_corruption": ScenarioObjective(rto=3600, rpo=900),
    "security_breach": ScenarioObjective(rto=14400, rpo=3600),
}
"""The plan's "Disaster Scenarios" table: the scenarios a drill may name."""


@dataclass(frozen=True)
class ResolvedObjective:
    """The RTO/RPO that judge a scenario, and where each came from."""

    rto: float
    rpo: float
    mode: str
    rto_source: str
    """e.g. ``scenarios.region_failure``, ``objectives``, ``mode hot_standby``."""
    rpo_source: str

    @property
    def source(self) -> str:
        """One line naming where the targets came from."""
        if self.rto_source == self.rpo_source:
            return self.rto_source
        return f"rto from {self.rto_source}, rpo from {self.rpo_source}"


class PhaseTargets(SettingsModel):
    """Per-phase targets from the plan's "Test Metrics" table."""

    assessment: Seconds = 300.0
    dns_failover: Seconds = 300.0
    scale_dr: Seconds = 600.0
    database_promotion: Seconds = 600.0
    repoint_applications: Seconds = 300.0
    service_verification: Seconds = 300.0
    database_restore: Seconds = 3600.0
    """Restoring a backup (the plan's monthly Backup Restoration is a 1 hour exercise)."""
    # the plan's failback day plan: prepare (day 1), verify (day 2), shift traffic (days
    # 3-5), scale down DR and check it is ready (day 6); the switchover is the day-5 step
    prepare_primary: Seconds = 86400.0
    verify_primary: Seconds = 86400.0
    traffic_shift: Seconds = 3 * 86400.0
    switchover: Seconds = 86400.0
    scale_down_dr: Seconds = 86400.0
    validate_dr: Seconds = 86400.0
    warn_margin: float = Field(0.2, ge=0.0, le=10.0)
    """Over a target by at most this fraction is a warning, like the plan's ⚠️."""

    def target_for(self, phase: str) -> float:
        """The target in seconds of the phase called ``phase``
        (see ``drdrill.measurement.phases``)."""
        value = getattr(self, phase, None)
        if not isinstance(value, float) or phase == "warn_margin":
            raise KeyError(f"no target for phase {phase!r}")
        return value


class FailbackSettings(SettingsModel):
    """How the planned failback runs and what it must achieve (``drdrill.lab.failback``)."""

    traffic_steps: tuple[int, ...] = (10, 50, 100)
    """Percent of customers sent back to the primary region at each traffic step."""
    step_dwell: Seconds = Field(0.5, ge=0)
    """How long each traffic step holds before the next (the plan: a day; the drill: long
    enough to measure the error rate at that step)."""
    switchover_outage: Seconds = Field(1.0, gt=0)
    """The switchover's customer-visible outage of writes (fence → writable) may last this
    long: the lab's goal; a planned switchover loses no acknowledged write whatever."""
    max_step_error_rate: float = Field(0.05, ge=0, le=1)
    """The customer error rate each traffic step may show."""

    @field_validator("traffic_steps")
    @classmethod
    def _steps_climb_to_all(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if not steps or steps[-1] != 100 or list(steps) != sorted(set(steps)) or steps[0] < 1:
            raise ValueError(
                f"expected percentages rising from 1 to a last step of 100, got {list(steps)}"
            )
        return steps


class StopConditions(SettingsModel):
    """Guards that abort a running drill and roll it back, like AWS FIS stop conditions
    (``drdrill.orchestration.stop_conditions``); a guard set to null is off."""

    max_error_rate: float | None = Field(0.5, gt=0, le=1)
    """Customer (critical-flow) error rate outside the expected outage that stops the drill."""
    error_window: Seconds = Field(30.0, gt=0)
    """...sustained over this long."""
    outage_factor: float | None = Field(2.0, gt=0)
    """Stop when still not restored this many times the scenario's RTO target after the fault."""
    replica_lag_before_fault: bool = True
    """Stop when the replica lag is over its alarm before the fault."""


class Alarms(SettingsModel):
    """The plan's DR-readiness alarms."""

    replica_lag: Seconds = 300.0
    s3_replication: Seconds = 900.0


class MeasurementSettings(SettingsModel):
    """How the drill samples the platform (docs/measurements.md)."""

    probe_interval: Seconds = Field(0.1, gt=0)
    probe_timeout: Seconds = Field(1.0, gt=0)
    canary_interval: Seconds = Field(0.05, gt=0)
    stable_for: Seconds = Field(5.0, gt=0)
    slow_after: Seconds = Field(0.1, gt=0)
    """A critical-flow sample slower than this counts as failed: a request that only
    completes when a frozen region thaws was not served by a working platform."""
    error_threshold: float = Field(0.5, gt=0.0, le=1.0)
    """A 100 ms bucket with an error rate above this counts as user-observed outage."""
    restore_wait: Seconds = Field(2700.0, gt=0)
    """How long a drill waits for the service to come back, whatever the RTO target:
    a restoration later than the target is still measured (a breach with its value).
    The default outlasts the plan's 30 min target; the lab restores in seconds."""

    @property
    def restore_wait_s(self) -> float:
        """The bound of the wait for restoration: ``restore_wait`` plus the ``stable_for``
        window that confirms it (a restoration at the very end is still seen)."""
        return self.restore_wait + self.stable_for


class LoadSettings(SettingsModel):
    """Locust load during a drill (``drdrill.observation.load``).

    One worker and no remote ones: a single plain Locust process. Anything else runs
    Locust's distributed mode: a master bound to ``master_host:master_port``, ``workers``
    ``--worker`` processes drdrill starts on this machine, and ``remote_workers`` started
    elsewhere that attach to the master; the load starts once all of them are connected.
    """

    users: int = Field(20, ge=1)
    """Simulated customers in all, shared among the workers."""
    spawn_rate: float = Field(20.0, gt=0)
    remote_workers: int = Field(0, ge=0, le=1000)
    """Workers on other machines (or a Kubernetes Job per region) the master waits for."""
    workers: int = Field(1, ge=0, le=64)
    """Locust worker processes drdrill starts on this machine and ends with the drill."""
    master_host: str = Field("127.0.0.1", min_length=1)
    """The address the master binds (``0.0.0.0`` or a host's own address lets workers on
    other machines in); local workers always reach it on the loopback when it is a wildcard."""
    master_port: int = Field(5557, ge=1, le=65535)
    workers_wait: Seconds = Field(60.0, gt=0)
    """How long the master waits for every worker before it gives up (the drill fails)."""
    browse_weight: int = Field(3, ge=0)
    checkout_weight: int = Field(1, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _processes_means_workers(cls, raw: Any) -> Any:
        # ``processes`` (Locust's --processes: N workers forked behind one master) was the
        # earlier spelling of the same thing; ``workers`` starts them so drdrill owns each
        if isinstance(raw, dict) and "processes" in raw:
            raw = dict(raw)
            processes = raw.pop("processes")
            if "workers" in raw and raw["workers"] != processes:
                raise ValueError(
                    f"processes {processes!r} and workers {raw['workers']!r} disagree; "
                    "processes is the old name of workers: keep workers only"
                )
            raw["workers"] = processes
        return raw

    @field_validator("workers")
    @classmethod
    def _some_worker(cls, workers: int, info: ValidationInfo) -> int:
        if workers == 0 and info.data.get("remote_workers", 0) == 0:
            raise ValueError(
                "expected at least 1 worker here, or remote_workers >= 1 (load only from "
                "other machines)"
            )
        return workers

    @property
    def distributed(self) -> bool:
        """Whether this load runs as a Locust master with workers."""
        return self.workers != 1 or self.remote_workers > 0

    @property
    def expected_workers(self) -> int:
        """The workers the master waits for: local and remote."""
        return self.workers + self.remote_workers


class Backups(SettingsModel):
    """The plan's backup schedule, as the lab and restore drills apply it."""

    snapshot_interval: Seconds = Field(86400.0, gt=0)
    """Automated snapshots are daily: ``drdrill check`` flags a newest snapshot older."""

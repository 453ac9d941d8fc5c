"""The drill configuration: one file, parsed once into one validated, typed object.

``drdrill.yaml`` at the project root (or ``--drill-config PATH``) is merged over the
defaults below, which carry the DR plan's targets out of the box. Durations are
written ``100ms``, ``5s``, ``5m``, ``2h``, ``7d`` or as a number of seconds.

Nothing else in drdrill reads files or environment variables for settings:
``load_config()`` is the only door, and a bad value raises ``ConfigError`` naming
the file, the key, the value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drdrill.errors import ConfigError
from drdrill.lab.settings import LabSettings
from drdrill.lab.state_dir import default_state_dir
from drdrill.lab.topology import MAX_WORKERS as LAB_MAX_WORKERS
from drdrill.notify.settings import NotificationSettings
from drdrill.support.durations import Seconds, parse_duration
from drdrill.support.redaction import redact
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.twin.profile import AwsTwinProfile

__all__ = [
    "BUILT_IN_TARGETS",
    "DEFAULT_CONFIG_NAME",
    "LAB_MAX_WORKERS",
    "PLAN_SCENARIOS",
    "Alarms",
    "AwsTwinProfile",
    "DrillConfig",
    "FailbackSettings",
    "LabProfile",
    "LabSettings",
    "LoadSettings",
    "MeasurementSettings",
    "Objective",
    "PhaseTargets",
    "ResolvedObjective",
    "ScenarioObjective",
    "Seconds",
    "StopConditions",
    "load_config",
    "parse_duration",
]

DEFAULT_CONFIG_NAME = "drdrill.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objective(_Model):
    """A recovery objective: how long the service may be down, how much data may be lost."""

    rto: Seconds
    rpo: Seconds


class ScenarioObjective(_Model):
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


class PhaseTargets(_Model):
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


class FailbackSettings(_Model):
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


class StopConditions(_Model):
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


class Alarms(_Model):
    """The plan's DR-readiness alarms."""

    replica_lag: Seconds = 300.0
    s3_replication: Seconds = 900.0


class MeasurementSettings(_Model):
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


class LoadSettings(_Model):
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


class Backups(_Model):
    """The plan's backup schedule, as the lab and restore drills apply it."""

    snapshot_interval: Seconds = Field(86400.0, gt=0)
    """Automated snapshots are daily: ``drdrill check`` flags a newest snapshot older."""


class LabProfile(_Model):
    """The embedded default target."""

    kind: Literal["lab"] = "lab"


AnyProfile = LabProfile | AwsProfile | AwsTwinProfile
TargetProfile = Annotated[AnyProfile, Field(discriminator="kind")]

BUILT_IN_TARGETS = ("lab", "aws-twin")
"""Targets every configuration has: the lab, and the lab behind an emulated AWS control
plane (``drdrill.targets.twin``)."""


def _default_modes() -> dict[str, Objective]:
    return {
        "warm_standby": Objective(rto=1800, rpo=300),
        "hot_standby": Objective(rto=300, rpo=60),
    }


def _default_targets() -> dict[str, AnyProfile]:
    return {"lab": LabProfile(), "aws-twin": AwsTwinProfile()}


class DrillConfig(_Model):
    """Everything a drill needs to know, validated once."""

    objectives: Objective | None = None
    """Targets for every scenario without its own; None: the mode's targets."""
    mode: str = "warm_standby"
    """The standby mode the platform runs (the plan's "DR Modes"): its targets judge a
    drill when neither the scenario nor ``objectives`` sets them."""
    modes: dict[str, Objective] = Field(default_factory=_default_modes)
    scenarios: dict[str, ScenarioObjective] = Field(default_factory=dict)
    """Scenario targets set in the file, over the plan's table (``PLAN_SCENARIOS``)."""
    phases: PhaseTargets = PhaseTargets()
    failback: FailbackSettings = FailbackSettings()
    alarms: Alarms = Alarms()
    stop_conditions: StopConditions = StopConditions()
    measurement: MeasurementSettings = MeasurementSettings()
    load: LoadSettings = LoadSettings()
    lab: LabSettings = LabSettings()
    backups: Backups = Backups()
    reports_dir: Path = Path("reports")
    reports_min_free_mb: int = Field(50, ge=0)
    """Free space (MB) ``reports_dir`` needs before a drill's fault (``drdrill.report.space``)."""
    targets: dict[str, TargetProfile] = Field(default_factory=_default_targets)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    """Who hears about a drill, over which channels (the plan's DR Activation Alerts)."""
    source: str = "<defaults>"
    """The file this configuration was read from (for error messages)."""

    @model_validator(mode="after")
    def _mode_is_known(self) -> DrillConfig:
        if self.mode not in self.modes:
            raise ValueError(f"mode {self.mode!r} is not one of {sorted(self.modes)}")
        return self

    @field_validator("targets")
    @classmethod
    def _lab_target_is_kept(cls, targets: dict[str, AnyProfile]) -> dict[str, AnyProfile]:
        # a ``targets:`` block adds profiles; it cannot take the built-in ones away
        if not isinstance(targets.get("lab", LabProfile()), LabProfile):
            raise ValueError("'lab' is the embedded lab's name; call the AWS profile otherwise")
        if not isinstance(targets.get("aws-twin", AwsTwinProfile()), AwsTwinProfile):
            raise ValueError(
                "'aws-twin' is the built-in AWS twin's name (kind aws-twin); "
                "call the AWS profile otherwise"
            )
        return {"lab": LabProfile(), "aws-twin": AwsTwinProfile(), **targets}

    def objective_for(self, scenario: str) -> ResolvedObjective:
        """The RTO/RPO that judge ``scenario``, each from the first that sets it: the
        scenario's own target (the file's ``scenarios``, else the plan's table), the
        file's ``objectives``, the standby ``mode``'s targets."""
        known = {**PLAN_SCENARIOS, **self.scenarios}
        if scenario not in known:
            raise ConfigError(
                f"unknown scenario {scenario!r}; expected one of {sorted(known)}",
                file=self.source,
                key="scenarios",
            )
        chosen = {}
        for figure in ("rto", "rpo"):
            candidates = (
                (getattr(self.scenarios.get(scenario), figure, None), f"scenarios.{scenario}"),
                (
                    getattr(PLAN_SCENARIOS.get(scenario), figure, None),
                    f"the plan's {scenario} scenario",
                ),
                (getattr(self.objectives, figure, None), "objectives"),
                (getattr(self.modes[self.mode], figure), f"mode {self.mode}"),
            )
            chosen[figure] = next((v, where) for v, where in candidates if v is not None)
        return ResolvedObjective(
            rto=chosen["rto"][0],
            rpo=chosen["rpo"][0],
            mode=self.mode,
            rto_source=chosen["rto"][1],
            rpo_source=chosen["rpo"][1],
        )

    def target(self, name: str) -> AnyProfile:
        """The target profile called ``name``."""
        try:
            return self.targets[name]
        except KeyError:
            raise ConfigError(
                f"unknown target {name!r}; expected one of {sorted(self.targets)}",
                file=self.source,
                key="targets",
            ) from None


def _format_error(error: Any) -> tuple[str, str]:
    key = ".".join(str(part) for part in error["loc"]) or "<root>"
    value = redact(error.get("input"), str(error["loc"][-1]) if error["loc"] else "")
    shown = "missing" if error["type"] == "missing" else f"value {value!r}"
    return key, f"{shown}: {error['msg']}"


def load_config(path: Path | str | None = None, *, root: Path | None = None) -> DrillConfig:
    """Read and validate the drill configuration.

    ``path`` None means ``drdrill.yaml`` in ``root`` (default: the working directory)
    if it exists, else the built-in defaults. Relative paths inside the file are
    resolved against the file's directory.
    """
    base = root or Path.cwd()
    if path is None:
        candidate = base / DEFAULT_CONFIG_NAME
        if not candidate.exists():
            return _resolve_paths(DrillConfig(), base)
        path = candidate
    file = Path(path)
    if not file.is_file():
        raise ConfigError("file not found; expected a YAML drill configuration", file=str(file))
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=str(file)) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"expected a mapping at the top level, got {type(raw).__name__}", file=str(file)
        )
    try:
        config = DrillConfig.model_validate({**raw, "source": str(file)})
    except ValidationError as exc:
        key, message = _format_error(exc.errors()[0])
        raise ConfigError(message, file=str(file), key=key) from exc
    return _resolve_paths(config, file.resolve().parent)


def _resolve_paths(config: DrillConfig, base: Path) -> DrillConfig:
    lab = config.lab
    if "state_dir" not in lab.model_fields_set:
        state_dir = default_state_dir(base)
    else:
        state_dir = lab.state_dir if lab.state_dir.is_absolute() else base / lab.state_dir
    reports = config.reports_dir if config.reports_dir.is_absolute() else base / config.reports_dir
    return config.model_copy(
        update={
            "lab": lab.model_copy(update={"state_dir": state_dir}),
            "reports_dir": reports,
        }
    )

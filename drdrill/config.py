"""The drill configuration: one file, parsed once into one validated, typed object.

``drdrill.yaml`` at the project root (or ``--drill-config PATH``) is merged over the
defaults below and in its sections (``drdrill.drill_settings``), which carry the DR
plan's targets out of the box. Durations are written ``100ms``, ``5s``, ``5m``, ``2h``,
``7d`` or as a number of seconds.

Nothing else in drdrill reads files or environment variables for settings:
``load_config()`` is the only door, and a bad value raises ``ConfigError`` naming
the file, the key, the value and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drdrill.drill_settings import (
    PLAN_SCENARIOS,
    Alarms,
    Backups,
    FailbackSettings,
    LoadSettings,
    MeasurementSettings,
    Objective,
    PhaseTargets,
    ResolvedObjective,
    ScenarioObjective,
    SettingsModel,
    StopConditions,
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


class LabProfile(SettingsModel):
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


class DrillConfig(SettingsModel):
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

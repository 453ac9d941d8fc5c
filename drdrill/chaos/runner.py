"""Run a Chaos Toolkit experiment inside a drill, with the drill's context injected."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
from chaoslib.types import Strategy

from drdrill.chaos.context import ChaosContext
from drdrill.errors import ActivationFailed, ConfigError
from drdrill.measurement.phases import split_step, step_name
from drdrill.records.timeline import ACTIVITY_END, PHASE_END

__all__ = ["load_experiment", "run", "run_for_drill", "with_steps"]


def load_experiment(path: Path) -> dict[str, Any]:
    """Read and validate an experiment file (clear error naming the file)."""
    try:
        experiment: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read experiment: {exc}", file=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc}", file=str(path)) from exc
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ConfigError(f"not a valid Chaos Toolkit experiment: {exc}", file=str(path)) from exc
    return experiment


def _phase_of_step(name: str) -> str | None:
    step = split_step(name)
    return step[0] if step else None


def with_steps(experiment: dict[str, Any], phase: str, percents: Sequence[int]) -> dict[str, Any]:
    """A copy of ``experiment`` whose steps of the stepped ``phase`` (``traffic_shift_10pct``
    ...) are one activity per percent of ``percents``, in the place of the first step,
    each the first step's activity with its name and ``percent`` argument changed.
    ``ConfigError`` when the experiment has no step of ``phase``."""
    method = experiment.get("method", [])
    steps = [i for i, a in enumerate(method) if _phase_of_step(a.get("name", "")) == phase]
    if not steps:
        raise ConfigError(f"the experiment {experiment.get('title')!r} has no {phase} step")
    template = method[steps[0]]
    expanded = []
    for percent in percents:
        activity = copy.deepcopy(template)
        activity["name"] = step_name(phase, percent)
        activity["provider"].setdefault("arguments", {})["percent"] = percent
        expanded.append(activity)
    kept = [a for i, a in enumerate(method) if i not in steps]
    at = steps[0]
    result = copy.deepcopy(experiment)
    result["method"] = kept[:at] + expanded + kept[at:]
    return result


def run(
    path: Path,
    context: ChaosContext,
    *,
    variables: dict[str, Any] | None = None,
    journal_path: Path | None = None,
    steady_state: str | None = None,
    rollbacks: str | None = None,
    adjust: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the experiment at ``path`` with ``context`` as its ``drill`` configuration.

    ``steady_state`` is a Chaos Toolkit hypothesis strategy (default,
    before-method-only, ...); ``rollbacks`` a rollback strategy (default, always,
    never, deviated); either, when None, is the one the experiment declares in its
    ``runtime`` block, as ``chaos run`` reads it (else ``default``). ``adjust``
    changes the validated experiment before it runs (e.g. ``with_steps``). The
    journal is returned and, with ``journal_path``, saved.
    """
    experiment = load_experiment(path)
    runtime = experiment.get("runtime") or {}
    if steady_state is None:
        steady_state = str(runtime.get("hypothesis", {}).get("strategy", "default"))
    if rollbacks is None:
        rollbacks = str(runtime.get("rollbacks", {}).get("strategy", "default"))
    if adjust is not None:
        experiment = adjust(experiment)
        ensure_experiment_is_valid(experiment)
    # chaoslib empties the dict it is given: a fresh one per run
    overrides: dict[str, Any] = {"drill": context, **(variables or {})}
    journal: dict[str, Any] = run_experiment(
        experiment,
        settings={"runtime": {"rollbacks": {"strategy": rollbacks}}},
        experiment_vars=(overrides, {}),
        strategy=Strategy.from_string(steady_state),
    )
    if journal_path is not None:
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        journal_path.write_text(json.dumps(journal, indent=2, default=str))
    return journal


def run_for_drill(path: Path, context: ChaosContext, **options: Any) -> dict[str, Any]:
    """``run`` (same ``options``) inside a drill: an experiment ended by a failed phase
    raises ``ActivationFailed`` naming it (nothing after it ran); one interrupted (the stop
    button) raises ``KeyboardInterrupt``; otherwise the journal."""
    started_ns = time.time_ns()
    journal = run(path, context, **options)
    if journal["status"] != "interrupted":
        return journal
    events = context.timeline.events() if context.timeline is not None else []
    failed = [
        e
        for e in events
        if e.kind in (PHASE_END, ACTIVITY_END)
        and e.t_ns >= started_ns
        and e.detail.get("failed") is True
    ]
    if failed:  # a failed phase ended the experiment: the drill fails with it
        raise ActivationFailed(
            f"{path.stem}: phase {failed[-1].name} failed, nothing after it ran: "
            f"{failed[-1].detail.get('error') or 'no detail'}"
        )
    raise KeyboardInterrupt(f"experiment {path.stem} interrupted")

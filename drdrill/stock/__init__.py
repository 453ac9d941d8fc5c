"""The stock drills shipped inside the package: the Gherkin features, the Chaos Toolkit
experiments and the locustfile.

They are package data, found with ``importlib.resources`` so an installed wheel works
from any directory. ``drdrill run`` runs ``drdrill.stock.drills``, which binds the stock
features to the stock steps; a DR team's own repository writes its own features and
binds them in its own test module.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = [
    "DRILLS",
    "DRILL_EXPERIMENTS",
    "EXPERIMENTS",
    "FEATURES",
    "LOCUSTFILE",
    "experiments_for",
    "feature_files",
]

_HERE = resources.files(__name__)

# A wheel installs as plain files, so the resources are real paths: Chaos Toolkit and
# Locust are handed file names, not file objects.
FEATURES = Path(str(_HERE / "features"))
"""The stock ``*.feature`` files: full, partial, backup_restore."""

EXPERIMENTS = Path(str(_HERE / "experiments"))
"""The Chaos Toolkit experiments: the drill's (``DRILL_EXPERIMENTS``) and
``aws-region-failure.json``, the fault as plain chaostoolkit-aws activities."""

DRILL_EXPERIMENTS = ("region-failure.json", "dr-activation.json", "failback.json")
"""The experiments a drill runs, on every target."""

LOCUSTFILE = Path(str(_HERE / "loadtests" / "locustfile.py"))
"""The Locust customers a drill runs as load."""

DRILLS = Path(str(_HERE / "drills.py"))
"""The test module binding the stock features to the stock steps (what ``drdrill run``
runs)."""


def experiments_for(kind: str, experiments: Path = EXPERIMENTS) -> list[Path]:
    """The experiments of ``experiments`` a target of ``kind`` uses, by name: the drill's,
    and for a target behind AWS APIs (``aws``, ``aws-twin``) every other one too (the lab
    has no use for chaostoolkit-aws activities, so checking it never imports them)."""
    if kind == "lab":
        return [experiments / name for name in sorted(DRILL_EXPERIMENTS)]
    return sorted(experiments.glob("*.json"))


def feature_files() -> list[Path]:
    """Every stock feature file, by name."""
    return sorted(FEATURES.glob("*.feature"))

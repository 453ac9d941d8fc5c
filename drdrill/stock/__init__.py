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

__all__ = ["DRILLS", "EXPERIMENTS", "FEATURES", "LOCUSTFILE", "feature_files"]

_HERE = resources.files(__name__)

# A wheel installs as plain files, so the resources are real paths: Chaos Toolkit and
# Locust are handed file names, not file objects.
FEATURES = Path(str(_HERE / "features"))
"""The stock ``*.feature`` files: full, partial, backup_restore."""

EXPERIMENTS = Path(str(_HERE / "experiments"))
"""The Chaos Toolkit experiments ``region-failure.json``, ``dr-activation.json`` and
``failback.json``."""

LOCUSTFILE = Path(str(_HERE / "loadtests" / "locustfile.py"))
"""The Locust customers a drill runs as load."""

DRILLS = Path(str(_HERE / "drills.py"))
"""The test module binding the stock features to the stock steps (what ``drdrill run``
runs)."""


def feature_files() -> list[Path]:
    """Every stock feature file, by name."""
    return sorted(FEATURES.glob("*.feature"))

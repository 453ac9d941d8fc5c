"""Who registers which marker: the suite's own markers are in its pyproject.toml; the drdrill
plugin, loaded in every user's project, registers only the drill tags users' features carry."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from drdrill.pytest_plugin import DRILL_KINDS, MARKERS

ROOT = Path(__file__).resolve().parents[1]
PYTEST_OWN = {"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings"}


def _suite_markers() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = config["tool"]["pytest"]["ini_options"]["markers"]
    return {line.split(":")[0].strip() for line in lines}


def _used_in_tests() -> set[str]:
    used: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        used |= set(re.findall(r"pytest\.mark\.(\w+)", path.read_text(encoding="utf-8")))
    return used - PYTEST_OWN


def test_every_marker_the_suite_uses_is_registered_by_the_suite_itself() -> None:
    used = _used_in_tests()
    assert {"lab", "aws", "slow"} <= used  # the grep finds what the suite marks
    assert used <= _suite_markers()
    assert "matrix" in _suite_markers()


def test_the_plugin_registers_only_the_drill_tags() -> None:
    assert set(MARKERS) == set(DRILL_KINDS)
    assert not set(MARKERS) & _suite_markers()

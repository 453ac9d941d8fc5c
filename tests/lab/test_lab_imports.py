"""The layers of drdrill/ hold: the lab stands alone (it imports nothing of the drill harness,
and no cycle within itself), measurement is pure, observation never imports orchestration.

The rules are import-linter contracts in pyproject.toml, checked over the real import graph
(every import statement of every module, also those inside functions)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import drdrill.lab

HARNESS = (
    "drdrill.targets",
    "drdrill.config",
    "drdrill.drill_settings",
    "drdrill.measurement",
    "drdrill.observation",
    "drdrill.orchestration",
    "drdrill.records.timeline",
    "drdrill.records.audit",
    "drdrill.report",
)
ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = Path(drdrill.lab.__file__).parent


def lab_modules() -> list[str]:
    return sorted(
        f"drdrill.lab.{m.name}" for m in pkgutil.iter_modules([str(LAB_DIR)]) if not m.ispkg
    )


def test_importing_every_lab_module_pulls_in_no_harness_module() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {lab_modules()!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('drdrill'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)

    assert "drdrill.lab.platform" in loaded  # the check ran on the real modules
    assert [m for m in loaded if m.startswith(HARNESS)] == []


def _lab_imports(module: str) -> set[str]:
    """The drdrill.lab modules ``module`` imports (anywhere in it, also inside functions)."""
    path = LAB_DIR / f"{module.rsplit('.', 1)[1]}.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m in lab_modules() and m != module}


def test_no_lab_module_imports_one_that_imports_it_back() -> None:
    graph = {m: _lab_imports(m) for m in lab_modules()}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for nxt in graph[module]:
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(graph):
                visit(nxt, [*path, nxt])

    for module in graph:
        visit(module, [module])

    assert graph["drdrill.lab.platform"]  # the graph is not empty
    assert cycles == []


def test_the_lab_speaks_the_harness_region_and_failure_names() -> None:
    from drdrill.lab.topology import FAILURE_MODES, REGIONS
    from drdrill.targets import base

    assert (REGIONS, FAILURE_MODES) == (base.REGIONS, base.FAILURE_MODES)


CONTRACTS = {
    "lab-stands-alone": "the lab imports no harness",
    "measurement-is-pure": "drdrill/measurement/ imports nothing with I/O",
    "observation-below-orchestration": "drdrill/observation/ never imports orchestration",
    "layers": "orchestration > observation > measurement > records > support",
}


@pytest.mark.parametrize("contract", sorted(CONTRACTS))
def test_the_import_graph_keeps_the_layering_rule(contract: str) -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache", "--no-logo", "--contract", contract, "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert "Contracts: 1 kept, 0 broken." in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0


def test_the_layer_packages_hold_modules() -> None:
    """The contracts are about packages that exist (a renamed package would keep them all)."""
    for package in ("measurement", "observation", "orchestration", "records", "support"):
        assert len(list((ROOT / "drdrill" / package).glob("*.py"))) > 1, package

"""The built wheel drills a DR team's own project: nothing from this checkout is used.

The wheel is built from a copy of the package, installed into a fresh venv in an empty
directory (its dependencies come from this environment through a ``.pth`` line, since
there is no index to install them from), and that directory holds only the team's
own feature, test module and drdrill.yaml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ports import port_block

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CHECKOUT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
BASE_PORT = port_block()

OWN_FEATURE = """\
@partial
Feature: Our own DR drill of the checkout flow
  Scenario: Our checkout survives a DNS failover
    Given the platform is in its steady state
    When the DNS records fail over to the DR region
    Then the global endpoint answers from the DR region
    And the platform is put back to its steady state
"""

OWN_TESTS = """\
from pytest_bdd import scenarios

scenarios("features/own_drill.feature")
"""


@dataclass(frozen=True)
class Project:
    """A DR team's project directory and the venv drdrill's wheel is installed in."""

    root: Path
    python: Path
    drdrill: Path

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.python.parent}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


def _build_wheel(out: Path, scratch: Path) -> Path:
    # Built from a copy: an in-tree setuptools build would leave build/ in the checkout.
    source = scratch / "source"
    source.mkdir()
    shutil.copy(CHECKOUT / "pyproject.toml", source)
    shutil.copy(CHECKOUT / "README.md", source)
    shutil.copytree(
        CHECKOUT / "drdrill", source / "drdrill", ignore=shutil.ignore_patterns("__pycache__")
    )
    # --offline: setuptools comes from uv's cache, filled when dev.py installed drdrill.
    done = subprocess.run(
        [UV, "build", "-q", "--offline", "--wheel", "--out-dir", out, source],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("drdrill-*.whl")
    return wheel


@pytest.fixture(scope="module")
def project() -> Iterator[Project]:
    if not UV.is_file():
        pytest.skip("uv is not installed next to this python (dev.py installs it)")
    # PostgreSQL runs as the postgres user: every directory above its data is 755.
    top = Path(tempfile.mkdtemp(prefix="drdrill-plugin-", dir="/tmp"))
    os.chmod(top, 0o755)
    try:
        wheel = _build_wheel(top / "dist", top)
        venv = top / "venv"
        for command in (
            [UV, "venv", "-q", "--python", sys.executable, venv],
            [UV, "pip", "install", "-q", "--offline", "--no-deps", "--python", venv, wheel],
        ):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
        python = venv / "bin" / "python"
        site = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # Appended after the venv's own site-packages: drdrill itself comes from the wheel.
        (Path(site) / "drdrill-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
        root = top / "project"
        (root / "features").mkdir(parents=True)
        (root / "features" / "own_drill.feature").write_text(OWN_FEATURE)
        (root / "test_own_drills.py").write_text(OWN_TESTS)
        (root / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
        (root / "drdrill.yaml").write_text(
            f"lab: {{base_port: {BASE_PORT}, state_dir: {top / 'lab'}}}\n"
            f"reports_dir: {top / 'reports'}\n"
        )
        yield Project(root, python, venv / "bin" / "drdrill")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_the_wheels_drdrill_is_the_one_imported(project: Project) -> None:
    done = project.run(project.python, "-c", "import drdrill; print(drdrill.__file__)")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(project.python.parent.parent), done.stdout
    assert not (project.root / "conftest.py").exists()


def test_pytest_runs_the_projects_own_feature_with_the_stock_steps(project: Project) -> None:
    junit = project.root / "junit.xml"
    done = project.run(
        project.python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-m",
        "partial",
        "-v",
        f"--junitxml={junit}",
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "test_our_checkout_survives_a_dns_failover PASSED" in out, out
    cases = ET.parse(junit).getroot().iter("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("test_own_drills", "test_our_checkout_survives_a_dns_failover")
    ]
    audits = list((project.root.parent / "reports").glob("*-partial-*/audit.jsonl"))
    assert len(audits) == 1, "the drill did not record into the project's reports_dir"


def test_drdrill_run_runs_the_stock_drills_from_the_package(project: Project) -> None:
    done = project.run(project.drdrill, "run", "partial")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "3 passed" in out, out
    assert "dns_failover" in out and "database_promotion" in out, out
    assert "lab down" in out, out

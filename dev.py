#!/usr/bin/env python3
"""Set up everything drdrill needs on a fresh machine, then drill or test.

    python3 dev.py drill   # a full region-failure drill on the local lab, then its report
    python3 dev.py test    # lint, types, and the whole test suite (what CI runs)

Needs only python3 (≥ 3.11) and pip. Creates ./.venv, installs drdrill with its
dev extras (through uv when it can be installed, else plain pip), and, where npm
is present, the Allure command line into ./node_modules for the HTML report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".drdrill-installed"


def _run(*args: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, check=check, env=env).returncode


def install_stamp(root: Path) -> bytes:
    """What .venv was installed from: pyproject.toml and how (a change means reinstall)."""
    return (root / "pyproject.toml").read_bytes() + b"\n# bytecode compiled at install\n"


def ensure_venv() -> None:
    """Create .venv and install drdrill[dev] unless pyproject.toml is unchanged since."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is
        sys.exit(f"dev.py: Python >= 3.11 is needed, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = BIN / "python"
    stamp = install_stamp(ROOT)
    if not (STAMP.exists() and STAMP.read_bytes() == stamp):
        # Bytecode is compiled at install (pip does by default, uv when asked): where
        # PYTHONDONTWRITEBYTECODE is set, every lab process would otherwise recompile
        # aiohttp and psycopg at start — a DR worker's start-up is on the RTO's path.
        if _run(python, "-m", "pip", "install", "-q", "uv", check=False) == 0:
            _run(
                BIN / "uv", "pip", "install", "-q", "--compile-bytecode",
                "--python", python, "-e", ".[dev]",
            )  # fmt: skip
        else:
            _run(python, "-m", "pip", "install", "-q", "-e", ".[dev]")
        STAMP.write_bytes(stamp)
    # drdrill itself is installed editable: its bytecode, refreshed where sources changed
    subprocess.run([python, "-m", "compileall", "-q", "drdrill"], cwd=ROOT, check=False)


def ensure_allure() -> None:
    """The Allure 2 command line from npm, when npm exists (the report works without it)."""
    if (ROOT / "node_modules" / ".bin" / "allure").exists() or shutil.which("allure"):
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("java") is None:
        print("dev.py: npm or java not found: the Allure HTML report will be skipped", flush=True)
        return
    _run(npm, "install", "--no-audit", "--no-fund", "--silent", "allure-commandline", check=False)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ALLURE_NO_ANALYTICS"] = "true"
    return env


def drill() -> int:
    ensure_venv()
    ensure_allure()
    env = _env()
    code = _run(BIN / "drdrill", "run", "full", check=False, env=env)
    if code != 0:
        print(
            f"dev.py: the drill did not pass (exit {code}); stopping here. "
            "Its summary: .venv/bin/drdrill report --latest",
            flush=True,
        )
        return code
    for step in (["report", "--latest"], ["report"]):
        code = _run(BIN / "drdrill", *step, check=False, env=env)
        if code != 0:
            return code
    return 0


def test() -> int:
    ensure_venv()
    ensure_allure()
    env = _env()
    for step in (
        [BIN / "ruff", "check", "."],
        [BIN / "ruff", "format", "--check", "."],
        [BIN / "mypy"],
    ):
        if _run(*step, check=False, env=env) != 0:
            return 1
    return _run(BIN / "pytest", *_parallel(), *sys.argv[2:], check=False, env=env)


def _parallel() -> list[str]:
    """pytest-xdist: one worker per core, at most 4 (the suite's port plan, tests/ports.py),
    at least 2 (most of a drill's time is waiting for the lab); each test file stays on one
    worker, so a module's shared lab is brought up once. The mode x target drill matrix is
    CI's scheduled tier (``pytest -m matrix``), not every change's."""
    workers = min(4, max(2, os.cpu_count() or 2))
    # files in the order tests/conftest.py gives them (longest first), not by test count
    order = "--no-loadscope-reorder"
    return ["-n", str(workers), "--dist", "loadfile", order, "-m", "not matrix"]


def main() -> int:
    commands = {"drill": drill, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())

"""The Allure 2 command line: find it, and build the HTML report with analytics off.

``npm install allure-commandline`` (needs Java 17) puts it in ``node_modules/.bin``;
an ``allure`` on PATH works too. Without ``ALLURE_NO_ANALYTICS=true`` the
generated report embeds a tracking tag and the generator posts analytics.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from drdrill.errors import DrillError

__all__ = ["HOW_TO_GET_ALLURE", "find_allure", "generate_report"]

HOW_TO_GET_ALLURE = """\
No Allure command line found (looked for node_modules/.bin/allure and `allure` on PATH).
To build the HTML report, install Java 17 and Node.js, then in the project directory:
  npm install allure-commandline
and run `drdrill report` again. Or by hand:
  ALLURE_NO_ANALYTICS=true npx allure generate {results} -o {out} --clean
The stand-alone drill summary needs nothing: {latest}"""


def find_allure(project: Path | None = None) -> str | None:
    """``node_modules/.bin/allure`` of the project (default: the working directory) if
    npm installed it there, else ``allure`` on PATH, else None."""
    local = (project or Path.cwd()) / "node_modules" / ".bin" / "allure"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("allure")


def generate_report(allure: str, results: Path, out: Path, *, timeout_s: float = 120.0) -> Path:
    """``allure generate results -o out --clean`` with analytics off; the report's index.html.
    DrillError when there are no results or the generator fails."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise DrillError(f"no Allure results in {results}: run a drill first (`drdrill run full`)")
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    try:
        done = subprocess.run(
            [allure, "generate", str(results), "-o", str(out), "--clean"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DrillError(f"allure generate could not run: {exc}") from exc
    index = out / "index.html"
    if done.returncode != 0 or not index.is_file():
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise DrillError(f"allure generate failed (exit {done.returncode}): {detail}")
    return index

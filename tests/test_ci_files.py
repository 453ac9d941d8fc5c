"""The CI pipelines in ci/ parse, and every drdrill or pytest command in them is a real one."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from drdrill.cli import build_parser
from drdrill.pytest_plugin import MARKERS

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "ci" / "github" / "dr-drills.yml"
GITLAB = ROOT / "ci" / "gitlab" / ".gitlab-ci.yml"

# what a placeholder stands for when the pipeline runs: a target, a drill, anything else
_PLAUSIBLE = (("target", "lab"), ("drill", "partial"), ("mode", "partial"))


def plausible(placeholder: str) -> str:
    lowered = placeholder.lower()
    return next((value for key, value in _PLAUSIBLE if key in lowered), "x")


def substitute(line: str) -> str:
    """``${{ expr }}``, ``${VAR}`` and ``$VAR`` replaced by plausible values."""
    line = re.sub(r"\$\{\{(.*?)\}\}", lambda m: plausible(m.group(1)), line)
    line = re.sub(r"\$\{(\w+)\}", lambda m: plausible(m.group(1)), line)
    return re.sub(r"\$(\w+)", lambda m: plausible(m.group(1)), line)


def commands(script: str) -> Iterator[list[str]]:
    """Each simple command of a shell script (lines joined, split at ; && || |)."""
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(substitute(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        command: list[str] = []
        for token in lexer:
            if token in (";", "&&", "||", "|", "&", ";;"):
                if command:
                    yield command
                command = []
            else:
                command.append(token)
        if command:
            yield command


def github_scripts(workflow: dict[str, Any]) -> Iterator[str]:
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                yield step["run"]


def gitlab_scripts(pipeline: dict[str, Any]) -> Iterator[str]:
    for name, job in pipeline.items():
        if isinstance(job, dict) and name not in ("variables", "workflow", "default"):
            for key in ("before_script", "script", "after_script"):
                yield from job.get(key, [])


def invocations(path: Path) -> list[list[str]]:
    """The drdrill and pytest commands of a pipeline file, ``python -m`` unwrapped."""
    document = yaml.safe_load(path.read_text())
    scripts = github_scripts(document) if path == GITHUB else gitlab_scripts(document)
    found = []
    for script in scripts:
        for command in commands(script):
            if command[:2] == ["python", "-m"] and command[2:3] in (["pytest"], ["drdrill"]):
                command = command[2:]
            if command[0] in ("pytest", "drdrill"):
                found.append(command)
    return found


@pytest.fixture(scope="module")
def pytest_help() -> str:
    """``pytest --help`` in the project: pytest's, its plugins' and the conftest's options."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def registered_markers() -> set[str]:
    """The drdrill plugin's markers and any the project's pyproject.toml adds."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    markers = config["tool"]["pytest"]["ini_options"].get("markers", [])
    return set(MARKERS) | {line.split(":")[0].split("(")[0].strip() for line in markers}


def problems(command: list[str], pytest_help: str) -> list[str]:
    """What is wrong with one command line; empty when it is a real invocation."""
    program, args = command[0], command[1:]
    if program == "drdrill":
        try:
            build_parser().parse_args(args)
        except SystemExit:
            return [f"drdrill rejects {shlex.join(args)!r}"]
        return []
    known = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", pytest_help))
    found = []
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        option = arg.split("=", 1)[0]
        if option not in known:
            found.append(f"pytest has no option {option}")
        if option == "-m" and i + 1 < len(args):
            words = set(re.findall(r"[A-Za-z_]\w*", args[i + 1])) - {"and", "or", "not"}
            found += [f"marker {w!r} is not registered" for w in words - registered_markers()]
    return found


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_the_pipeline_parses_and_runs_drills(path: Path) -> None:
    assert isinstance(yaml.safe_load(path.read_text()), dict)
    programs = [command[0] for command in invocations(path)]
    assert programs.count("pytest") == 3  # monthly, quarterly, bi-annual
    assert "drdrill" in programs


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_every_drill_command_in_the_pipeline_is_real(path: Path, pytest_help: str) -> None:
    found = [p for command in invocations(path) for p in problems(command, pytest_help)]

    assert found == []


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_the_pipeline_follows_the_plans_calendar(path: Path) -> None:
    selections = {
        shlex.join(c[c.index("-m") if "-m" in c else c.index("-k") :][:2])
        for c in invocations(path)
        if c[0] == "pytest"
    }

    assert selections == {"-m partial", "-m full", "-k backup_restore"}
    for command in invocations(path):
        if command[0] == "pytest":
            assert {"--target", "--alluredir", "--junit-xml"} <= set(command)


def test_the_github_schedules_are_the_ones_the_workflow_maps() -> None:
    workflow = yaml.safe_load(GITHUB.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as True
    crons = [entry["cron"] for entry in triggers["schedule"]]
    script = next(s for s in github_scripts(workflow) if "SCHEDULE" in s)

    assert len(crons) == 3
    assert all(f'"{cron}")' in script for cron in crons)
    assert triggers["workflow_dispatch"]["inputs"].keys() == {"target", "mode"}


def test_the_gitlab_jobs_keep_junit_and_allure_results() -> None:
    pipeline = yaml.safe_load(GITLAB.read_text())
    template = pipeline[".drill"]

    assert template["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert "reports/" in template["artifacts"]["paths"]
    assert template["artifacts"]["when"] == "always"


@pytest.mark.slow
def test_every_pytest_command_selects_drills(tmp_path: Path) -> None:
    """Collected, not run: an empty selection (exit 5) or a usage error (4) fails here."""
    outputs = {"--alluredir": str(tmp_path / "allure"), "--junit-xml": str(tmp_path / "j.xml")}
    lines = {
        tuple(command[1:])
        for path in (GITHUB, GITLAB)
        for command in invocations(path)
        if command[0] == "pytest"
    }
    for args in sorted(lines):
        argv = [outputs.get(before, arg) for before, arg in zip(("", *args), args, strict=False)]
        collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        done = subprocess.run(
            [*collect, *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        assert re.search(r"^[1-9]\d*(/\d+)? tests? collected", done.stdout, re.M), done.stdout[
            -500:
        ]


@pytest.mark.parametrize(
    "line",
    [
        "drdrill runn full",
        "drdrill run fulll --target lab",
        "pytest --targett lab",
        "python -m pytest tests -m fulll",
        "pytest -m 'partial and not nightly'",
    ],
)
def test_a_misspelt_command_is_caught(line: str, pytest_help: str) -> None:
    [command] = list(commands(line))
    if command[:2] == ["python", "-m"]:
        command = command[2:]

    assert problems(command, pytest_help) != []


def test_placeholders_become_plausible_values() -> None:
    line = 'drdrill plan "${{ steps.which.outputs.drill }}" --target "$DRILL_TARGET"'

    assert list(commands(line)) == [["drdrill", "plan", "partial", "--target", "lab"]]


SUITE_PIPELINES = [ROOT / "ci" / "github" / "drdrill-suite.yml"]
SUITE_PIPELINES.append(ROOT / "ci" / "gitlab" / "drdrill-suite.gitlab-ci.yml")


@pytest.mark.parametrize("path", SUITE_PIPELINES, ids=["github", "gitlab"])
def test_the_suite_pipeline_runs_the_readme_command_and_the_matrix_on_schedule(
    path: Path,
) -> None:
    document = yaml.safe_load(path.read_text())
    scripts = github_scripts(document) if "github" in path.parts else gitlab_scripts(document)
    runs = [command for script in scripts for command in commands(script)]
    assert ["python3", "dev.py", "test"] in runs
    assert ["python3", "dev.py", "test", "-m", "matrix"] in runs
    # the matrix tier is not empty: it holds the drills that every change's run leaves out
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "matrix"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    selected = [line for line in done.stdout.splitlines() if "::" in line]
    assert any("blackhole" in line for line in selected), selected
    assert any("test_aws_twin" in line for line in selected), selected

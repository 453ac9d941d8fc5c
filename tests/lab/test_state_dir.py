"""drdrill deletes only what it created: a state dir that is not a lab is refused by
``lab down`` and ``lab up`` with nothing touched; as root the default lab lives where
PostgreSQL (never root) can reach it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.lab.state_dir import MARKER, claim, default_state_dir
from tests.ports import port_block


def _drdrill(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drdrill", "--drill-config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=config.parent,
        check=False,
    )


@pytest.mark.parametrize("command", [("lab", "down"), ("lab", "up")])
def test_a_directory_that_is_not_a_lab_is_never_deleted(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    victim = tmp_path / "v"
    victim.mkdir()
    (victim / "f").write_text("x\n")
    config = tmp_path / "v.yaml"
    config.write_text(f"lab: {{base_port: {port_block()}, state_dir: {victim}}}\n")

    done = _drdrill(config, *command)

    assert done.returncode == 2, done.stderr
    assert f"lab.state_dir {victim} exists, is not empty and is not a drdrill lab" in done.stderr
    assert (victim / "f").read_text() == "x\n"
    assert sorted(p.name for p in victim.iterdir()) == ["f"]


def test_an_empty_state_dir_means_the_project_and_is_refused(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "README.md").write_text("my project\n")
    config = tmp_path / "drdrill.yaml"
    config.write_text(f'lab: {{base_port: {port_block()}, state_dir: ""}}\n')

    done = _drdrill(config, "lab", "down")

    assert done.returncode == 2 and "is not a drdrill lab" in done.stderr
    assert (tmp_path / "README.md").exists() and (tmp_path / "features").is_dir()


def test_a_new_or_empty_directory_is_claimed_and_marked(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    claim(empty)
    claim(tmp_path / "new" / "lab")
    assert (empty / MARKER).exists() and (tmp_path / "new" / "lab" / MARKER).exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the root-only default")
def test_as_root_a_private_project_keeps_its_lab_where_postgres_can_reach_it() -> None:
    project = Path(tempfile.mkdtemp(prefix="drdrill-private-"))  # mode 700, like /root
    try:
        state = load_config(root=project).lab.state_dir
        assert not state.is_relative_to(project)
        assert state.parent.parent == Path(tempfile.gettempdir())
        assert state == default_state_dir(project)  # stable: the same lab each run
        explicit = project / "drdrill.yaml"
        explicit.write_text(f"lab: {{state_dir: {project / 'lab'}}}\n")
        assert load_config(explicit).lab.state_dir == project / "lab"  # set: kept as set
    finally:
        (project / "drdrill.yaml").unlink()
        project.rmdir()

"""drdrill deletes only what it created: a state dir is a lab's only when its marker's id
is the one the lab's state records; any other (user files, a ``pids/`` folder, a marker
copied from another lab) is refused by ``lab down`` and ``lab up`` with nothing touched;
as root the default lab lives where PostgreSQL (never root) can reach it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.errors import LabError
from drdrill.lab import Lab, LabSettings
from drdrill.lab.processes import process_start_time
from drdrill.lab.state import LabState, save_state
from drdrill.lab.state_dir import MARKER, claim, default_state_dir, is_ours, marker_id
from tests.ports import port_block

BASE_PORT = port_block()  # never bound: every lab command here is refused or finds no process


def _drdrill(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drdrill", "--drill-config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=config.parent,
        check=False,
    )


def _state(lab_id: str) -> LabState:
    return LabState(
        phase="up",
        lab_id=lab_id,
        base_port=BASE_PORT,
        pg_bin="/usr/lib/postgresql/16/bin",
        pg_version="16",
        pg_user=None,
        workers={"primary": 1, "dr": 1},
        database_of={"primary": "primary", "dr": "primary"},
        failures={"primary": None, "dr": None},
    )


def _a_lab(directory: Path) -> Path:
    """A lab's state dir as ``lab up`` leaves it (no process: none is needed here)."""
    save_state(directory / "lab.json", _state(claim(directory)))
    (directory / "pids").mkdir()
    (directory / "logs").mkdir()
    (directory / "logs" / "edge.log").write_text("edge up\n")
    return directory


def _config(tmp_path: Path, state_dir: Path) -> Path:
    config = tmp_path / "drdrill.yaml"
    config.write_text(f"lab: {{base_port: {BASE_PORT}, state_dir: {state_dir}}}\n")
    return config


def _tree(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): p.read_text() if p.is_file() else "/"
        for p in sorted(directory.rglob("*"))
    }


@pytest.mark.parametrize("with_state", [False, True], ids=["pids", "pids-and-lab.json"])
@pytest.mark.parametrize("command", [("lab", "down"), ("lab", "up")])
def test_a_directory_with_user_files_and_a_pids_folder_is_never_touched(
    tmp_path: Path, command: tuple[str, ...], with_state: bool
) -> None:
    victim = tmp_path / "v"
    (victim / "pids").mkdir(parents=True)
    (victim / "f").write_text("x\n")
    if with_state:  # a lab's state, but no marker holding its id
        save_state(victim / "lab.json", _state(uuid.uuid4().hex))
    mine = subprocess.Popen(["sleep", "60"], start_new_session=True)  # the user's process
    try:
        (victim / "pids" / "edge.pid").write_text(f"{mine.pid} {process_start_time(mine.pid)}\n")
        before = _tree(victim)
        lab = Lab(LabSettings(state_dir=victim, base_port=BASE_PORT))
        assert not lab.is_running()
        with pytest.raises(LabError, match="is not a drdrill lab" if with_state else "not up"):
            lab.require_up()

        done = _drdrill(_config(tmp_path, victim), *command)

        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1  # one line
        assert f"lab.state_dir {victim} exists, is not empty and is not a drdrill lab" in (
            done.stderr
        )
        assert f"no {MARKER} marker" in done.stderr
        assert _tree(victim) == before
        assert mine.poll() is None  # a pid file in a directory that is not a lab's: not ours
    finally:
        mine.kill()
        mine.wait()


@pytest.mark.parametrize("copied", [(MARKER,), (MARKER, "lab.json")])
def test_a_marker_copied_from_another_lab_makes_nothing_deletable(
    tmp_path: Path, copied: tuple[str, ...]
) -> None:
    lab = _a_lab(tmp_path / "lab")
    victim = tmp_path / "v"
    (victim / "pids").mkdir(parents=True)
    (victim / "notes.txt").write_text("mine\n")
    shutil.copy(lab / MARKER, victim / MARKER)
    if "lab.json" in copied:  # beside the state of yet another lab
        save_state(victim / "lab.json", _state(claim(tmp_path / "third")))
    before = _tree(victim)

    done = _drdrill(_config(tmp_path, victim), "lab", "down")

    assert done.returncode == 2, done.stderr
    assert f"lab.state_dir {victim} exists" in done.stderr
    assert f"its {MARKER} marker's id is not the one its lab.json records" in done.stderr
    assert _tree(victim) == before
    assert not is_ours(victim) and is_ours(lab)


def test_a_labs_own_directory_is_removed_by_lab_down(tmp_path: Path) -> None:
    lab = _a_lab(tmp_path / "lab")

    done = _drdrill(_config(tmp_path, lab), "lab", "down")

    assert done.returncode == 0, done.stderr
    assert not lab.exists()


def test_an_empty_or_missing_directory_is_left_as_it_is_by_lab_down(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    Lab(LabSettings(state_dir=empty, base_port=BASE_PORT)).down()
    Lab(LabSettings(state_dir=tmp_path / "missing", base_port=BASE_PORT)).down()
    assert empty.is_dir() and not (tmp_path / "missing").exists()


def test_an_empty_state_dir_means_the_project_and_is_refused(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "README.md").write_text("my project\n")
    config = tmp_path / "drdrill.yaml"
    config.write_text(f'lab: {{base_port: {BASE_PORT}, state_dir: ""}}\n')

    done = _drdrill(config, "lab", "down")

    assert done.returncode == 2 and "is not a drdrill lab" in done.stderr
    assert (tmp_path / "README.md").exists() and (tmp_path / "features").is_dir()


def test_a_new_or_empty_directory_is_claimed_with_a_new_id_in_its_marker(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    first = claim(empty)
    second = claim(tmp_path / "new" / "lab")
    assert marker_id(empty) == first and marker_id(tmp_path / "new" / "lab") == second
    assert first != second
    assert not is_ours(empty)  # marked, but no state records the id yet
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x\n")
    with pytest.raises(LabError, match="is not a drdrill lab"):
        claim(tmp_path / "full")
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["f"]


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

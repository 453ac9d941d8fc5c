"""The lab's state file: typed, written atomically, and never misread when corrupted;
``lab down`` clears a lab whose state is corrupted only while it still names the lab's id."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.errors import LabError
from drdrill.lab import Lab, LabSettings
from drdrill.lab.state import LabState, load_state, recorded_lab_id, save_state
from drdrill.lab.state_dir import MARKER, claim
from tests.ports import port_block

PORT = port_block()  # configured, never bound


def a_state(lab_id: str = "0123456789abcdef0123456789abcdef") -> LabState:
    return LabState(
        phase="up",
        lab_id=lab_id,
        base_port=PORT,
        pg_bin="/usr/lib/postgresql/16/bin",
        pg_version="16",
        pg_user="postgres",
        workers={"primary": 2, "dr": 1},
        database_of={"primary": "primary", "dr": "primary"},
        failures={"primary": None, "dr": None},
    )


def test_a_saved_state_loads_back_equal_and_changes_make_new_states(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    state = a_state().with_failure("primary", "partition").with_promoted("dr")
    save_state(path, state)

    assert load_state(path) == state
    assert state.with_workers("dr", 3).workers == {"primary": 2, "dr": 3}
    assert a_state().failures == {"primary": None, "dr": None}  # states are never mutated
    assert [p.name for p in tmp_path.iterdir()] == ["lab.json"]  # no temporary file left


def test_no_state_file_means_no_lab(tmp_path: Path) -> None:
    assert load_state(tmp_path / "lab.json") is None
    assert Lab(LabSettings(state_dir=tmp_path, base_port=PORT)).is_running() is False


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"phase": "up"}',
        "null",
    ],
)
def test_a_corrupted_state_file_is_an_error_naming_it_never_a_lab_that_is_down(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "lab.json"
    save_state(path, a_state(claim(tmp_path)))
    path.write_text(text)
    lab = Lab(LabSettings(state_dir=tmp_path, base_port=PORT))

    with pytest.raises(LabError, match=str(path)):
        lab.is_running()
    with pytest.raises(LabError, match="corrupted"):
        lab.status()
    with pytest.raises(LabError, match="is not a drdrill lab"):
        lab.down()  # the lab's id is lost with the state: nothing says the dir is a lab's
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "lab.json"]


def test_a_corrupted_state_that_still_names_the_labs_id_is_cleared_by_down(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lab.json"
    save_state(path, a_state(claim(tmp_path)))
    path.write_text(path.read_text().replace('"phase": "up"', '"phase": "melting"'))
    lab = Lab(LabSettings(state_dir=tmp_path, base_port=PORT))

    with pytest.raises(LabError, match="corrupted"):
        lab.status()
    assert recorded_lab_id(path) is not None
    lab.down()
    assert not tmp_path.exists()


def test_a_state_with_an_unknown_failure_mode_is_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    save_state(path, a_state())
    path.write_text(path.read_text().replace('"primary": null', '"primary": "meteor"', 1))

    with pytest.raises(LabError, match="meteor"):
        load_state(path)

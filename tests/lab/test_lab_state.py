"""The lab's state file: typed, written atomically, and never misread when corrupted."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.errors import LabError
from drdrill.lab import Lab, LabSettings
from drdrill.lab.state import LabState, load_state, save_state


def a_state() -> LabState:
    return LabState(
        phase="up",
        base_port=24300,
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
    assert Lab(LabSettings(state_dir=tmp_path, base_port=24300)).is_running() is False


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
    path.write_text(text)
    lab = Lab(LabSettings(state_dir=tmp_path, base_port=24300))

    with pytest.raises(LabError, match=str(path)):
        lab.is_running()
    with pytest.raises(LabError, match="corrupted"):
        lab.status()
    lab.down()  # down needs no state: it clears a corrupted one
    assert not tmp_path.exists()


def test_a_state_with_an_unknown_failure_mode_is_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    save_state(path, a_state())
    path.write_text(path.read_text().replace('"primary": null', '"primary": "meteor"', 1))

    with pytest.raises(LabError, match="meteor"):
        load_state(path)

"""The one JSON-lines codec: torn lines, foreign bytes and non-objects never fatal."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from drdrill.support import jsonl


def test_append_after_a_torn_line_starts_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b'{"a": 1}\n{"torn": ')
    jsonl.append(path, {"b": 2})
    found = jsonl.read(path)
    assert found.records == ({"a": 1}, {"b": 2})
    assert found.skipped == 1


def test_non_objects_and_non_utf8_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b'[1, 2]\n"text"\n\xff\xfe\n{"ok": true}\n\n')
    found = jsonl.read(path)
    assert found.records == ({"ok": True},)
    assert found.skipped == 3


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    assert jsonl.read(tmp_path / "absent.jsonl") == jsonl.JsonLines((), 0)


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5))))
def test_every_appended_record_reads_back_in_order(records: list[dict[str, object]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.jsonl"
        for record in records:
            jsonl.append(path, record)
        assert list(jsonl.read(path).records) == records

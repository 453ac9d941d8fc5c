"""Typed timeline notes: what one module records, another reads back unchanged."""

from __future__ import annotations

from pathlib import Path

from drdrill.records.notes import (
    ConsistencyChecked,
    DivergentWrites,
    NotedWrite,
    SwitchoverMeasured,
)
from drdrill.records.timeline import NOTE, Timeline


class _Write:
    def __init__(self, id: str, ack_ns: int, committed_ns: int | None) -> None:
        self.id, self.ack_ns, self.committed_ns = id, ack_ns, committed_ns


def test_each_note_reads_back_as_it_was_recorded_in_order(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    checked = ConsistencyChecked(True, "2026-12-08T00:00:00+00:00", 12, ("w-1",), ())
    checked_at = checked.record(timeline).t_ns
    SwitchoverMeasured("primary", 0.25).record(timeline)
    SwitchoverMeasured("dr", 0.5).record(timeline)
    DivergentWrites.of("primary", [_Write("a", 2, 1), _Write("b", 3, None)]).record(timeline)
    timeline.record(NOTE, "steady_state")  # another note: not theirs

    assert ConsistencyChecked.read(timeline) == [
        ConsistencyChecked(True, "2026-12-08T00:00:00+00:00", 12, ("w-1",), (), checked_at)
    ]
    assert [(n.to_region, n.seconds) for n in SwitchoverMeasured.read(timeline)] == [
        ("primary", 0.25),
        ("dr", 0.5),
    ]
    [divergent] = DivergentWrites.read(timeline)
    assert divergent.region == "primary"
    assert divergent.writes == (NotedWrite("a", 2, 1), NotedWrite("b", 3, None))


def test_notes_survive_the_timeline_file(tmp_path: Path) -> None:
    """The report reads the timeline back from its JSONL: the notes are the same."""
    path = tmp_path / "timeline.jsonl"
    DivergentWrites.of("dr", [_Write("x", 5, 4)]).record(Timeline(path))

    assert [d.writes for d in DivergentWrites.read(Timeline.load(path))] == [
        (NotedWrite("x", 5, 4),)
    ]

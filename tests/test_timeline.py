"""The timeline: ordered, thread-safe, and persisted as it grows."""

from __future__ import annotations

import threading
from pathlib import Path

from drdrill.records.timeline import FAULT_INJECTED, PHASE_END, PHASE_START, Timeline, iso


def test_events_come_back_in_time_order_filtered_by_kind() -> None:
    timeline = Timeline()
    timeline.record(PHASE_START, "dns_failover", t_ns=3_000)
    timeline.record(FAULT_INJECTED, "primary", t_ns=1_000, mode="power-off")
    timeline.record(PHASE_START, "assessment", t_ns=2_000)

    assert [e.t_ns for e in timeline] == [1_000, 2_000, 3_000]
    assert [e.name for e in timeline.events(PHASE_START)] == ["assessment", "dns_failover"]
    first = timeline.first(FAULT_INJECTED)
    assert first is not None
    assert first.detail == {"mode": "power-off"}


def test_every_event_is_on_disk_as_soon_as_it_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path)
    timeline.record(FAULT_INJECTED, "primary", t_ns=1_700_000_000_000_000_000)

    loaded = Timeline.load(path)

    assert [(e.kind, e.name, e.t_ns) for e in loaded] == [
        (FAULT_INJECTED, "primary", 1_700_000_000_000_000_000)
    ]


def test_a_torn_last_line_from_a_crash_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path)
    timeline.record(FAULT_INJECTED, "primary")
    with path.open("a") as out:
        out.write('{"t_ns": 12, "kin')

    assert len(Timeline.load(path)) == 1


def test_an_event_after_a_torn_line_is_kept_and_bad_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    Timeline(path).record(FAULT_INJECTED, "primary", t_ns=1_000)
    with path.open("ab") as out:
        out.write(b'{"note": "not an event"}\n\xff\n{"t_ns": 12, "kin')  # torn, no newline
    Timeline(path).record(PHASE_START, "dns_failover", t_ns=2_000)

    loaded = Timeline.load(path)

    assert [(e.kind, e.name) for e in loaded] == [
        (FAULT_INJECTED, "primary"),
        (PHASE_START, "dns_failover"),
    ]
    assert loaded.skipped == 3


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "t.jsonl")

    def write() -> None:
        for _ in range(500):
            timeline.record("note")

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(timeline) == 2000
    assert len(Timeline.load(tmp_path / "t.jsonl")) == 2000


def test_iso_is_utc_with_microseconds() -> None:
    assert iso(1_700_000_000_123_456_000) == "2023-11-14T22:13:20.123456Z"


def test_no_secret_in_an_event_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    Timeline(path).record(
        PHASE_END, "repoint", ok=False, error="cannot connect to postgresql://app:s3cr3t@db/shop"
    )

    text = path.read_text()

    assert "s3cr3t" not in text
    assert "postgresql://app:***@db/shop" in text

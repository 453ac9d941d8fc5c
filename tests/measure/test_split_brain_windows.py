"""Split-brain windows from hand-made write-probe samples (pure code), and the live watch
noting them in the timeline."""

from __future__ import annotations

import time

from drdrill.measurement.samples import CRITICAL_FLOW, Sample, accepts_writes_probe
from drdrill.measurement.split_brain import split_brain_windows
from drdrill.observation.split_brain_watch import SplitBrainWatch
from drdrill.records.timeline import NOTE, Timeline
from drdrill.support.wait import poll

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S


def writes(region: str, accepting: list[tuple[int, int]], until: int) -> list[Sample]:
    """``region``'s write probe every 200 ms from T0 (ms offsets), accepting writes in each
    [from, to) of ``accepting``."""
    return [
        Sample(
            T0 + t * MS,
            accepts_writes_probe(region),
            any(a <= t < b for a, b in accepting),
            0.002,
        )
        for t in range(0, until, 200)
    ]


def test_a_window_spans_from_both_accepting_to_the_first_that_refuses() -> None:
    # primary writable throughout until fenced at 6 s; dr promoted at 2 s (offset by 100 ms)
    samples = [*writes("primary", [(0, 6_000)], 8_000), *writes("dr", [(2_000, 9_000)], 8_000)]
    samples = [
        Sample(s.t_ns + (100 * MS if "dr" in s.probe else 0), s.probe, s.ok, s.latency_s)
        for s in samples
    ]

    (window,) = split_brain_windows(samples)

    assert window.start_ns == T0 + 2_100 * MS  # dr's first accepting sample
    assert window.end_ns == T0 + 6_000 * MS  # primary's first refusing one
    assert window.duration_s == 3.9


def test_one_writable_region_at_a_time_is_no_split_brain() -> None:
    handover = [*writes("primary", [(0, 3_000)], 8_000), *writes("dr", [(3_000, 8_000)], 8_000)]
    assert split_brain_windows(handover) == ()
    alone = writes("primary", [(0, 8_000)], 8_000)
    assert split_brain_windows(alone) == ()  # one region probed: nothing to compare


def test_an_unreachable_database_is_no_evidence_and_other_probes_are_ignored() -> None:
    # primary accepts 0-2 s, does not answer 2-5 s (not ok), accepts again 5-6 s
    primary = writes("primary", [(0, 2_000), (5_000, 6_000)], 8_000)
    dr = writes("dr", [(1_000, 8_000)], 8_000)
    noise = [Sample(T0 + t * MS, CRITICAL_FLOW, True, 0.01) for t in range(0, 8_000, 100)]

    windows = split_brain_windows([*noise, *primary, *dr])

    assert [(w.start_ns - T0, w.end_ns - T0) for w in windows] == [
        (1_000 * MS, 2_000 * MS),
        (5_000 * MS, 6_000 * MS),
    ]


def test_a_window_still_open_at_the_last_sample_ends_there() -> None:
    samples = [*writes("primary", [(0, 8_000)], 4_000), *writes("dr", [(2_000, 8_000)], 4_000)]
    (window,) = split_brain_windows(samples)
    assert (window.start_ns, window.end_ns) == (T0 + 2_000 * MS, T0 + 3_800 * MS)


def test_the_watch_notes_each_window_as_it_opens_and_closes() -> None:
    timeline = Timeline()
    seen: list[Sample] = []
    everything = [*writes("primary", [(0, 6_000)], 8_000), *writes("dr", [(2_000, 8_000)], 8_000)]
    seen += [s for s in everything if s.t_ns < T0 + 4_000 * MS]
    watch = SplitBrainWatch(lambda: list(seen), timeline, interval_s=0.01).start()

    # mid-window: it opened, it has not closed
    assert poll(lambda: timeline.events(NOTE) or None, 5.0, interval_s=0.01)
    time.sleep(0.05)  # several more looks: still one note
    assert [(e.name, e.t_ns - T0) for e in timeline.events(NOTE)] == [("split_brain", 2 * S)]

    seen += [s for s in everything if s.t_ns >= T0 + 4_000 * MS]
    watch.stop()  # the last look closes it, once
    watch.stop()
    notes = timeline.events(NOTE)
    assert [(e.name, e.t_ns - T0) for e in notes] == [
        ("split_brain", 2 * S),
        ("split_brain_ended", 6 * S),
    ]
    assert notes[1].detail == {"start_ns": T0 + 2 * S, "seconds": 4.0}

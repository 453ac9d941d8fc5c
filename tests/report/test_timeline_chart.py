"""The timeline picture: a real PNG of the drill, built from the measured series."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

from drdrill.measurement.measure import Request
from drdrill.report.timeline_chart import draw_timeline, error_rate_series

from .drill_data import MS, T0, measurements, requests, samples


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_error_rate_is_the_failed_share_of_each_100ms_bucket() -> None:
    series = error_rate_series(
        [Request(T0, True), Request(T0 + 50 * MS, False), Request(T0 + 250 * MS, False)]
    )

    assert series == [(T0, 0.5), (T0 + 200 * MS, 1.0)]


def test_the_load_error_rate_follows_the_outage() -> None:
    series = dict(error_rate_series(requests(rto=2.5)))

    assert series[T0 - 100 * MS] == 0.0
    assert series[T0] == 0.0  # the first 100 ms still answered
    assert series[T0 + 100 * MS] == series[T0 + 2400 * MS] == 1.0
    assert series[T0 + 2500 * MS] == 0.0


def test_draws_a_png_of_the_drill(tmp_path: Path) -> None:
    path = draw_timeline(
        tmp_path / "deep" / "timeline.png", samples(), measurements(), requests(), "d-1"
    )

    assert png_size(path) == (990, 585)
    assert path.stat().st_size > 20_000  # ticks, bars, lines: not an empty canvas


def test_draws_a_drill_without_fault_or_load(tmp_path: Path) -> None:
    unfaulted = replace(measurements(), t_fault_ns=None, t_restored_ns=None, rto_s=None)

    path = draw_timeline(tmp_path / "t.png", samples(), unfaulted)

    assert png_size(path) == (990, 585)

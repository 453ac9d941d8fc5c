"""The one wait helper: returns as soon as the condition holds, names what it waited for."""

from __future__ import annotations

import time

import pytest

from drdrill.errors import DrillError, LabError
from drdrill.support.wait import poll, wait_until


def test_poll_returns_the_first_value_produced() -> None:
    calls = iter([None, None, 7])
    assert poll(lambda: next(calls), 1.0, interval_s=0.001) == 7


def test_poll_gives_none_after_the_timeout() -> None:
    started = time.monotonic()
    assert poll(lambda: None, 0.1, interval_s=0.01) is None
    assert 0.1 <= time.monotonic() - started < 1.0


def test_wait_until_raises_the_error_asked_for_naming_what() -> None:
    with pytest.raises(LabError, match=r"timed out after 0\.05s waiting for the edge"):
        wait_until(lambda: False, 0.05, "the edge", error=LabError)


def test_wait_until_returns_once_the_condition_holds() -> None:
    flips = iter([False, True])
    wait_until(lambda: next(flips), 1.0, "a flip", interval_s=0.001)
    assert issubclass(LabError, DrillError)

"""Durations as people write them in settings: ``100ms``, ``5s``, ``5m``, ``2h``, ``7d``.

``Seconds`` is the pydantic type every duration setting uses, so the drill
configuration and the lab's settings parse durations the same way.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["Seconds", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Seconds from ``100ms``/``5s``/``5m``/``2h``/``7d`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 100ms, 5s, 5m, 2h or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError("expected a duration like 100ms, 5s, 5m, 2h or a number of seconds")
    if not math.isfinite(seconds):
        raise ValueError("expected a finite duration")
    if seconds < 0:
        raise ValueError("expected a duration that is not negative")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_duration)]
"""A duration in seconds, written in YAML as ``5m``, ``100ms`` or a number."""

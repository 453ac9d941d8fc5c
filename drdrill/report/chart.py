"""Kept for existing imports: the timeline picture lives in ``drdrill.report.timeline_chart``."""

from __future__ import annotations

from drdrill.report.timeline_chart import draw_timeline

__all__ = ["draw_timeline"]

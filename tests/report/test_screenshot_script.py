"""benchmarks/screenshot_reports.py: its demo reports and its local server work (the
screenshot itself when Chromium is installed)."""

from __future__ import annotations

import importlib.util
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from .test_page import element, parse

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "screenshot_reports.py"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshot_reports", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_demo_reports_are_served_and_screenshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shots = script()
    monkeypatch.chdir(tmp_path)  # no node_modules/.bin/allure here
    monkeypatch.setattr(shots, "find_allure", lambda: None)
    reports = tmp_path / "demo" / "reports"
    shots.build_demo(reports)

    with shots.serve(reports) as base:
        latest = next(reports.glob("demo-*/summary.html")).parent.name
        with urllib.request.urlopen(f"{base}/{latest}/summary.html", timeout=10) as answer:
            page = answer.read().decode()
    assert element(parse(page), "verdict").attrs["data-outcome"] == "failed"
    assert (reports / "trend.png").is_file()

    if shots.find_browser() is None:
        pytest.skip("no Chromium (apt-get install -y chromium)")
    assert shots.main(["--reports", str(reports), "--out", str(tmp_path / "png")]) == 0
    png = (tmp_path / "png" / "summary.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 50_000

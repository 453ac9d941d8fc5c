"""``drdrill watch``: bounded by its window, clear about bad input, never leaks a DSN's
password, never throws a measurement away."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drdrill.cli import main
from drdrill.config import MeasurementSettings
from drdrill.observation.endpoint_watch import watch

PASSWORD = "s3cret-pw-4711"


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server that accepts every connection and never answers (a frozen region)."""
    server = socket.create_server(("127.0.0.1", 0), backlog=512)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def refused_dsn() -> str:
    """A DSN with a password whose port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://drill:{PASSWORD}@127.0.0.1:{port}/orders?connect_timeout=2"


def test_outages_are_clipped_to_the_window_and_the_watch_ends_in_time(
    silent_endpoint: str,
) -> None:
    settings = MeasurementSettings(probe_timeout=1.0)
    started = time.monotonic()
    result = watch(silent_endpoint, 2.0, settings).to_json()
    elapsed = time.monotonic() - started

    # a 2 s window, plus at most one probe timeout for the probe in flight at its end; the
    # 3 s over that are a busy machine's start-up and scheduling, far below a watch that
    # waited for every probe to time out in turn
    assert elapsed <= 2.0 + settings.probe_timeout + 3.0
    assert len(result["outages"]) == 1
    outage = result["outages"][0]
    assert 1.8 <= outage["duration_s"] <= result["window"]["duration_s"]
    assert outage["ongoing"] is True


@pytest.mark.parametrize("duration", ["nan", "inf", "-1", "0", "90000"])
def test_a_bad_duration_is_a_clear_error(
    duration: str, silent_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["watch", "--endpoint", silent_endpoint, "--duration", duration])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"drdrill: error: --duration {duration}")
    assert "0 < seconds <= 86400" in err


def test_an_unwritable_json_path_is_refused_before_measuring(
    silent_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = main(
        [
            "watch",
            "--endpoint",
            silent_endpoint,
            "--duration",
            "20",
            "--json",
            str(tmp_path / "missing" / "watch.json"),
        ]
    )

    assert code == 2
    assert time.monotonic() - started < 5
    assert "--json" in capsys.readouterr().err


def test_an_unreachable_dsn_keeps_the_measurement_and_hides_its_password(
    silent_endpoint: str,
    refused_dsn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no drdrill.yaml: the defaults
    output = tmp_path / "watch.json"
    code = main(
        [
            "watch",
            "--endpoint",
            silent_endpoint,
            "--duration",
            "1",
            "--dsn",
            refused_dsn,
            "--json",
            str(output),
        ]
    )

    captured = capsys.readouterr()
    written = output.read_text()
    assert code == 1
    assert PASSWORD not in captured.out + captured.err + written
    assert "ledger was not checked" in captured.err
    result = json.loads(written)
    assert result["samples"] > 0 and result["outages"]
    assert result["ledger"]["checked_against_database"] is False
    assert "127.0.0.1" in result["ledger"]["error"]
